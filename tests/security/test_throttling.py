"""Login throttling (django-axes): 5 failures for one username from one address lock it."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Str0ng-pass-123"
LOGIN_URLS = ["/accounts/login/", "/admin/login/"]


def fail_logins(client: Client, url: str, username: str, times: int) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "wrong"}).status_code
        for _ in range(times)
    ]


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_lockout_after_the_failure_limit_even_with_the_right_password(url):
    get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)
    client = Client()
    statuses = fail_logins(client, url, "alice", settings.AXES_FAILURE_LIMIT - 1)
    assert 429 not in statuses
    fail_logins(client, url, "alice", 1)
    response = client.post(url, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert b"too many" in response.content.lower() or b"locked" in response.content.lower()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_lockout_looks_the_same_for_unknown_and_existing_users(url):
    get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)
    answers = []
    for username in ("alice", "nobody-by-this-name"):
        client = Client()
        fail_logins(client, url, username, settings.AXES_FAILURE_LIMIT)
        response = client.post(url, {"username": username, "password": "wrong"})
        answers.append((response.status_code, response.content.replace(username.encode(), b"")))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_lockout_is_per_username_and_address(url):
    get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)
    fail_logins(Client(REMOTE_ADDR="10.0.0.1"), url, "alice", settings.AXES_FAILURE_LIMIT)
    other_machine = Client(REMOTE_ADDR="10.0.0.2")
    response = other_machine.post(url, {"username": "alice", "password": PASSWORD, "next": "/"})
    assert response.status_code == 302
    assert "_auth_user_id" in other_machine.session


def test_test_client_login_still_works_without_a_request():
    # authenticate() without a request (client.login, management commands) skips the throttle
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert Client().login(username="bob", password=PASSWORD)
