"""A full or read-only media disk (issue 15 item 6): every write path answers 503 with a clear
message and leaves no partial file and no row; /healthz says the media volume takes no write
and names a model that failed its output check.

The disk is simulated at the lowest level every storage write goes through: ``File.chunks``
hands over part of the data and then raises ``OSError(ENOSPC)`` (the disk filled up
mid-write), or raises ``OSError(EROFS)`` before any byte (a read-only remount).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classifier import services
from classifier.models import Prediction
from recordings.models import Recording
from reports.models import PredictionHeatMap
from tests.factories import beat_image_bytes, build_tiny_bundle
from tests.hostile.corpus import csv_signal

pytestmark = pytest.mark.django_db
DISK_ERRORS = [errno.ENOSPC, errno.EROFS]


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


@pytest.fixture
def disk_fails(monkeypatch):
    """Call with an errno: from then on every storage write fails that way."""

    def fail(code: int) -> None:
        original = File.chunks

        def chunks(self, chunk_size=None):
            if code == errno.EROFS:
                raise OSError(code, os.strerror(code))
            for chunk in original(self, chunk_size):
                yield chunk[: max(len(chunk) // 2, 1)]  # half of it reaches the disk
                raise OSError(code, os.strerror(code))

        monkeypatch.setattr(File, "chunks", chunks)

    return fail


@pytest.fixture
def recording_model(settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("recording-model")
    build_tiny_bundle(folder, "tiny-recording", kind="beat_image", task="recording", seed=3)
    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR, settings.RECORDING_MODEL = folder, ""
    reset_model_registry()
    yield
    reset_model_registry()


def ecg_csv() -> bytes:
    t = np.arange(7200) / 360.0
    x = sum(1.2 * np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in np.arange(0.5, 19.5, 0.8))
    return csv_signal([f"{v:.4f}" for v in x])


def assert_503(response, *, json_body: bool) -> None:
    assert response.status_code == 503
    if json_body:
        body = response.json()
        assert body["status"] == 503 and "nothing was saved" in body["message"].lower()
    else:
        assert "nothing was saved" in response.content.decode().lower()


@pytest.mark.parametrize("code", DISK_ERRORS, ids=errno.errorcode.get)
def test_a_failed_write_leaves_no_partial_file(settings, disk_fails, code):
    disk_fails(code)
    with pytest.raises(OSError) as raised:
        default_storage.save("uploads/x/signals.npy", ContentFile(b"\x93NUMPY" * 100_000))
    assert raised.value.errno == code
    assert media_files(settings) == []


def test_a_write_still_works_and_never_overwrites(settings):
    first = default_storage.save("uploads/a.bin", ContentFile(b"first"))
    second = default_storage.save("uploads/a.bin", ContentFile(b"second"))
    assert first != second
    assert [p.read_bytes() for p in media_files(settings)] == [b"first", b"second"]


@pytest.mark.parametrize("code", DISK_ERRORS, ids=errno.errorcode.get)
def test_recording_upload_page(user_client, recording_model, settings, disk_fails, code):
    disk_fails(code)
    upload = SimpleUploadedFile("ecg.csv", ecg_csv(), "text/csv")
    response = user_client.post(reverse("recordings:upload"), {"files": [upload], "units": "mV"})
    assert_503(response, json_body=False)
    assert Recording.objects.count() == 0 and media_files(settings) == []


@pytest.mark.parametrize("code", DISK_ERRORS, ids=errno.errorcode.get)
def test_recording_upload_api(user_client, recording_model, settings, disk_fails, code):
    disk_fails(code)
    upload = SimpleUploadedFile("ecg.csv", ecg_csv(), "text/csv")
    response = user_client.post("/api/v1/recordings/", {"files": [upload], "units": "mV"})
    assert_503(response, json_body=True)
    assert response.json()["code"] == "storage_unavailable"
    assert Recording.objects.count() == 0 and media_files(settings) == []


@pytest.mark.parametrize("api", [False, True], ids=["page", "api"])
def test_prediction_upload(user_client, installed_tiny_models, settings, disk_fails, api):
    disk_fails(errno.ENOSPC)
    upload = SimpleUploadedFile("beat.png", beat_image_bytes(), "image/png")
    if api:
        response = user_client.post("/api/v1/predictions/", {"image": upload})
    else:
        response = user_client.post(
            reverse("classifier:upload"), {"images": [upload], "image_type": "auto"}
        )
    assert response.status_code == 503
    assert Prediction.objects.count() == 0 and media_files(settings) == []


@pytest.fixture
def prediction(user, installed_tiny_models) -> Prediction:
    upload = SimpleUploadedFile("beat.png", beat_image_bytes(), "image/png")
    return services.prediction_create(owner=user, uploaded_file=upload)


@pytest.mark.parametrize(
    ("url", "json_body"),
    [
        ("reports:prediction-heatmap", False),
        ("/api/v1/predictions/{pk}/heatmap/", True),
        ("reports:prediction-report", False),
        ("/api/v1/predictions/{pk}/report/", True),
    ],
    ids=["heat-map-page", "heat-map-api", "pdf-page", "pdf-api"],
)
def test_first_heat_map_and_pdf_report(
    user_client, prediction, settings, disk_fails, url, json_body
):
    before = media_files(settings)
    disk_fails(errno.ENOSPC)
    path = (
        url.format(pk=prediction.pk) if url.startswith("/") else reverse(url, args=[prediction.pk])
    )
    assert_503(user_client.get(path), json_body=json_body)
    assert PredictionHeatMap.objects.count() == 0 and media_files(settings) == before


def test_health_reports_media_that_takes_no_write(client, settings, disk_fails):
    assert client.get("/healthz").json()["media"]["ok"] is True
    disk_fails(errno.EROFS)
    body = client.get("/healthz").json()
    assert body["media"] == {"ok": False, "storage": "FileSystemStorage", "error": "EROFS"}
    assert body["status"] == "degraded"
    assert media_files(settings) == []


def test_health_reports_a_model_that_failed_its_output_check(
    client, settings, tiny_models_dir, tmp_path
):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tiny_models_dir / "tiny-beat.keras", folder / "five.keras")
    meta = json.loads((tiny_models_dir / "tiny-beat.json").read_text())
    meta["classes"] = meta["classes"][:5]  # six outputs, five classes
    (folder / "five.json").write_text(json.dumps(meta))
    settings.MODELS_DIR = folder
    assert client.get("/healthz").json()["models"]["ok"] is True  # not loaded yet
    from ecgsite.model_registry import ModelNotInstalledError, get_model_registry

    with pytest.raises(ModelNotInstalledError):
        get_model_registry().warm_up()  # as the server does at start
    body = client.get("/healthz").json()
    assert body["status"] == "degraded" and body["models"]["ok"] is False
    assert "6 outputs for 5 classes" in body["models"]["problems"]["five"]
    assert body["models"]["available"] == []
