"""Seeing is not changing: staff may open anyone's records, but only the owner or a user with
the model's delete/change permission may delete or re-queue them (pages and API)."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from classifier import services as prediction_services
from classifier.models import Prediction
from recordings import services as recording_services
from recordings.models import Recording
from tests.factories import beat_image_bytes
from tests.hostile.conftest import (  # noqa: F401 -- fixtures
    recording_model,
    recording_models_dir,
)
from tests.hostile.test_recording_upload import synthetic_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def prediction(user, installed_tiny_models) -> Prediction:
    upload = SimpleUploadedFile("beat.png", beat_image_bytes())
    return prediction_services.prediction_create(owner=user, uploaded_file=upload)


@pytest.fixture
def failed_recording(user, request) -> Recording:
    request.getfixturevalue("recording_model")
    upload = SimpleUploadedFile("alice.csv", synthetic_csv(), content_type="text/csv")
    recording = recording_services.recording_create(owner=user, files=[upload])
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.FAILED)
    return recording


@pytest.fixture
def plain_staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="x-Pass-4410", is_staff=True)


def user_with(django_user_model, codename: str):
    user = django_user_model.objects.create_user(f"has-{codename}", password="x-Pass-4410")
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_may_view_but_not_delete_a_prediction(plain_staff, prediction):
    staff = page_client(plain_staff)
    page = staff.get(prediction.get_absolute_url())
    assert page.status_code == 200  # viewing: documented
    assert reverse("classifier:delete", args=[prediction.pk]) not in page.content.decode()
    assert staff.get(reverse("classifier:delete", args=[prediction.pk])).status_code == 404
    assert staff.post(reverse("classifier:delete", args=[prediction.pk])).status_code == 404
    response = api_client(plain_staff).delete(f"/api/v1/predictions/{prediction.pk}/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert Prediction.objects.filter(pk=prediction.pk).exists()


@pytest.mark.parametrize("how", ["page", "api"])
def test_owner_and_permission_holder_may_delete_a_prediction(
    user, prediction, django_user_model, how
):
    for who in (user, user_with(django_user_model, "delete_prediction")):
        if not Prediction.objects.filter(pk=prediction.pk).exists():
            upload = SimpleUploadedFile("beat.png", beat_image_bytes())
            prediction = prediction_services.prediction_create(owner=user, uploaded_file=upload)
        if how == "page":
            response = page_client(who).post(reverse("classifier:delete", args=[prediction.pk]))
            assert response.status_code == 302
        else:
            response = api_client(who).delete(f"/api/v1/predictions/{prediction.pk}/")
            assert response.status_code == 204
        assert not Prediction.objects.filter(pk=prediction.pk).exists()


def test_staff_may_view_but_not_delete_or_retry_a_recording(plain_staff, failed_recording):
    pk = failed_recording.pk
    staff = page_client(plain_staff)
    page = staff.get(reverse("recordings:detail", args=[pk]))
    assert page.status_code == 200
    for action in ("recordings:delete", "recordings:retry"):
        assert reverse(action, args=[pk]) not in page.content.decode()
    assert staff.post(reverse("recordings:retry", args=[pk])).status_code == 404
    assert staff.get(reverse("recordings:delete", args=[pk])).status_code == 404
    assert staff.post(reverse("recordings:delete", args=[pk])).status_code == 404
    assert api_client(plain_staff).delete(f"/api/v1/recordings/{pk}/").status_code == 404
    failed_recording.refresh_from_db()
    assert failed_recording.status == Recording.Status.FAILED


def test_owner_and_change_permission_may_retry_a_recording(
    user, failed_recording, django_user_model
):
    pk = failed_recording.pk
    for who in (user, user_with(django_user_model, "change_recording")):
        Recording.objects.filter(pk=pk).update(status=Recording.Status.FAILED)
        if who == user:  # (viewing needs ownership or staff; the permission alone does not)
            page = page_client(who).get(reverse("recordings:detail", args=[pk])).content.decode()
            assert reverse("recordings:retry", args=[pk]) in page
        assert page_client(who).post(reverse("recordings:retry", args=[pk])).status_code == 302
        assert Recording.objects.get(pk=pk).status == Recording.Status.QUEUED
    # the change permission is not the delete permission
    changer = django_user_model.objects.get(username="has-change_recording")
    assert page_client(changer).post(reverse("recordings:delete", args=[pk])).status_code == 404


@pytest.mark.parametrize("how", ["page", "api"])
def test_owner_and_permission_holder_may_delete_a_recording(
    user, failed_recording, django_user_model, how
):
    deleter = user_with(django_user_model, "delete_recording")
    for who in (user, deleter):
        if not Recording.objects.filter(owner=user).exists():
            upload = SimpleUploadedFile("again.csv", synthetic_csv(), content_type="text/csv")
            recording_services.recording_create(owner=user, files=[upload])
        pk = Recording.objects.get(owner=user).pk
        if how == "page":
            response = page_client(who).post(reverse("recordings:delete", args=[pk]))
            assert response.status_code == 302
        else:
            assert api_client(who).delete(f"/api/v1/recordings/{pk}/").status_code == 204
        assert not Recording.objects.filter(pk=pk).exists()
