"""The hostile corpus through the upload form: every bad file gets a 4xx with a clear message,
and leaves no row and no file behind; hostile *names* on good images are stored safely."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classifier.models import Prediction
from tests.factories import beat_image_bytes
from tests.hostile.corpus import IMAGE_CORPUS, NAME_CORPUS, POLYGLOT_CORPUS

pytestmark = pytest.mark.django_db

UPLOAD = reverse("classifier:upload")

# What the user reads for each kind of bad file (from classifier/validators.py)
CLEAR_MESSAGES = ("is empty", "not an image", "damaged or truncated", "too many pixels", "pixels;")


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def as_upload(item) -> SimpleUploadedFile:
    return SimpleUploadedFile(item.name, item.data(), content_type=item.content_type)


@pytest.mark.parametrize("item", IMAGE_CORPUS, ids=lambda item: item.case)
def test_hostile_image_is_refused_with_a_clear_message(
    user_client, installed_tiny_models, settings, item
):
    response = user_client.post(UPLOAD, {"images": as_upload(item), "image_type": "auto"})
    assert response.status_code == 400
    body = response.content.decode()
    assert any(message in body for message in CLEAR_MESSAGES), body[-2000:]
    assert Prediction.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.parametrize("item", IMAGE_CORPUS[:6], ids=lambda item: item.case)
def test_one_hostile_file_among_good_ones_stores_nothing(
    user_client, installed_tiny_models, settings, item
):
    good = [
        SimpleUploadedFile(f"good{i}.png", beat_image_bytes(seed=i), content_type="image/png")
        for i in range(2)
    ]
    response = user_client.post(
        UPLOAD, {"images": [good[0], as_upload(item), good[1]], "image_type": "auto"}
    )
    assert response.status_code == 400
    assert Prediction.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.parametrize("item", NAME_CORPUS, ids=lambda item: item.case)
def test_hostile_file_names_are_never_used_on_disk(
    user_client, installed_tiny_models, settings, item
):
    response = user_client.post(UPLOAD, {"images": as_upload(item), "image_type": "auto"})
    if response.status_code == 400:  # refusing the name is fine too, if it says why
        assert Prediction.objects.count() == 0 and media_files(settings) == []
        return
    assert response.status_code == 302
    prediction = Prediction.objects.get()
    [stored] = media_files(settings)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    assert stored.resolve().is_relative_to(media_root)
    assert stored.name.count(".") == 1 and stored.suffix == ".png"  # random name, real type
    assert len(prediction.original_name) <= 255
    # shown back to the user escaped, never as markup
    page = user_client.get(prediction.get_absolute_url()).content.decode()
    assert '<img src=x onerror="alert(1)">' not in page


def test_oversized_upload_is_refused_before_decoding(user_client, installed_tiny_models, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.png", beat_image_bytes(size=256, seed=9) + bytes(2000))
    response = user_client.post(UPLOAD, {"images": big, "image_type": "auto"})
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()
    assert Prediction.objects.count() == 0 and media_files(settings) == []


def test_too_many_files_in_one_request_is_a_client_error(
    user_client, installed_tiny_models, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [
        SimpleUploadedFile(f"b{i}.png", beat_image_bytes(seed=i), content_type="image/png")
        for i in range(5)
    ]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert 400 <= response.status_code < 500
    assert Prediction.objects.count() == 0 and media_files(settings) == []


def test_unknown_image_type_is_refused(user_client, installed_tiny_models, settings):
    item = SimpleUploadedFile("b.png", beat_image_bytes(), content_type="image/png")
    response = user_client.post(UPLOAD, {"images": item, "image_type": "../../etc"})
    assert response.status_code == 400
    assert Prediction.objects.count() == 0 and media_files(settings) == []


@pytest.mark.parametrize("item", POLYGLOT_CORPUS, ids=lambda item: item.case)
def test_image_polyglots_are_only_ever_served_as_images(
    user_client, installed_tiny_models, settings, item
):
    response = user_client.post(UPLOAD, {"images": as_upload(item), "image_type": "auto"})
    if response.status_code == 400:
        assert Prediction.objects.count() == 0 and media_files(settings) == []
        return
    assert response.status_code == 302
    prediction = Prediction.objects.get()
    served = user_client.get(prediction.get_image_url())
    assert served["Content-Type"] in ("image/png", "image/jpeg")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in served["Content-Security-Policy"]
