"""Authentication: no anonymous access, and API tokens: several per user, named, expiring,
stored only as digests, revoked one by one, all at once, or by a password change or reset."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import MAX_TOKENS_PER_USER, token_create

pytestmark = pytest.mark.django_db
LIST = "/api/v1/predictions/"
NEW_KEY = re.compile(r'id="new-token">([0-9a-f]{40})<')


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def create_on_page(client, name: str = "lab script", days: int = 90) -> str:
    response = client.post("/api/token/", {"name": name, "expires_in_days": days})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the key must not sit in a cache
    return NEW_KEY.search(response.content.decode()).group(1)


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


def test_only_a_digest_of_the_key_is_stored(user):
    token, key = token_create(user=user, name="ci")
    stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert key not in stored
    assert token.prefix == key[:8] and len(token.digest) == 64


def test_several_named_tokens_create_list_use_revoke(client, user):
    client.force_login(user)
    page = client.get("/api/token/")
    assert page.status_code == 200 and b"You have no API token." in page.content

    first = create_on_page(client, "lab script")
    second = create_on_page(client, "monitor export", days=7)
    assert first != second
    assert api_with(first).get(LIST).status_code == 200
    assert api_with(second).get(LIST).status_code == 200  # both work: several tokens

    listing = client.get("/api/token/").content.decode()
    assert "lab script" in listing and "monitor export" in listing
    assert first not in listing and second not in listing  # shown once, then only a prefix
    assert first[:8] in listing

    token = ApiToken.objects.get(name="lab script")
    revoked = client.post(f"/api/token/{token.pk}/revoke/", follow=True)
    assert b"was revoked" in revoked.content
    assert api_with(first).get(LIST).status_code == 401
    assert api_with(second).get(LIST).status_code == 200

    revoked = client.post("/api/token/revoke/", follow=True)
    assert b"Revoked 1 token" in revoked.content and b"You have no API token." in revoked.content
    assert api_with(second).get(LIST).status_code == 401


def test_a_token_needs_a_name_and_a_listed_lifetime(client, user):
    client.force_login(user)
    for data in ({"name": "", "expires_in_days": 90}, {"name": "x", "expires_in_days": 99999}):
        response = client.post("/api/token/", data)
        assert response.status_code == 200 and not NEW_KEY.search(response.content.decode())
    assert not ApiToken.objects.exists()


def test_tokens_per_user_are_capped(client, user):
    for n in range(MAX_TOKENS_PER_USER):
        token_create(user=user, name=f"t{n}")
    client.force_login(user)
    response = client.post("/api/token/", {"name": "one more", "expires_in_days": 30})
    assert b"revoke one before creating another" in response.content
    assert ApiToken.objects.filter(user=user).count() == MAX_TOKENS_PER_USER


def test_an_expired_token_is_refused(user):
    token, key = token_create(user=user, expires_in_days=1)
    assert api_with(key).get(LIST).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_with(key).get(LIST)
    assert response.status_code == 401 and "expired" in response.json()["message"]


def test_use_is_recorded(user):
    token, key = token_create(user=user)
    api_with(key).get(LIST)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_nobody_revokes_someone_elses_token(client, user, other_user):
    token, key = token_create(user=other_user)
    client.force_login(user)
    client.post(f"/api/token/{token.pk}/revoke/")
    client.post("/api/token/revoke/")
    assert api_with(key).get(LIST).status_code == 200


def test_password_change_revokes_every_token(client, user, other_user, password):
    keys = [token_create(user=user, name=n)[1] for n in ("a", "b")]
    _, bobs_key = token_create(user=other_user)
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": password,
            "new_password1": "N3w-pass-9921",
            "new_password2": "N3w-pass-9921",
        },
    )
    assert response.status_code == 302
    for key in keys:
        assert api_with(key).get(LIST).status_code == 401
    assert api_with(bobs_key).get(LIST).status_code == 200


def test_password_reset_revokes_every_token(client, user):
    _, key = token_create(user=user)
    client.post("/accounts/password_reset/", {"email": user.email})
    link = re.search(r"/accounts/reset/\S+/\S+/", mail.outbox[0].body).group(0)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "R3set-pass-7781", "new_password2": "R3set-pass-7781"}
    )
    assert response.status_code == 302
    assert api_with(key).get(LIST).status_code == 401


def test_signing_in_does_not_revoke_tokens(client, user, password):
    _, key = token_create(user=user)
    client.post("/accounts/login/", {"username": user.username, "password": password})
    get_user_model().objects.get(pk=user.pk).save()  # a profile save without a new password
    assert api_with(key).get(LIST).status_code == 200


def test_revoke_needs_post(client, user):
    client.force_login(user)
    assert client.get("/api/token/revoke/").status_code == 405


def test_browser_session_also_authenticates_the_api(client, user):
    client.force_login(user)
    response = client.get(LIST)
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_admin_shows_who_has_which_token_but_never_a_key(client, user, staff_user):
    token, key = token_create(user=user, name="lab script")
    client.force_login(staff_user)  # a superuser
    listing = client.get("/admin/api/apitoken/").content.decode()
    assert "lab script" in listing and token.prefix in listing and key not in listing
    page = client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert key not in page and token.digest not in page
    assert client.get("/admin/api/apitoken/add/").status_code == 403
