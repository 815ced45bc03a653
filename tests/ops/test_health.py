"""/healthz: database and model status, 503 only when the database is down."""

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_healthy_site_reports_ok(client, fake_models_dir):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["models"]["available"] == ["beat_cnn"]
    assert "no-store" in response["Cache-Control"]


def test_missing_model_file_is_degraded_not_down(client, fake_models_dir):
    (fake_models_dir / "beat_cnn.keras").unlink()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["models"]["ok"] is False


def test_corrupt_model_file_is_named(client, fake_models_dir):
    (fake_models_dir / "beat_cnn.keras").write_bytes(b"\x00not a keras archive")
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["models"]["problems"] == {"beat_cnn": "model file is not a Keras archive"}


def test_corrupt_metadata_is_named(client, fake_models_dir):
    (fake_models_dir / "beat_cnn.json").write_text("{not json")
    body = client.get("/healthz").json()
    assert "beat_cnn" in body["models"]["problems"]
    assert "unreadable metadata" in body["models"]["problems"]["beat_cnn"]


def test_database_down_gives_503_without_leaking_details(client, fake_models_dir, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" password=secret failed')

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"] == {
        "ok": False,
        "vendor": connection.vendor,
        "error": "OperationalError",
    }
    assert b"secret" not in response.content and b"db.internal" not in response.content


def test_health_is_get_only(client, fake_models_dir):
    assert client.post("/healthz").status_code in (403, 405)


def test_unwritable_media_folder_is_degraded(client, fake_models_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media" / "uploads"  # not there yet: created on upload
    assert client.get("/healthz").json()["media"]["ok"] is True
    # A file where the media folder should be: no upload can be stored, whoever runs the site
    # (a chmod would not stop root, which CI runs as).
    (tmp_path / "blocked").write_text("not a folder")
    settings.MEDIA_ROOT = tmp_path / "blocked" / "media"
    body = client.get("/healthz").json()
    assert body["media"] == {"ok": False, "storage": "FileSystemStorage", "error": "ENOTDIR"}
    assert body["status"] == "degraded"
