"""Authentication: no anonymous access, and the token lifecycle on the API access page."""

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
LIST = "/api/v1/predictions/"


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_anonymous_requests_get_a_json_401():
    response = APIClient().get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["message"] == "Authentication credentials were not provided."


def test_an_unknown_token_is_refused():
    response = api_with("0" * 40).get(LIST)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


def test_token_page_needs_login(client):
    response = client.get("/api/token/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_token_lifecycle_create_use_replace_revoke(client, user):
    client.force_login(user)
    page = client.get("/api/token/")
    assert page.status_code == 200 and b"You have no API token." in page.content

    created = client.post("/api/token/")
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]  # the key must not sit in a cache
    first = re.search(r'id="new-token">([0-9a-f]{40})<', created.content.decode()).group(1)
    assert api_with(first).get(LIST).status_code == 200

    again = client.get("/api/token/").content.decode()
    assert first not in again and first[-4:] in again  # shown once, then only its end

    replaced = client.post("/api/token/").content.decode()
    second = re.search(r'id="new-token">([0-9a-f]{40})<', replaced).group(1)
    assert second != first
    assert api_with(first).get(LIST).status_code == 401
    assert api_with(second).get(LIST).status_code == 200

    revoked = client.post("/api/token/revoke/", follow=True)
    assert b"was revoked" in revoked.content and b"You have no API token." in revoked.content
    assert api_with(second).get(LIST).status_code == 401


def test_revoke_without_a_token_says_so(client, user):
    client.force_login(user)
    response = client.post("/api/token/revoke/", follow=True)
    assert b"You had no API token." in response.content


def test_revoke_needs_post(client, user):
    client.force_login(user)
    assert client.get("/api/token/revoke/").status_code == 405


def test_browser_session_also_authenticates_the_api(client, user):
    client.force_login(user)
    response = client.get(LIST)
    assert response.status_code == 200 and response.json()["count"] == 0
