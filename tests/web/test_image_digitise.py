"""The image upload with the digitiser wired in (issue 19): the own-format fast path, refusals
of non-ECG and foreign spectral images, uncertain answers, digitised single beats and strips.
Images are drawn in the tests from a synthetic ECG (tests.ml.conftest) by the benchmark's
independent renderers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from benchmarks import digitise_renderers as R
from classifier import model_service
from classifier.model_service import classify_image
from classifier.models import Prediction
from ecg.imaging.digitise import AMPLITUDE_PRIOR_MV, digitise
from ecg.imaging.images import load_image_for_model
from ecg.models.calibration import calibrated_probabilities
from ecg.models.registry import ModelRegistry
from tests.conftest import BEAT_FAVOURS, SPECTROGRAM_FAVOURS
from tests.factories import beat_image_bytes, foreign_spectrogram_bytes, spectrogram_image_bytes
from tests.ml.conftest import synthetic_ecg
from tests.model_outputs import assert_same_model_outputs

FS = 360.0
UPLOAD = reverse("classifier:upload")


@pytest.fixture(scope="module")
def lead():
    signal, peaks, _ = synthetic_ecg(n_beats=30, seed=1)
    return signal, peaks


def one_beat(lead) -> np.ndarray:
    signal, peaks = lead
    p = int(peaks[3])
    return signal[p - 90 : p + 162]


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def upload_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post_plot(client, image: Image.Image, trace_height_mv: str):
    """The image upload of one plot with the optional trace height."""
    data = {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto",
            "trace_height_mv": trace_height_mv}  # fmt: skip
    return client.post(UPLOAD, data)


def no_digitiser(*args, **kwargs):
    raise AssertionError("the digitiser must not run for an image in the app's own format")


# -- 1. the own-format fast path -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "favours"),
    [
        (beat_image_bytes(seed=3), "beat_image", BEAT_FAVOURS),
        (spectrogram_image_bytes(seed=3), "spectrogram", SPECTROGRAM_FAVOURS),
    ],
)
def test_own_format_is_classified_as_before_without_the_digitiser(
    tiny_models_dir, monkeypatch, data, kind, favours
):
    monkeypatch.setattr(model_service, "check_ecg_image", no_digitiser)
    monkeypatch.setattr(model_service, "beat_window", no_digitiser)
    registry = ModelRegistry(tiny_models_dir)
    image = Image.open(io.BytesIO(data))
    result = classify_image(image, image_type="auto", registry=registry)

    # Today's path, by hand: detect, load_image_for_model, the serving bundle, its calibration.
    bundle = registry.serving_bundle(kind=kind)
    pixels = load_image_for_model(image, size=bundle.image_size, kind=kind)
    calibration = bundle.metadata.get("calibration")
    expected = calibrated_probabilities(bundle.predict_proba(pixels[None]), calibration)[0]
    assert_same_model_outputs([list(result.probabilities.values())], [expected])
    assert (result.label, result.kind, result.kind_detected) == (favours, kind, True)
    assert (result.source, result.state, result.trace) == ("own_format", "classified", None)


# -- 2. not an ECG ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda: R.document(np.random.default_rng(1)),
        lambda: R.screenshot(np.random.default_rng(2)),
        lambda: R.noise_image(np.random.default_rng(3)),
        lambda: R.photo_like(np.random.default_rng(4)),
    ],
    ids=["text", "web_page", "noise", "photo"],
)
def test_no_ecg_trace_is_refused_and_nothing_stored(
    user_client, installed_tiny_models, settings, make
):
    response = user_client.post(
        UPLOAD, {"images": upload_file("x.png", png_bytes(make())), "image_type": "auto"}
    )
    assert response.status_code == 400
    assert "No ECG trace found in this image" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_foreign_spectral_image_is_refused_with_its_reason_and_the_format_link(
    user_client, installed_tiny_models, settings
):
    response = user_client.post(
        UPLOAD,
        {"images": upload_file("s.png", foreign_spectrogram_bytes()), "image_type": "spectrogram"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "not in our spectral-image format: another window" in body
    assert f"{UPLOAD}#spectral-format" in body
    assert 'id="spectral-format"' in body  # the documented format is on that page
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_foreign_colour_map_spectral_image_is_refused_in_auto_mode(
    user_client, installed_tiny_models, settings
):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # dense, coloured
    response = user_client.post(
        UPLOAD,
        {"images": upload_file("c.png", png_bytes(Image.fromarray(colour))), "image_type": "auto"},
    )
    assert response.status_code == 400
    assert "not in our spectral-image format: a colour map" in response.content.decode()
    assert Prediction.objects.count() == 0


@pytest.mark.django_db
def test_trace_unlike_an_ecg_is_stored_as_uncertain_everywhere(
    user, user_client, installed_tiny_models
):
    response = user_client.post(
        UPLOAD, {"images": upload_file("sine.png", png_bytes(R.sine_image())), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.state, p.source) == ("uncertain", "digitised")
    assert "does not look like an ECG" in p.state_reason
    assert p.shown_label == f"uncertain ({p.predicted_class}? or {p.runner_up})"

    detail = user_client.get(p.get_absolute_url()).content.decode()
    assert '<h1 class="h3">Uncertain' in detail
    heading = detail.split("<h1", 1)[1].split("</h1>", 1)[0]
    assert f"({p.predicted_class}? or {p.runner_up})" in heading  # said once, not "uncertain (...)"
    assert heading.lower().count("uncertain") == 1
    assert p.predicted_class_name not in detail.split("<h1", 1)[1].split("</h1>", 1)[0]
    history = user_client.get(reverse("pages:history")).content.decode()
    assert f"Uncertain</span> {p.shown_label}" in history.replace("&#x27;", "'")
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(user_client.get(reverse("classifier:export")).streaming_content).decode()
            )
        )
    )
    assert (rows[0]["state"], rows[0]["shown_label"]) == ("uncertain", p.shown_label)


# -- 3. digitised single beats ---------------------------------------------------------------


@pytest.fixture
def drawn(monkeypatch) -> dict:
    """What the upload handed to the renderer of the app's own beat image: ``drawn["window"]``,
    the beat windows (a spy on ``model_service.render``)."""
    seen: dict = {}
    real_render = model_service.render

    def spy(kind, windows, fs, params=None):
        seen["window"] = windows
        return real_render(kind, windows, fs, params)

    monkeypatch.setattr(model_service, "render", spy)
    return seen


@pytest.mark.django_db
def test_matplotlib_beat_is_digitised_redrawn_and_classified(
    user_client, installed_tiny_models, lead, drawn
):
    # Without tick labels (axes off) the scale is unknown: the amplitude prior.
    image = R.mpl_plot(one_beat(lead), FS, axes=False).image
    response = user_client.post(
        UPLOAD, {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.state, p.image_type) == (
        "digitised", "prior", "classified", "beat_image",
    )  # fmt: skip
    assert p.predicted_class == BEAT_FAVOURS
    # The app's own beat window (0.7 s at the model's 360 Hz) went to the renderer, at each of
    # the five prior amplitudes (no grid: the scale is unknown), the median one unscaled.
    windows = drawn["window"]
    assert windows.shape == (len(AMPLITUDE_PRIOR_MV), 252)
    ptp = np.ptp(windows, axis=1)
    np.testing.assert_allclose(ptp / ptp[2], np.array(AMPLITUDE_PRIOR_MV) / 2.0, rtol=1e-5)
    trace = p.digitised_trace
    assert (trace["width"], trace["height"]) == image.size
    assert 50 <= len(trace["x"]) <= model_service.TRACE_POINTS
    assert 0 <= min(trace["x"]) and max(trace["x"]) <= image.size[0]
    x0, x1 = trace["window_x"]
    assert 0 <= x0 < x1 <= image.size[0]

    detail = user_client.get(p.get_absolute_url()).content.decode()
    assert f'viewBox="0 0 {image.size[0]} {image.size[1]}"' in detail
    assert "<polyline points=" in detail and "ecg-trace-window" in detail
    assert (
        "Digitised from the image" in detail
        and "unknown (no grid): the answer is averaged over five typical beat amplitudes" in detail
    )
    assert "Know the trace's height?" in detail


@pytest.mark.django_db
def test_a_given_trace_height_is_the_scale_of_a_plot_without_one(
    user_client, installed_tiny_models, lead, drawn
):
    """A plot with neither grid nor tick labels, and the user knows how high its trace is: the
    beat is read once at that height instead of averaged over the prior (issue 19)."""
    beat = one_beat(lead)  # the 0.7-s window the app classifies, drawn whole
    image = R.mpl_plot(beat, FS, axes=False).image
    response = post_plot(user_client, image, "1.6")
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.trace_height_mv) == ("digitised", "given", 1.6)
    windows = drawn["window"]
    assert windows.shape == (1, 252)
    assert np.ptp(windows[0]) == pytest.approx(1.6, rel=0.1)
    detail = user_client.get(p.get_absolute_url()).content.decode()
    assert "given by you: the trace is 1.6 mV from its lowest to its highest point" in detail
    assert "Know the trace" not in detail  # the scale is known: no offer to give it
    export = b"".join(user_client.get(reverse("classifier:export")).streaming_content).decode()
    row = next(csv.DictReader(io.StringIO(export)))
    assert (row["scale_source"], row["trace_height_mv"]) == ("given", "1.6")


@pytest.mark.django_db
def test_a_scale_read_from_the_image_wins_over_a_given_height(
    user_client, installed_tiny_models, lead
):
    image = R.mpl_plot(one_beat(lead), FS).image  # tick labels every 0.2 mV
    response = post_plot(user_client, image, "5")
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.scale_source, p.trace_height_mv) == ("axis_labels", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("height", "message"),
    [("0.01", "greater than or equal to 0.1"), ("50", "less than or equal to 10.0"),
     ("tall", "Enter a number")],
)  # fmt: skip
def test_a_trace_height_out_of_range_is_refused_and_nothing_stored(
    user_client, installed_tiny_models, lead, settings, height, message
):
    image = R.mpl_plot(one_beat(lead), FS, axes=False).image
    response = post_plot(user_client, image, height)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Prediction.objects.count() == 0 and stored_files(settings) == []


@pytest.mark.django_db
def test_matplotlib_plot_with_tick_labels_reads_its_scale_from_the_axis(
    user_client, installed_tiny_models, lead, drawn
):
    beat = one_beat(lead)
    image = R.mpl_plot(beat, FS).image  # default matplotlib: ticks every 0.2 mV and 0.1 s
    response = user_client.post(
        UPLOAD, {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.scale_step_mv) == ("digitised", "axis_labels", 0.2)
    # One window (no prior averaging), in mV: its R wave about the beat's own height.
    windows = drawn["window"]
    assert windows.shape == (1, 252)
    assert np.ptp(windows[0]) == pytest.approx(np.ptp(beat), rel=0.25)
    detail = user_client.get(p.get_absolute_url()).content.decode()
    assert "read from the axis labels (0.2 mV per tick)" in detail
    api = user_client.get(reverse("api:prediction-detail", args=[p.pk])).json()
    assert (api["scale_source"], api["scale_step_mv"]) == ("axis_labels", 0.2)


def test_the_shaded_window_is_the_one_classified_around_the_r_wave(lead):
    # A beat drawn centred (its R 0.35 s into a 0.7-s trace), with an S wave deeper than its R
    # is tall: the window starts 0.1 s into the trace (0.25 s before the R), not 0.25 s before
    # the S wave.
    signal, peaks = lead
    p = int(peaks[3])
    beat = signal[p - 126 : p + 126].copy()
    beat[126 + 14 : 126 + 20] = beat[126] * -1.1  # an S wave a little deeper than the R
    image = R.pillow_line(beat, width=700, height=300).image
    trace = model_service.trace_overlay(digitise(image), image.size)
    x0, x1 = trace["window_x"]
    first, last = trace["x"][0], trace["x"][-1]
    assert x0 == pytest.approx(first + (last - first) * 0.1 / 0.7, abs=6)
    assert x1 == pytest.approx(last, abs=2)  # the window runs past the trace's end


@pytest.mark.django_db
def test_ecg_paper_beat_reads_its_scale_from_the_grid(user_client, installed_tiny_models, lead):
    image = R.jpeg(R.ecg_paper(one_beat(lead), FS), quality=70).image
    response = user_client.post(
        UPLOAD, {"images": upload_file("paper.jpg", png_bytes(image, "JPEG")), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source) == ("digitised", "grid")
    assert "read from the ECG-paper grid" in user_client.get(p.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_photo_with_a_shadow_is_evened_and_says_so(user_client, installed_tiny_models, lead):
    """A beat on ECG paper photographed with a shadow over its left half: read at the grid once
    the light is evened; the page, the PDF's details and the API's trace say so."""
    from reports.services import _reading_details
    from tests.ml.test_lighting import shadowed

    photo = shadowed(R.ecg_paper(one_beat(lead), FS, px_per_mm=10.0).image, 0.45, share=0.5)
    response = user_client.post(
        UPLOAD, {"images": upload_file("photo.jpg", png_bytes(photo, "JPEG")), "image_type": "auto"}
    )
    assert response.status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.lighting_evened) == ("digitised", "grid", True)
    assert (
        "uneven lighting (as in a photo) was evened out"
        in user_client.get(p.get_absolute_url()).content.decode()
    )
    assert ("Lighting", "uneven (as in a photo): evened out before the trace was read") in (
        _reading_details(p)
    )
    api = user_client.get(reverse("api:prediction-detail", args=[p.pk])).json()
    assert api["digitised_trace"]["lighting_evened"] is True


@pytest.mark.django_db
def test_a_photo_under_a_warm_lamp_has_its_cast_taken_out_and_says_so(
    user_client, installed_tiny_models, lead
):
    """A beat on grey ECG paper under a lamp's warm cast: read at its grid once the cast is
    taken out; the page, the PDF's details and the API's trace say so."""
    from reports.services import _reading_details
    from tests.ml.test_lighting import WARM_STRONG, under_light

    photo = under_light(R.ecg_paper(one_beat(lead), FS, **R.GREY_PAPER).image, WARM_STRONG)
    data = {"images": upload_file("lamp.jpg", png_bytes(photo.convert("RGB"), "JPEG"))}
    assert user_client.post(UPLOAD, data | {"image_type": "auto"}).status_code == 302
    p = Prediction.objects.get()
    assert (p.source, p.scale_source, p.colour_cast_removed) == ("digitised", "grid", True)
    page = user_client.get(p.get_absolute_url()).content.decode()
    assert "the light's colour cast (as in a photo) was taken out first" in page
    assert ("Colour cast", "of the light (as in a photo): taken out before the trace was read") in (
        _reading_details(p)
    )
    api = user_client.get(reverse("api:prediction-detail", args=[p.pk])).json()
    assert api["digitised_trace"]["colour_cast_removed"] is True


@pytest.mark.django_db
def test_a_photo_showing_the_desk_is_refused_with_a_request_to_crop(
    user_client, installed_tiny_models, settings, lead
):
    from tests.ml.test_lighting import on_desk

    photo = on_desk(R.ecg_paper(one_beat(lead), FS, px_per_mm=10.0).image, (120, 85, 60), 80)
    response = user_client.post(
        UPLOAD, {"images": upload_file("desk.jpg", png_bytes(photo, "JPEG")), "image_type": "auto"}
    )
    assert response.status_code == 400
    assert "crop the photo to the paper" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_an_evenly_lit_image_does_not_say_its_light_was_evened(
    user_client, installed_tiny_models, lead
):
    image = R.ecg_paper(one_beat(lead), FS).image
    data = {"images": upload_file("p.png", png_bytes(image)), "image_type": "auto"}
    user_client.post(UPLOAD, data)
    p = Prediction.objects.get()
    assert p.source == "digitised" and not p.lighting_evened and not p.colour_cast_removed
    page = user_client.get(p.get_absolute_url()).content.decode()
    assert "evened out" not in page and "colour cast" not in page


@pytest.mark.django_db
def test_poorly_read_trace_is_uncertain(user_client, installed_tiny_models, lead, monkeypatch):
    monkeypatch.setattr(model_service, "MIN_CONFIDENT_QUALITY", 1.01)  # no trace is that good
    image = R.mpl_plot(one_beat(lead), FS).image
    user_client.post(
        UPLOAD, {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto"}
    )
    p = Prediction.objects.get()
    assert p.state == "uncertain" and "read poorly" in p.state_reason


# -- 5. strips -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_strip_is_refused_with_a_pointer_to_recordings(
    user_client, installed_tiny_models, lead, settings
):
    strip = lead[0][360 : 360 + 3600]
    image = R.pillow_line(strip, width=1600, height=400).image
    response = user_client.post(
        UPLOAD, {"images": upload_file("strip.png", png_bytes(image)), "image_type": "auto"}
    )
    assert response.status_code == 400
    assert "strip of several beats" in response.content.decode()
    assert "reads a strip image as a recording" in response.content.decode()
    assert reverse("recordings:upload") in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_a_printout_with_several_rows_is_refused_with_a_pointer_to_recordings(
    user_client, installed_tiny_models, settings
):
    from tests.printouts import printout

    image = printout("3x4+rhythm")
    response = user_client.post(
        UPLOAD, {"images": upload_file("ecg.png", png_bytes(image)), "image_type": "auto"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "ECG printout with 4 rows of leads" in text
    assert "upload an image of one beat" in text
    assert reverse("recordings:upload") in text
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []


# -- ownership -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_digitised_prediction_and_its_trace_are_private(
    user_client, installed_tiny_models, lead, client, other_user
):
    image = R.mpl_plot(one_beat(lead), FS).image
    user_client.post(
        UPLOAD, {"images": upload_file("plot.png", png_bytes(image)), "image_type": "auto"}
    )
    p = Prediction.objects.get()
    client.force_login(other_user)
    assert client.get(p.get_absolute_url()).status_code == 404
    assert "plot.png" not in client.get(reverse("pages:history")).content.decode()


def test_a_beat_under_the_calibrated_threshold_is_uncertain_digitised_or_own_format(
    tiny_models_dir, lead, monkeypatch
):
    monkeypatch.setattr(model_service, "uncertain_threshold", lambda metadata: 0.9999)
    registry = ModelRegistry(tiny_models_dir)
    digitised = classify_image(R.mpl_plot(one_beat(lead), FS).image, registry=registry)
    assert digitised.state == "uncertain" and "calibrated" in digitised.state_reason
    # The fast path's answer is judged alike (issue 18), its reading of the image unchanged.
    own = classify_image(Image.open(io.BytesIO(beat_image_bytes())), registry=registry)
    assert (own.source, own.state) == ("own_format", "uncertain")
    assert "calibrated 100%" in own.state_reason
    monkeypatch.setattr(model_service, "uncertain_threshold", lambda metadata: 0.0)
    sure = classify_image(Image.open(io.BytesIO(beat_image_bytes())), registry=registry)
    assert (sure.state, sure.state_reason) == ("classified", "")


@pytest.mark.parametrize("kind", ["beat_image", "spectrogram"])
def test_the_format_examples_are_in_our_format_and_take_the_fast_path(
    user_client, installed_tiny_models, kind, monkeypatch
):
    page = user_client.get(reverse("classifier:upload")).content.decode()
    url = reverse("classifier:format_example", args=[kind])
    assert url in page
    response = user_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    monkeypatch.setattr(model_service, "check_ecg_image", no_digitiser)
    result = classify_image(Image.open(io.BytesIO(response.content)), image_type="auto")
    assert result.kind == kind and result.kind_detected


def test_an_unknown_format_example_is_a_404(user_client):
    assert user_client.get(reverse("classifier:format_example", args=["photo"])).status_code == 404


@pytest.mark.django_db
def test_a_batch_names_every_refused_file_once_and_stores_nothing(
    user_client, installed_tiny_models, settings
):
    files = [
        upload_file("good.png", beat_image_bytes()),
        upload_file("holiday.png", png_bytes(R.photo_like(np.random.default_rng(4)))),
        upload_file("letter.png", png_bytes(R.document(np.random.default_rng(1)))),
    ]
    response = user_client.post(UPLOAD, {"images": files, "image_type": "auto"})
    assert response.status_code == 400
    page = response.content.decode()
    # Both refused files are named, each message shown once, the readable file not blamed.
    assert page.count("“holiday.png”: No ECG trace found in this image") == 1
    assert page.count("“letter.png”: No ECG trace found in this image") == 1
    assert "“good.png”" not in page
    assert "Nothing was stored. The other 1 file(s) could be read" in page
    # The checker's reason is not repeated inside its own sentence.
    assert "(no ECG trace found" not in page
    assert Prediction.objects.count() == 0
    assert stored_files(settings) == []
