"""Sign up, log in / out, password change and reset (console/locmem mail)."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_signup_creates_account_and_logs_in(client, password):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "email": "Carol@Example.org", "password1": password,
         "password2": password},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("classifier:upload")
    user = User.objects.get(username="carol")
    assert user.email == "carol@example.org" and not user.is_staff
    assert client.get(reverse("pages:history")).status_code == 200


def test_signup_rejects_weak_password_and_duplicate_email(client, user):
    response = client.post(
        reverse("signup"),
        {"username": "dave", "email": user.email, "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    # the taken address is NOT reported (no user enumeration), the weak password is
    assert "email" not in form.errors and "password2" in form.errors
    assert not User.objects.filter(username="dave").exists()


def test_login_and_logout(client, user, password):
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("classifier:upload")
    assert client.get(reverse("logout")).status_code == 405  # logout is POST-only
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("pages:history")).status_code == 302


def test_login_rejects_wrong_password(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_password_change(client, user, password):
    client.force_login(user)
    new = "Another-long-passphrase-2"
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_sends_link_that_works(client, user):
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    new = "Brand-new-passphrase-3"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_migrations_create_no_account():
    # The test database is built by running every migration: no user (default admin) may exist.
    assert not User.objects.exists()
