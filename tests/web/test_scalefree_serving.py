"""Which beat model answers an image upload (issue 19): a beat digitised without a grid (its
amplitude assumed) goes to the scale-free single-beat model; an ECG-paper beat (grid scale) and
an image in the app's own format keep the millivolt model, the own format its exact fast path."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from benchmarks import digitise_renderers as R
from classifier import model_service
from classifier.model_service import classify_image
from classifier.models import Prediction
from ecg.imaging.images import load_image_for_model
from ecg.models.registry import ModelRegistry
from tests.conftest import BEAT_FAVOURS
from tests.factories import beat_image_bytes, build_tiny_bundle
from tests.ml.conftest import synthetic_ecg
from tests.model_outputs import assert_same_model_outputs
from tests.web.test_image_digitise import png_bytes, upload_file

FS = 360.0
UPLOAD = reverse("classifier:upload")
SCALE_FREE_FAVOURS = "R"  # a class the millivolt tiny model (BEAT_FAVOURS) does not favour
SCALE_FREE_PARAMS = {"amplitude": "normalised_ptp", "ptp_mv": 2.0}


@pytest.fixture(scope="module")
def beat() -> np.ndarray:
    signal, peaks, _ = synthetic_ecg(n_beats=30, seed=1)
    p = int(peaks[3])
    return signal[p - 90 : p + 162]


@pytest.fixture(scope="module")
def with_scale_free(tiny_models_dir, tmp_path_factory) -> Path:
    """The tiny models plus a tiny scale-free beat model, first by file name ("a-..."), so
    only the registry's amplitude rule keeps it from answering millivolt requests."""
    folder = tmp_path_factory.mktemp("scalefree-models")
    for path in tiny_models_dir.iterdir():
        if path.is_file():
            shutil.copy(path, folder / path.name)
    build_tiny_bundle(
        folder,
        "a-scalefree",
        kind="beat_image",
        seed=5,
        favour=SCALE_FREE_FAVOURS,
        representation={"kind": "beat_image", "params": SCALE_FREE_PARAMS},
    )
    return folder


def test_registry_serves_the_scale_free_model_only_for_an_unknown_amplitude(
    with_scale_free, tiny_models_dir
):
    registry = ModelRegistry(with_scale_free)
    assert registry.find(task="image", kind="beat_image").stem == "tiny-beat"
    assert registry.find(task="image", kind="beat_image", amplitude="unknown").stem == (
        "a-scalefree"
    )
    assert registry.installed_image_kinds() == ["beat_image", "spectrogram"]
    # Named in settings (IMAGE_MODELS) under its own key; never under "beat_image".
    named = ModelRegistry(with_scale_free, preferred={"beat_image": "a-scalefree"})
    assert named.find(task="image", kind="beat_image").stem == "tiny-beat"
    # None installed: the millivolt model answers (the app as before).
    plain = ModelRegistry(tiny_models_dir)
    assert plain.find(task="image", kind="beat_image", amplitude="unknown").stem == "tiny-beat"
    with pytest.raises(ValueError):
        plain.find(task="image", kind="beat_image", amplitude="maybe")


@pytest.mark.django_db
def test_a_plot_without_a_grid_is_answered_by_the_scale_free_model(
    user_client, settings, with_scale_free, beat
):
    settings.MODELS_DIR = with_scale_free
    image = R.pillow_line(beat, width=500, height=300).image
    response = user_client.post(
        UPLOAD, {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.model_name) == ("digitised", "assumed", "a-scalefree")
    assert p.predicted_class == SCALE_FREE_FAVOURS
    detail = user_client.get(p.get_absolute_url()).content.decode()
    assert "a-scalefree" in detail and "assumed (no grid" in detail
    api = user_client.get(reverse("api:prediction-detail", args=[p.pk])).json()
    assert api["model"]["name"] == "a-scalefree" and api["scale_source"] == "assumed"
    # The PDF report of a model without a metrics file still renders (accuracy "not measured").
    pdf = user_client.get(reverse("reports:prediction-report", args=[p.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_an_ecg_paper_beat_keeps_the_millivolt_model(user_client, settings, with_scale_free, beat):
    settings.MODELS_DIR = with_scale_free
    image = R.ecg_paper(beat, FS).image
    user_client.post(
        UPLOAD, {"images": upload_file("paper.png", png_bytes(image)), "image_type": "auto"}
    )
    p = Prediction.objects.get()
    assert (p.scale_source, p.model_name, p.predicted_class) == ("grid", "tiny-beat", "V")


@pytest.mark.django_db
def test_a_plot_with_its_trace_height_given_keeps_the_millivolt_model(
    user_client, settings, with_scale_free, beat
):
    """The height makes the amplitude known: the millivolt model reads it, not the scale-free
    one, and the PDF says where the scale came from."""
    settings.MODELS_DIR = with_scale_free
    image = R.pillow_line(beat, width=500, height=300).image
    user_client.post(
        UPLOAD,
        {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto",
         "trace_height_mv": "2.2"},
    )  # fmt: skip
    p = Prediction.objects.get()
    assert (p.scale_source, p.model_name, p.trace_height_mv) == ("given", "tiny-beat", 2.2)
    pdf = user_client.get(reverse("reports:prediction-report", args=[p.pk]))
    data = b"".join(pdf.streaming_content)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "given by you" in " ".join(text.split())


def test_the_own_format_fast_path_is_unchanged_with_a_scale_free_model_installed(
    with_scale_free, monkeypatch
):
    def no_digitiser(*args, **kwargs):
        raise AssertionError("the digitiser must not run for an image in the app's own format")

    monkeypatch.setattr(model_service, "check_ecg_image", no_digitiser)
    registry = ModelRegistry(with_scale_free)
    image = Image.open(io.BytesIO(beat_image_bytes(seed=3)))
    result = classify_image(image, image_type="auto", registry=registry)
    bundle = registry.serving_bundle(kind="beat_image")
    assert bundle.name == result.model_name == "tiny-beat"
    pixels = load_image_for_model(image, size=bundle.image_size, kind="beat_image")
    expected = bundle.predict_proba(pixels[None])[0]
    assert_same_model_outputs([list(result.probabilities.values())], [expected])
    assert (result.label, result.source) == (BEAT_FAVOURS, "own_format")
    meta = json.loads((with_scale_free / "a-scalefree.json").read_text())
    assert meta["representation"]["params"]["amplitude"] == "normalised_ptp"
