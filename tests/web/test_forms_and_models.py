"""The upload and filter forms, and the Prediction model's own behaviour."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict
from PIL import Image

from classifier.forms import PredictionFilterForm, UploadForm
from classifier.models import Prediction, prediction_upload_to
from tests.factories import beat_image_bytes, spectrogram_image_bytes


def upload_form(files, **data):
    return UploadForm({"image_type": "auto", **data}, MultiValueDict({"images": list(files)}))


def test_upload_form_accepts_several_files():
    files = [
        SimpleUploadedFile("a.png", beat_image_bytes()),
        SimpleUploadedFile("b.jpg", spectrogram_image_bytes("JPEG")),
    ]
    form = upload_form(files, patient_reference="P-7/2024", note="n")
    assert form.is_valid(), form.errors
    assert [f.name for f in form.cleaned_data["images"]] == ["a.png", "b.jpg"]


def test_upload_form_reports_every_bad_file_by_name():
    files = [
        SimpleUploadedFile("empty.png", b""),
        SimpleUploadedFile("ok.png", beat_image_bytes()),
        SimpleUploadedFile("text.bmp", b"just text"),
    ]
    form = upload_form(files)
    assert not form.is_valid()
    messages = form.errors["images"]
    assert len(messages) == 2
    assert "“empty.png” is empty." in messages
    assert any("text.bmp" in m and "not an image" in m for m in messages)


@pytest.mark.parametrize("reference", ["<b>", "John; DROP", "a" * 65])
def test_patient_reference_must_be_a_short_code(reference):
    form = upload_form([SimpleUploadedFile("a.png", beat_image_bytes())],
                       patient_reference=reference)  # fmt: skip
    assert not form.is_valid() and "patient_reference" in form.errors


def test_image_type_must_be_a_known_choice():
    form = upload_form([SimpleUploadedFile("a.png", beat_image_bytes())], image_type="ecg")
    assert not form.is_valid() and "image_type" in form.errors


def test_filter_form_drops_invalid_values_and_checks_date_order():
    form = PredictionFilterForm({"predicted_class": "V", "image_type": "bogus", "q": " x "})
    assert form.filters() == {"predicted_class": "V", "q": "x"}
    form = PredictionFilterForm({"date_from": "2026-02-02", "date_to": "2026-01-01"})
    assert form.filters() == {"date_from": dt.date(2026, 2, 2), "date_to": dt.date(2026, 1, 1)}
    assert form.errors["__all__"] == ["“From” must not be after “To”."]
    assert PredictionFilterForm().filters() == {}


def test_upload_path_is_random_and_keeps_no_part_of_the_name():
    first = prediction_upload_to(None, "Jane Doe 1961-03-02.PNG")
    second = prediction_upload_to(None, "Jane Doe 1961-03-02.PNG")
    assert first != second
    assert first.startswith("uploads/") and first.endswith(".png")
    assert "Jane" not in first and "1961" not in first


def test_prediction_display_helpers():
    p = Prediction(
        pk=7,
        original_name="x.png",
        predicted_class="V",
        confidence=0.8734,
        probabilities={"L": 0.01, "N": 0.1, "A": 0.0166, "V": 0.8734, "R": 0.0, "!": 0.0},
    )
    assert str(p) == "x.png: V (87%)"
    assert p.predicted_class_name == "Premature Ventricular Contraction"
    assert p.confidence_percent == 87.3
    rows = p.probability_rows()
    assert [r["code"] for r in rows] == ["L", "N", "A", "V", "R", "!"]
    assert [r["is_predicted"] for r in rows].count(True) == 1
    assert rows[3]["percent"] == 87.3
    assert p.get_absolute_url() == "/predictions/7/"
    assert p.get_thumbnail_url() == "/predictions/7/image/?thumb=1"


def test_probabilities_come_back_in_label_order_whatever_the_database_order():
    # PostgreSQL's jsonb sorts object keys; display and export must not follow it.
    p = Prediction(
        predicted_class="A",
        confidence=0.5,
        probabilities={"!": 0.1, "A": 0.5, "L": 0.1, "N": 0.1, "R": 0.1, "V": 0.1},
    )
    assert [r["code"] for r in p.probability_rows()] == ["L", "N", "A", "V", "R", "!"]


def test_upload_form_keeps_at_most_one_size_limit_of_decoded_pixels(settings):
    first = Image.open(io.BytesIO(beat_image_bytes()))
    settings.UPLOAD_MAX_PIXELS = first.width * first.height  # room for exactly one image
    files = [SimpleUploadedFile(n, beat_image_bytes(seed=i)) for i, n in enumerate("ab")]
    form = upload_form(files)
    assert form.is_valid(), form.errors
    held, dropped = form.cleaned_data["images"]
    assert held.image is not None and dropped.image is None
    assert dropped.decoded().size == held.decoded().size  # decoded again when needed
