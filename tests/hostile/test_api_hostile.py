"""The hostile corpus through the REST API (token auth): every bad file gets a JSON 4xx with a
readable message, and leaves no row and no file; another user's records are 404 everywhere."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api.services import token_create
from classifier.models import Prediction
from tests.factories import beat_image_bytes
from tests.hostile.corpus import IMAGE_CORPUS, NAME_CORPUS

pytestmark = pytest.mark.django_db

PREDICTIONS = "/api/v1/predictions/"


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)[1]}")
    return client


def post_image(client, name, data, content_type="image/png"):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(PREDICTIONS, {"image": upload, "image_type": "auto"}, format="multipart")


@pytest.mark.parametrize("item", IMAGE_CORPUS, ids=lambda item: item.case)
def test_hostile_image_through_the_api(user, installed_tiny_models, settings, item):
    response = post_image(api_for(user), item.name, item.data(), item.content_type)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["status"] == 400 and body["message"]
    assert Prediction.objects.count() == 0 and media_files(settings) == []


@pytest.mark.parametrize("item", NAME_CORPUS, ids=lambda item: item.case)
def test_hostile_names_through_the_api(user, installed_tiny_models, settings, item):
    response = post_image(api_for(user), item.name, item.data())
    if response.status_code == 400:
        assert Prediction.objects.count() == 0 and media_files(settings) == []
        return
    assert response.status_code == 201
    [stored] = media_files(settings)
    assert stored.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert stored.suffix == ".png" and stored.name.count(".") == 1


def test_api_refuses_anonymous_and_foreign_access(user, other_user, installed_tiny_models):
    owner = api_for(user)
    created = post_image(owner, "mine.png", beat_image_bytes())
    assert created.status_code == 201
    pk = created.json()["id"]
    assert APIClient().get(PREDICTIONS).status_code in (401, 403)
    intruder = api_for(other_user)
    for url in (f"{PREDICTIONS}{pk}/", f"{PREDICTIONS}{pk}/image/", f"{PREDICTIONS}{pk}/report/"):
        response = intruder.get(url)
        assert response.status_code == 404, url
    assert intruder.delete(f"{PREDICTIONS}{pk}/").status_code == 404
    assert intruder.get(PREDICTIONS).json()["count"] == 0
    assert Prediction.objects.filter(pk=pk).exists()


def test_session_authenticated_api_post_needs_csrf(user, installed_tiny_models, settings):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    upload = SimpleUploadedFile("b.png", beat_image_bytes(), content_type="image/png")
    response = client.post(PREDICTIONS, {"image": upload}, format="multipart")
    assert response.status_code == 403
    assert Prediction.objects.count() == 0 and media_files(settings) == []


def test_api_storage_failure_is_503_json(user, installed_tiny_models, settings, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"
    response = post_image(api_for(user), "b.png", beat_image_bytes())
    assert response.status_code == 503
    assert response.json()["message"]
    assert Prediction.objects.count() == 0
