"""API test helpers on top of the shared fixtures in ``tests/conftest.py`` (``user``,
``other_user``, ``installed_tiny_models``, per-test MEDIA_ROOT)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import beat_image_bytes


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()  # the throttle counts requests in the cache
    yield
    cache.clear()


def token_client(user) -> APIClient:
    from api.services import token_create

    client = APIClient()
    _token, key = token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def alice_api(user):
    return token_client(user)


@pytest.fixture
def bob_api(other_user):
    return token_client(other_user)


def upload(client: APIClient, data: bytes | None = None, name: str = "beat.png", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = dict(fields)
    if data is not False:
        payload["image"] = SimpleUploadedFile(
            name, data if data is not None else beat_image_bytes()
        )
    return client.post("/api/v1/predictions/", payload, format="multipart")
