"""Client address behind PROXY_COUNT trusted proxies (login lockouts, throttles)."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from ecgsite.client_ip import client_ip_get

PASSWORD = "Str0ng-pass-123"


def request_from(remote_addr: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_header_is_ignored(settings):
    settings.PROXY_COUNT = 0
    assert client_ip_get(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("proxy_count", "forwarded_for", "expected"),
    [
        (1, "198.51.100.9", "198.51.100.9"),
        # the client prepended a forged entry; the proxy appended the real address
        (1, "1.2.3.4, 198.51.100.9", "198.51.100.9"),
        # two proxies: the outer one appended the client, the inner one the outer proxy
        (2, "1.2.3.4, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        # fewer entries than proxies, no header, garbage: the connection's address
        (2, "198.51.100.9", "10.0.0.1"),
        (1, None, "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
    ],
)
def test_client_is_the_proxy_count_th_entry_from_the_right(
    settings, proxy_count, forwarded_for, expected
):
    settings.PROXY_COUNT = proxy_count
    assert client_ip_get(request_from("10.0.0.1", forwarded_for)) == expected


@pytest.mark.django_db
def test_strangers_behind_the_proxy_cannot_lock_the_owner_out(settings):
    settings.PROXY_COUNT = 1
    get_user_model().objects.create_user("alice", password=PASSWORD)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        response = Client(**proxy, HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}").post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}
        )
        assert response.status_code == 200
    owner = Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    response = owner.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in owner.session


@pytest.mark.django_db
def test_failures_from_one_client_behind_the_proxy_lock_that_client(settings):
    settings.PROXY_COUNT = 1
    get_user_model().objects.create_user("alice", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        attacker.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = attacker.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_without_proxies_a_forged_header_does_not_escape_the_lockout(settings):
    settings.PROXY_COUNT = 0
    get_user_model().objects.create_user("alice", password=PASSWORD)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}
        )
    again = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="192.0.2.99")
    response = again.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
