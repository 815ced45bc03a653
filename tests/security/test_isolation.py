"""Health data is private: another user's recording is a 404 on every page, file and API
endpoint (the same answer as for a record that does not exist), and nothing of it changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from api.services import token_create
from recordings import services
from recordings.models import Recording
from tests.hostile.conftest import (  # noqa: F401 -- fixtures
    recording_model,
    recording_models_dir,
)
from tests.hostile.test_recording_upload import synthetic_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_recording(user, request) -> Recording:
    request.getfixturevalue("recording_model")  # imported above from the hostile tests' conftest
    upload = SimpleUploadedFile("alice.csv", synthetic_csv(), content_type="text/csv")
    return services.recording_create(owner=user, files=[upload])


def test_another_users_recording_is_404_on_every_page(alices_recording, other_user):
    pk = alices_recording.pk
    bob = Client()
    bob.force_login(other_user)
    gets = [
        reverse("recordings:detail", args=[pk]),
        reverse("recordings:status", args=[pk]),
        reverse("recordings:strip", args=[pk]),
        reverse("recordings:find", args=[pk]),
        reverse("recordings:beat", args=[pk, 0]),
        reverse("recordings:beat_png", args=[pk, 0]),
        reverse("recordings:csv", args=[pk]),
        reverse("recordings:zip", args=[pk, "N"]),
    ]
    for url in gets:
        assert bob.get(url).status_code == 404, url
    for url in (reverse("recordings:retry", args=[pk]), reverse("recordings:delete", args=[pk])):
        assert bob.post(url).status_code == 404, url
    assert "alice.csv" not in bob.get(reverse("recordings:list")).content.decode()
    assert Recording.objects.filter(pk=pk).exists()


def test_another_users_recording_is_404_in_the_api(alices_recording, other_user):
    pk = alices_recording.pk
    bob = Client(HTTP_AUTHORIZATION=f"Token {token_create(user=other_user)[1]}")
    base = f"/api/v1/recordings/{pk}/"
    for url in (base, f"{base}beats/", f"{base}beats/0/", f"{base}report/"):
        assert bob.get(url).status_code == 404, url
    assert bob.delete(base).status_code == 404
    listing = bob.get("/api/v1/recordings/").json()
    assert listing["count"] == 0
    assert Recording.objects.filter(pk=pk).exists()


def test_anonymous_users_are_sent_to_log_in(alices_recording):
    response = Client().get(reverse("recordings:detail", args=[alices_recording.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert Client().get(f"/api/v1/recordings/{alices_recording.pk}/").status_code in (401, 403)
