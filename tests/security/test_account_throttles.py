"""Sign-up and password reset: throttled per client address, no confirmation that a user name
or e-mail address exists, and the reset mail is sent after the answer."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.forms import USERNAME_UNAVAILABLE
from accounts.views import PasswordResetView

pytestmark = pytest.mark.django_db
NEW = "Another-long-passphrase-9"


def sign_up(client: Client, username: str) -> int:
    data = {"username": username, "email": f"{username}@example.org"}
    return client.post(reverse("signup"), data | {"password1": NEW, "password2": NEW}).status_code


def test_a_taken_user_name_gets_a_generic_message(user):
    response = Client().post(
        reverse("signup"),
        {"username": "ALICE", "email": "x@example.org", "password1": NEW, "password2": NEW},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [USERNAME_UNAVAILABLE]
    assert b"already exists" not in response.content


def test_sign_up_is_throttled_per_client_address(settings):
    settings.SIGNUP_RATE = "3/hour"
    statuses = [sign_up(Client(REMOTE_ADDR="198.51.100.1"), f"probe{n}") for n in range(3)]
    assert statuses == [302, 302, 302]
    here = Client(REMOTE_ADDR="198.51.100.1")
    response = here.post(
        reverse("signup"),
        {"username": "probe9", "email": "p@example.org", "password1": NEW, "password2": NEW},
    )
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert not get_user_model().objects.filter(username="probe9").exists()
    assert sign_up(Client(REMOTE_ADDR="198.51.100.2"), "other") == 302


def test_password_reset_is_throttled_per_client_address(settings, user):
    settings.PASSWORD_RESET_RATE = "2/hour"
    here = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(2):
        assert here.post(reverse("password_reset"), {"email": user.email}).status_code == 302
    response = here.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 429 and b"Too many attempts" in response.content
    assert len(mail.outbox) == 2
    other = Client(REMOTE_ADDR="198.51.100.2").post(
        reverse("password_reset"), {"email": "x@example.org"}
    )
    assert other.status_code == 302


def test_password_reset_throttle_follows_the_proxy_setting(settings, user):
    settings.PASSWORD_RESET_RATE = "1/hour"
    settings.PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(3):  # three clients behind the same proxy: each has its own count
        client = Client(**proxy, HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}")
        assert client.post(reverse("password_reset"), {"email": user.email}).status_code == 302


def test_reset_mail_is_sent_after_the_response(user):
    request = RequestFactory().post(reverse("password_reset"), {"email": user.email})
    request.session = {}
    request._dont_enforce_csrf_checks = True  # RequestFactory: no middleware, no cookie
    response = PasswordResetView.as_view()(request)
    assert response.status_code == 302
    assert mail.outbox == []  # nothing of the mail work happened before the answer
    response.close()  # what the WSGI server does once the answer is sent
    assert [m.to for m in mail.outbox] == [[user.email]]
