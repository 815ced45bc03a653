"""Health check for load balancers and monitoring: ``GET /healthz`` -> JSON.

Reports the database (one round trip), the trained models (metadata readable, model file a Keras
archive; and none failed its output check in this process) and whether uploads can be
stored (a small write and delete). Loading the models themselves is left to the
classifier service: a probe hit every few seconds must stay cheap. HTTP 503 only when the
database is down -- without models or writable media the site still serves history and
accounts, so the status is "degraded" (HTTP 200) and the load balancer keeps the server.
"""

from __future__ import annotations

import contextlib
import errno
import uuid
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ecg.models.bundle import BundleError, read_metadata
from ecg.models.registry import ModelRegistry
from ecgsite.model_registry import get_model_registry

HEALTH_PROBE = "healthz/probe-"


def database_status() -> dict[str, Any]:
    """One ``SELECT 1``; the error class only, never the connection string."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down" for a probe
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def model_status(models_dir: Path) -> dict[str, Any]:
    """Which ``models/*.keras`` bundles look usable, and why the others do not."""
    usable: list[str] = []
    problems: dict[str, str] = {}
    for model_path in ModelRegistry(models_dir).model_files():
        try:
            read_metadata(model_path)
            if not zipfile.is_zipfile(model_path):
                raise BundleError("model file is not a Keras archive")
        except (BundleError, OSError) as exc:
            # the reason only: server paths stay out of a public endpoint
            reason = str(exc)
            for shown in (model_path.with_suffix(".json"), model_path):
                reason = reason.removeprefix(f"{shown}: ")
            problems[model_path.stem] = reason
            continue
        usable.append(model_path.stem)
    # Models this process could not load or that failed their output check (one blank input
    # through the network, run when a model is first loaded, e.g. at the server's warm-up).
    registry = get_model_registry()
    failed = dict(registry.load_problems) if registry.models_dir == Path(models_dir) else {}
    for path, reason in failed.items():
        problems[path.stem] = reason
        if path.stem in usable:
            usable.remove(path.stem)
    return {"ok": bool(usable) and not failed, "available": usable, "problems": problems}


def media_status() -> dict[str, Any]:
    """Can uploads be stored? Only knowable for the local file system storage, by trying: a
    small file written and deleted again (permission bits say nothing of a full or read-only
    disk, or of root)."""
    storage = settings.STORAGES["default"]["BACKEND"]
    if not storage.endswith("FileSystemStorage"):
        return {"ok": True, "storage": storage.rsplit(".", 1)[-1]}
    name = ""
    try:
        name = default_storage.save(f"{HEALTH_PROBE}{uuid.uuid4().hex}", ContentFile(b"ok\n"))
    except OSError as exc:
        # the error's name only (ENOSPC, EROFS ...): server paths stay out of a public endpoint
        code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        return {"ok": False, "storage": "FileSystemStorage", "error": code}
    finally:
        if name:
            with contextlib.suppress(OSError):
                default_storage.delete(name)
    return {"ok": True, "storage": "FileSystemStorage"}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_status()
    models = model_status(settings.MODELS_DIR)
    media = media_status()
    if not database["ok"]:
        status, code = "fail", 503
    elif not (models["ok"] and media["ok"]):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, "database": database, "models": models, "media": media}
    return JsonResponse(body, status=code)
