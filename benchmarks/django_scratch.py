"""A throw-away Django for the web benchmarks: SQLite database and MEDIA_ROOT in a temporary
folder (removed at exit), so the project's own data is untouched, and a logged-in client."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_django(prefix: str, **environment: str) -> Path:
    """Set up Django on a scratch SQLite database and media folder (plus ``environment``, e.g.
    ``MODEL_RUNTIME``); return the scratch folder. Call before importing anything of Django."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "ecgsite.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",  # as in production: no debug-time bookkeeping
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(work / "media"),
            "LOG_LEVEL": "WARNING",
            **environment,
        }
    )
    import django

    django.setup()
    return work


def beat_image_models(models_dir: Path, work: Path, *, tiny: bool) -> Path:
    """``models_dir`` when it serves beat images and ``tiny`` is not asked for; else a folder in
    ``work`` with a tiny beat-image model (LiteRT-converted), built in a child process: building
    imports TensorFlow, which would inflate this process's RSS although serving never needs it."""
    from ecg.models.registry import ModelRegistry

    if not tiny and "beat_image" in ModelRegistry(models_dir).installed_image_kinds():
        return models_dir
    tiny_dir = work / "models"
    build = (
        "from pathlib import Path; from tests.factories import build_tiny_bundle; "
        "from ecg.models.lite_runtime import export_lite; "
        f"export_lite(build_tiny_bundle(Path({str(tiny_dir)!r}), 'tiny-beat', "
        "kind='beat_image', favour='V'))"
    )
    subprocess.run([sys.executable, "-c", build], cwd=ROOT, check=True, capture_output=True)
    return tiny_dir


def migrated_client(models_dir: Path):
    """Serve the models in ``models_dir``, migrate the scratch database and return a Django
    test client logged in as a fresh user."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR = models_dir
    reset_model_registry()
    call_command("migrate", verbosity=0)
    client = Client()
    client.force_login(User.objects.create_user("bench", password=None))
    return client
