"""Admin: prediction list with thumbnails, filters, search, read-only results, CSV action."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classifier import services
from classifier.models import Prediction
from tests.factories import beat_image_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:classifier_prediction_changelist")


@pytest.fixture
def predictions(user, other_user, installed_tiny_models):
    return [
        services.prediction_create(
            owner=owner, uploaded_file=SimpleUploadedFile(name, beat_image_bytes())
        )
        for owner, name in [(user, "alice-1.png"), (other_user, "bob-1.png")]
    ]


def test_admin_requires_staff(user_client):
    assert user_client.get(CHANGELIST).status_code == 302


def test_changelist_shows_thumbnails_filters_and_search(client, staff_user, predictions):
    client.force_login(staff_user)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    for p in predictions:
        assert p.get_image_url() in body and p.original_name in body
    assert "By predicted class" in body.replace("predicted_class", "predicted class")
    response = client.get(CHANGELIST, {"q": "bob"})
    assert "bob-1.png" in response.content.decode()
    assert "alice-1.png" not in response.content.decode()
    assert client.get(CHANGELIST, {"created_at__year": "2020"}).status_code == 200


def test_results_are_read_only_and_no_manual_add(client, staff_user, predictions):
    client.force_login(staff_user)
    p = predictions[0]
    url = reverse("admin:classifier_prediction_change", args=[p.pk])
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "predicted_class" not in form.fields and "confidence" not in form.fields
    assert "note" in form.fields
    before = p.predicted_class
    response = client.post(
        url, {"patient_reference": "X-1", "note": "reviewed", "predicted_class": "N"}
    )
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.note == "reviewed"
    assert p.predicted_class == before != "N"  # the posted class was ignored
    assert client.get(reverse("admin:classifier_prediction_add")).status_code == 403


def test_change_page_shows_percentages_not_raw_floats(client, staff_user, predictions):
    client.force_login(staff_user)
    p = predictions[0]
    Prediction.objects.filter(pk=p.pk).update(
        confidence=0.9340000152587891, probabilities={"N": 0.0659999847, "V": 0.9340000152587891}
    )
    body = client.get(reverse("admin:classifier_prediction_change", args=[p.pk])).content.decode()
    assert "93.4%" in body and "N 6.6%, V 93.4%" in body
    assert "0.934000015" not in body and "0.0659999847" not in body


def test_csv_export_action(client, staff_user, predictions):
    client.force_login(staff_user)
    response = client.post(
        CHANGELIST,
        {"action": "export_as_csv", "_selected_action": [p.pk for p in predictions]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(r["original_name"] for r in rows) == ["alice-1.png", "bob-1.png"]
    assert set(rows[0]) >= {"predicted_class", "confidence", "model_version", "p_L", "p_!"}
    assert Prediction.objects.count() == 2


def stored_files(settings) -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_admin_bulk_delete_removes_the_image_files(
    client, staff_user, predictions, settings, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    assert len(stored_files(settings)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {
                "action": "delete_selected",
                "_selected_action": [p.pk for p in predictions],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    assert not Prediction.objects.exists()
    assert stored_files(settings) == []


def test_deleting_the_owner_removes_their_image_files_only(
    user, predictions, settings, django_capture_on_commit_callbacks
):
    alice, bob = predictions
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    assert list(Prediction.objects.all()) == [bob]
    assert [p.name for p in stored_files(settings)] == [bob.image.name.rsplit("/", 1)[-1]]


def test_rolled_back_deletion_keeps_the_file(predictions, settings):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        predictions[0].delete()
        raise RuntimeError("rolled back")
    assert Prediction.objects.count() == 2 and len(stored_files(settings)) == 2


def test_change_page_links_the_image_to_the_private_view(client, staff_user, predictions):
    client.force_login(staff_user)
    p = predictions[0]
    body = client.get(reverse("admin:classifier_prediction_change", args=[p.pk])).content.decode()
    assert f'href="{p.get_image_url()}"' in body
    assert "/media/" not in body
    assert client.get(p.get_image_url()).status_code == 200
