"""CSRF on every state-changing form, and no user enumeration from sign-up, reset or login."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from classifier import services
from classifier.models import Prediction
from tests.conftest import PASSWORD
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def forms_to_post(prediction_pk: int) -> list[tuple[str, dict, bool]]:
    """(url, data, needs login) for every form in the app."""
    new = "Another-long-passphrase-9"
    return [
        (reverse("login"), {"username": "alice", "password": PASSWORD}, False),
        (
            reverse("signup"),
            {"username": "eve", "email": "e@x.org", "password1": new, "password2": new},
            False,
        ),
        (reverse("password_reset"), {"email": "alice@example.org"}, False),
        (reverse("classifier:upload"), {"image_type": "auto"}, True),
        (reverse("classifier:delete", args=[prediction_pk]), {}, True),
        (reverse("logout"), {}, True),
        (
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
            True,
        ),
        ("/admin/login/", {"username": "alice", "password": PASSWORD}, False),
        (reverse("recordings:upload"), {"units": "mV"}, True),
        (reverse("api:token"), {}, True),
    ]


def test_every_form_refuses_a_post_without_csrf_token(
    csrf_client, user, installed_tiny_models, settings
):
    upload = SimpleUploadedFile("b.png", beat_image_bytes(), content_type="image/png")
    prediction = services.prediction_create(owner=user, uploaded_file=upload)
    for url, data, needs_login in forms_to_post(prediction.pk):
        if needs_login:
            csrf_client.force_login(user)
        response = csrf_client.post(url, data)
        assert response.status_code == 403, url
        csrf_client.logout()
    # nothing happened: no account, no deletion, password unchanged, no mail
    assert not get_user_model().objects.filter(username="eve").exists()
    assert Prediction.objects.filter(pk=prediction.pk).exists()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert mail.outbox == []
    from api.models import ApiToken

    assert not ApiToken.objects.exists()  # no API key minted by a forged request


def test_forms_carry_a_csrf_token(user_client, installed_tiny_models):
    for url in (reverse("classifier:upload"), reverse("password_change")):
        assert 'name="csrfmiddlewaretoken"' in user_client.get(url).content.decode(), url
    anonymous = Client()
    for url in (reverse("login"), reverse("signup"), reverse("password_reset")):
        assert 'name="csrfmiddlewaretoken"' in anonymous.get(url).content.decode(), url


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(user):
    known = Client().post(reverse("password_reset"), {"email": user.email})
    unknown = Client().post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]  # only the owner learns


def test_sign_up_does_not_reveal_a_registered_address(user):
    new = "Another-long-passphrase-9"
    response = Client().post(
        reverse("signup"),
        {"username": "mallory", "email": user.email, "password1": new, "password2": new},
    )
    # the same outcome as with a fresh address: the account is created, nothing is disclosed
    assert response.status_code == 302
    assert user.email not in response.content.decode()
    assert get_user_model().objects.filter(username="mallory").exists()


def test_login_error_is_the_same_for_unknown_user_and_wrong_password(user):
    wrong_password = Client().post(reverse("login"), {"username": "alice", "password": "nope"})
    unknown_user = Client().post(reverse("login"), {"username": "zed", "password": "nope"})
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert wrong_password.context["form"].errors == unknown_user.context["form"].errors
