"""The classifier pages through the real URLs, views, forms, service and tiny real models."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from classifier import services
from classifier.models import Prediction
from ecgsite.model_registry import get_model_registry
from tests.conftest import BEAT_FAVOURS, SPECTROGRAM_FAVOURS
from tests.factories import beat_image_bytes, spectrogram_image_bytes

pytestmark = pytest.mark.django_db

UPLOAD = reverse("classifier:upload")
HISTORY = reverse("pages:history")


def png(name="beat.png", data=None, **kw) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or beat_image_bytes(**kw), content_type="image/png")


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_prediction(owner, name="beat.png", **kw) -> Prediction:
    # A line drawing is no longer classified as a spectral image: send one in our format.
    data = spectrogram_image_bytes() if kw.get("image_type") == "spectrogram" else None
    return services.prediction_create(owner=owner, uploaded_file=png(name, data), **kw)


@pytest.mark.parametrize(
    "url",
    [
        UPLOAD, HISTORY, reverse("classifier:export"), reverse("classifier:batch") + "?ids=1",
        reverse("classifier:detail", args=[1]), reverse("classifier:image", args=[1]),
        reverse("classifier:delete", args=[1]), reverse("password_change"),
    ],
)  # fmt: skip
def test_login_required_everywhere(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_upload_page_without_model_is_503_naming_the_command(user_client):
    response = user_client.get(UPLOAD)
    assert response.status_code == 503
    body = response.content.decode()
    assert "Model not installed" in body
    assert "python manage.py train_model" in body


def test_post_without_model_is_503_and_stores_nothing(user_client, settings):
    response = user_client.post(UPLOAD, {"images": png(), "image_type": "auto"})
    assert response.status_code == 503
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_rest_of_site_works_without_model(user_client):
    for url in [HISTORY, reverse("pages:home"), reverse("pages:about")]:
        assert user_client.get(url).status_code == 200


def test_upload_form_shows_models_and_detection_rule(user_client, installed_tiny_models):
    response = user_client.get(UPLOAD)
    assert response.status_code == 200
    body = response.content.decode()
    assert "tiny-beat" in body and "tiny-spectrogram" in body
    assert "Detect automatically" in body
    assert 'accept="image/png,image/jpeg,image/bmp"' in body
    assert "multiple" in body


def test_full_journey_upload_result_history_delete(
    user_client, installed_tiny_models, settings, django_capture_on_commit_callbacks
):
    response = user_client.post(
        UPLOAD,
        {"images": png("trace 1.png"), "image_type": "auto", "patient_reference": "P-1",
         "note": "check"},
    )  # fmt: skip
    prediction = Prediction.objects.get()
    assert response.status_code == 302  # redirect after POST
    assert response["Location"] == prediction.get_absolute_url()

    page = user_client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "Premature Ventricular Contraction" in body and BEAT_FAVOURS == "V"
    assert "not a diagnosis" in body
    assert "tiny-beat v0.0-test" in body
    assert "detected automatically" in body
    assert reverse("pages:class_info", args=["premature-ventricular-contraction"]) in body
    assert body.count('role="progressbar"') == 6
    assert prediction.get_image_url() in body

    image = user_client.get(prediction.get_image_url())
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == beat_image_bytes()
    assert "private" in image["Cache-Control"]

    history = user_client.get(HISTORY).content.decode()
    assert "trace 1.png" in history and "P-1" in history
    assert prediction.get_thumbnail_url() in history
    thumb = user_client.get(prediction.get_thumbnail_url())
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size == (64, 64)  # small images stay as they are

    delete_url = reverse("classifier:delete", args=[prediction.pk])
    assert user_client.get(delete_url).status_code == 200  # confirmation page
    assert Prediction.objects.count() == 1  # GET deletes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(delete_url)
    assert response.status_code == 302 and response["Location"] == HISTORY
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_several_files_give_a_results_page(user_client, installed_tiny_models):
    files = [
        png("a.png", seed=1),
        SimpleUploadedFile("b.bmp", beat_image_bytes("BMP", seed=2)),
        SimpleUploadedFile("c.png", spectrogram_image_bytes()),
    ]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("classifier:batch"))
    page = user_client.get(response["Location"])
    body = page.content.decode()
    created = list(Prediction.objects.order_by("id"))
    assert [p.original_name for p in created] == ["a.png", "b.bmp", "c.png"]
    assert [p.predicted_class for p in created] == [BEAT_FAVOURS, BEAT_FAVOURS, SPECTROGRAM_FAVOURS]
    for p in created:
        assert p.get_absolute_url() in body


def test_one_bad_file_among_several_rejects_all_with_its_name(
    user_client, installed_tiny_models, settings
):
    files = [png("good.png"), SimpleUploadedFile("fake.png", b"MZ\x90\x00 executable")]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert response.status_code == 400
    assert "“fake.png” is not an image" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (beat_image_bytes()[:80], "damaged or truncated"),
        (b"hello world, not an image", "not an image"),
    ],
)
def test_invalid_upload_shows_message_on_form(user_client, installed_tiny_models, data, message):
    response = user_client.post(
        UPLOAD, {"images": SimpleUploadedFile("x.png", data), "image_type": "auto"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Prediction.objects.count() == 0


def test_missing_file_and_bad_patient_reference(user_client, installed_tiny_models):
    response = user_client.post(UPLOAD, {"image_type": "auto", "patient_reference": "<script>"})
    assert response.status_code == 400
    form = response.context["form"]
    assert "images" in form.errors and "patient_reference" in form.errors


def test_user_b_gets_404_for_user_a_page_image_and_delete(
    client, user, other_user, installed_tiny_models
):
    prediction = make_prediction(user)
    client.force_login(other_user)
    for url in [
        prediction.get_absolute_url(),
        prediction.get_image_url(),
        prediction.get_thumbnail_url(),
        reverse("classifier:delete", args=[prediction.pk]),
    ]:
        assert client.get(url).status_code == 404
    assert client.post(reverse("classifier:delete", args=[prediction.pk])).status_code == 404
    assert Prediction.objects.count() == 1
    history = client.get(HISTORY).content.decode()
    assert "beat.png" not in history
    batch = client.get(reverse("classifier:batch") + f"?ids={prediction.pk}")
    assert batch.status_code == 404


def test_staff_can_open_any_image(client, user, staff_user, installed_tiny_models):
    prediction = make_prediction(user)
    client.force_login(staff_user)
    assert client.get(prediction.get_image_url()).status_code == 200
    assert client.get(prediction.get_absolute_url()).status_code == 200


def test_media_is_not_served_from_a_public_url(user_client, user, installed_tiny_models):
    prediction = make_prediction(user)
    response = user_client.get("/media/" + prediction.image.name)
    assert response.status_code == 404


def test_history_filters_search_and_pagination(user_client, user, installed_tiny_models):
    make_prediction(user, "first.png", image_type="beat_image", patient_reference="P-100")
    make_prediction(user, "second.png", image_type="spectrogram", patient_reference="Q-200")
    old = make_prediction(user, "old.png", image_type="beat_image")
    Prediction.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=30))

    def names(params):
        response = user_client.get(HISTORY, params)
        assert response.status_code == 200
        return [p.original_name for p in response.context["page_obj"]]

    assert names({}) == ["second.png", "first.png", "old.png"]  # newest first
    assert names({"predicted_class": SPECTROGRAM_FAVOURS}) == ["second.png"]
    assert names({"image_type": "beat_image"}) == ["first.png", "old.png"]
    assert names({"q": "p-100"}) == ["first.png"]
    assert names({"q": "second"}) == ["second.png"]
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert names({"date_from": since}) == ["second.png", "first.png"]
    until = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    assert names({"date_to": until}) == ["old.png"]
    response = user_client.get(HISTORY, {"date_from": "2030-01-02", "date_to": "2030-01-01"})
    assert "must not be after" in response.content.decode()


def test_history_titles_empty_results_and_dates_read_right(
    user_client, user, installed_tiny_models, settings
):
    settings.TIME_ZONE, settings.USE_TZ = "UTC", True
    prediction = make_prediction(user, "first.png")
    Prediction.objects.filter(pk=prediction.pk).update(
        created_at=dt.datetime(2026, 11, 26, 13, 2, tzinfo=dt.UTC)
    )
    history = user_client.get(HISTORY).content.decode()
    assert "<h1" in history and "Your images and recordings</h1>" in history
    assert "Your predictions" not in history

    empty = " ".join(user_client.get(HISTORY, {"q": "nobody"}).content.decode().split())
    assert f'No results match these filters. <a href="{HISTORY}">Clear the filters</a>' in empty
    assert "to get started" not in empty
    fresh = user_client.get(HISTORY).content.decode()
    assert "No results match" not in fresh

    for url in (prediction.get_absolute_url(), reverse("classifier:delete", args=[prediction.pk])):
        page = user_client.get(url).content.decode()
        assert "2026-11-26 13:02" in page, url
        assert "p.m." not in page and "13:02 ." not in page, url


def test_history_is_paginated(user_client, user, installed_tiny_models, monkeypatch):
    monkeypatch.setattr("pages.views.HISTORY_PAGE_SIZE", 2)
    for i in range(5):
        make_prediction(user, f"f{i}.png")
    page2 = user_client.get(HISTORY, {"page": 2, "q": "f"})
    assert [p.original_name for p in page2.context["page_obj"]] == ["f2.png", "f1.png"]
    assert "q=f&amp;page=3" in page2.content.decode()


def test_csv_export_of_filtered_list(user_client, user, other_user, installed_tiny_models):
    make_prediction(user, "mine-beat.png", image_type="beat_image", note="=HYPERLINK(1)")
    make_prediction(user, "mine-spec.png", image_type="spectrogram")
    make_prediction(other_user, "theirs.png")
    response = user_client.get(reverse("classifier:export"), {"image_type": "beat_image"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["original_name"] for r in rows] == ["mine-beat.png"]
    assert rows[0]["predicted_class"] == BEAT_FAVOURS
    assert rows[0]["note"] == "'=HYPERLINK(1)"  # no formula injection into spreadsheets
    assert float(rows[0]["p_V"]) == pytest.approx(float(rows[0]["confidence"]))


def test_thumbnail_of_a_large_upload_is_small(user_client, user, installed_tiny_models):
    big = SimpleUploadedFile("big.png", beat_image_bytes(size=600))
    prediction = services.prediction_create(owner=user, uploaded_file=big)
    thumb = user_client.get(prediction.get_thumbnail_url())
    assert Image.open(io.BytesIO(thumb.content)).size == (128, 128)


def test_model_crash_stores_nothing(user_client, installed_tiny_models, settings, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("interpreter exploded")

    registry = get_model_registry()
    registry.warm_up()  # the models load fine; they fail later, on the uploads
    for kind in registry.installed_image_kinds():
        monkeypatch.setattr(registry.serving_bundle(kind=kind), "predict_proba", boom)
    response = user_client.post(
        UPLOAD, {"images": [png("a.png"), png("b.png")], "image_type": "auto"}
    )
    assert response.status_code == 503
    assert "nothing was stored" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_too_many_files_in_one_request_is_refused(user_client, installed_tiny_models, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [png(f"f{i}.png", seed=i) for i in range(3)]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert response.status_code == 400
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


def test_each_uploaded_image_is_checked_and_decoded_once(
    user_client, installed_tiny_models, settings, monkeypatch
):
    from classifier import forms

    checked = []
    real = forms.validate_image_file
    monkeypatch.setattr(forms, "validate_image_file", lambda f: checked.append(f.name) or real(f))
    monkeypatch.setattr(services, "validate_image_file", lambda f: pytest.fail("checked twice"))
    files = [png("a.png", seed=1), png("b.png", seed=2)]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert response.status_code == 302 and checked == ["a.png", "b.png"]
    assert Prediction.objects.count() == 2
