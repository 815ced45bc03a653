"""Faults: model file missing or corrupt, media folder not writable, database unavailable.
Each gives a clear error, keeps the rest of the site up, and leaves no partial record."""

import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from classifier.models import Prediction
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db

UPLOAD = reverse("classifier:upload")


def beat_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("beat.png", beat_image_bytes(), content_type="image/png")


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def assert_rest_of_site_up(client) -> None:
    for url in (reverse("pages:home"), reverse("pages:history"), reverse("pages:about")):
        assert client.get(url).status_code == 200, url


@pytest.fixture
def models_copy(tmp_path, settings, tiny_models_dir) -> Path:
    """A private, modifiable copy of the tiny models, installed."""
    target = tmp_path / "models"
    shutil.copytree(tiny_models_dir, target)
    settings.MODELS_DIR = target
    return target


@pytest.mark.parametrize("fault", ["missing", "corrupt", "truncated"])
def test_broken_model_file(user_client, models_copy, settings, fault):
    model = models_copy / "tiny-beat.keras"
    if fault == "missing":
        model.unlink()
    elif fault == "corrupt":
        model.write_bytes(b"\x00" * 512)
    else:
        model.write_bytes(model.read_bytes()[:300])
    response = user_client.post(UPLOAD, {"images": beat_upload(), "image_type": "beat_image"})
    assert response.status_code == 503
    body = response.content.decode()
    assert "Model not installed" in body or "cannot be loaded" in body
    assert Prediction.objects.count() == 0 and media_files(settings) == []
    assert_rest_of_site_up(user_client)
    health = Client().get("/healthz").json()
    assert health["status"] in ("ok", "degraded")  # the spectrogram model is still fine
    if fault != "missing":
        assert "tiny-beat" in health["models"]["problems"]


def test_media_folder_not_writable(user_client, installed_tiny_models, settings, tmp_path):
    # A file where the media folder should be: storing fails for any user, root included.
    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"
    response = user_client.post(UPLOAD, {"images": beat_upload(), "image_type": "auto"})
    assert response.status_code == 503
    assert "could not be stored" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert_rest_of_site_up(user_client)
    assert Client().get("/healthz").json()["media"]["ok"] is False


def test_database_write_fails_after_the_file_was_written(
    user_client, installed_tiny_models, settings, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(Prediction, "save", refuse)
    response = user_client.post(UPLOAD, {"images": beat_upload(), "image_type": "auto"})
    assert response.status_code == 503
    assert "database" in response.content.decode().lower()
    monkeypatch.undo()
    assert Prediction.objects.count() == 0
    assert media_files(settings) == []  # the file written before the row was removed again


def test_database_unavailable(user, installed_tiny_models, monkeypatch):
    logged_in = Client()
    logged_in.force_login(user)

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = logged_in.get(reverse("pages:history"))
    assert response.status_code == 503
    body = response.content.decode()
    assert "database" in body.lower() and "Connection refused" not in body
    assert Client().get("/healthz").status_code == 503
    # pages that need no database still answer
    assert Client().get(reverse("pages:home")).status_code == 200


def test_database_unavailable_answers_json_to_api_clients(user, monkeypatch):
    client = Client()
    client.force_login(user)

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get(reverse("pages:history"), HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "30"
