"""The API's image upload with the digitiser (issue 19): refusals are 400 with the sentence and
store nothing; uncertain answers say so; digitised predictions carry how they were read; the
PDF of an uncertain answer prints no diagnosis."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image
from pypdf import PdfReader

from benchmarks import digitise_renderers as R
from classifier.models import Prediction
from tests.api.conftest import upload
from tests.factories import foreign_spectrogram_bytes
from tests.ml.conftest import synthetic_ecg

pytestmark = pytest.mark.django_db


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def matplotlib_beat() -> bytes:
    signal, peaks, _ = synthetic_ecg(n_beats=10, seed=2)
    p = int(peaks[3])
    return png(R.mpl_plot(signal[p - 90 : p + 162], 360.0).image)


def test_no_ecg_trace_is_400_with_the_sentence_and_nothing_stored(alice_api, installed_tiny_models):
    response = upload(alice_api, png(R.document(np.random.default_rng(5))), name="page.png")
    assert response.status_code == 400
    assert "No ECG trace found in this image" in str(response.json())
    assert Prediction.objects.count() == 0 and stored_files() == []


def test_foreign_spectral_image_is_400(alice_api, installed_tiny_models):
    response = upload(alice_api, foreign_spectrogram_bytes(), image_type="spectrogram")
    assert response.status_code == 400
    assert "not in our spectral-image format" in str(response.json())
    assert Prediction.objects.count() == 0 and stored_files() == []


def test_digitised_beat_says_how_it_was_read(alice_api, bob_api, installed_tiny_models):
    response = upload(alice_api, matplotlib_beat(), name="plot.png")
    assert response.status_code == 201, response.json()
    body = response.json()
    # A matplotlib plot with numbered axes: its scale is read from the tick labels (issue 19).
    assert (body["source"], body["scale_source"], body["state"]) == (
        "digitised",
        "axis_labels",
        "classified",
    )
    assert body["scale_step_mv"] == 0.2
    assert body["shown_label"] == body["predicted_class"]
    assert len(body["digitised_trace"]["x"]) == len(body["digitised_trace"]["y"]) > 50
    # Bob sees neither the prediction nor its trace.
    assert bob_api.get(f"/api/v1/predictions/{body['id']}/").status_code == 404


def test_unlike_ecg_is_uncertain_in_the_api_and_the_pdf(
    alice_api, user_client, installed_tiny_models
):
    response = upload(alice_api, png(R.sine_image()), name="sine.png")
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "uncertain"
    assert body["shown_label"].startswith(f"uncertain ({body['predicted_class']}? or ")

    report = user_client.get(f"/reports/predictions/{body['id']}/report.pdf")
    assert report.status_code == 200
    text = PdfReader(io.BytesIO(b"".join(report.streaming_content))).pages[0].extract_text()
    assert "uncertain (" in text and "Uncertain because" in text
    # The class row names no diagnosis (class names appear only in the probability table).
    assert f"Class {body['shown_label']}" in text.replace("\n", " ")
    assert "No heat map" in text  # the model never saw these pixels


def bare_beat() -> bytes:
    signal, peaks, _ = synthetic_ecg(n_beats=10, seed=2)
    p = int(peaks[3])
    return png(R.mpl_plot(signal[p - 90 : p + 162], 360.0, axes=False).image)


def test_a_given_trace_height_reads_a_bare_plot_at_that_scale(alice_api, installed_tiny_models):
    response = upload(alice_api, bare_beat(), name="plot.png", trace_height_mv=2.4)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["scale_source"], body["trace_height_mv"]) == ("given", 2.4)
    without = upload(alice_api, bare_beat(), name="plot.png").json()
    assert (without["scale_source"], without["trace_height_mv"]) == ("prior", None)


def test_a_trace_height_out_of_range_is_400_and_nothing_stored(alice_api, installed_tiny_models):
    response = upload(alice_api, bare_beat(), name="plot.png", trace_height_mv=25)
    assert response.status_code == 400
    assert "less than or equal to 10.0" in response.json()["errors"]["trace_height_mv"][0]
    assert Prediction.objects.count() == 0 and stored_files() == []
