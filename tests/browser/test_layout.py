"""Layout in a real browser: the pages fit a 390 px phone screen, the result page names the
class before the picture on a phone, and the history filters show their whole choice."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from classifier import services as prediction_services
from recordings import services as recording_services
from recordings.models import Recording
from tests.factories import beat_image_bytes, build_tiny_bundle
from tests.recordings.synth import beat_times, ecg, write_wfdb

from .test_journeys import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
FS = 360.0


@pytest.fixture
def records(settings, tmp_path, installed_tiny_models):
    """One user with an image prediction and an analysed two-lead WFDB recording (with .atr)."""
    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    for model in installed_tiny_models.iterdir():
        (settings.MODELS_DIR / model.name).symlink_to(model)
    build_tiny_bundle(settings.MODELS_DIR, "tiny_recording", task="recording")
    settings.RECORDING_TASKS_SYNC = True
    reset_model_registry()
    user = get_user_model().objects.create_user("layout-user", password=PASSWORD)
    prediction = prediction_services.prediction_create(
        owner=user,
        uploaded_file=SimpleUploadedFile("a-long-file-name-of-a-beat.png", beat_image_bytes()),
        patient_reference="PAT-0001",
    )
    times = beat_times(30.0, rr_s=0.8, premature_every=5)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if i % 5 == 4 else "N" for i in range(len(truth))]
    signals = np.stack([ecg(FS, 30.0, times), 0.6 * ecg(FS, 30.0, times, seed=2)])
    files = write_wfdb(tmp_path / "wfdb", "layout", signals, FS, ["MLII", "V1"], truth, symbols)
    recording = recording_services.recording_create(
        owner=user,
        files=[SimpleUploadedFile(name, content) for name, content in files.items()],
        patient_reference="PAT-0001",
    )
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DONE, recording.error
    yield {"prediction": prediction, "recording": recording}
    reset_model_registry()


def page_width(page) -> tuple[int, list[str]]:
    """The page's scroll width, and what reaches past the screen's right edge (for the
    message): the outermost such elements, each as tag.class."""
    return page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth;
            const past = [...document.querySelectorAll('body *')].filter(
                e => e.getBoundingClientRect().right > edge + 0.5);
            const outer = past.filter(e => !past.includes(e.parentElement));
            return [document.scrollingElement.scrollWidth,
                    outer.map(e => `${e.tagName.toLowerCase()}.${e.className}`)];
        }"""
    )


def test_pages_fit_a_phone_screen(page, screenshot, records):
    log_in(page, "layout-user")
    page.set_viewport_size(PHONE)
    pages = {
        "history": "/predictions/",
        "recording": records["recording"].get_absolute_url(),
        "recordings": "/recordings/",
        "result": records["prediction"].get_absolute_url(),
    }
    widths = {}
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"phone-{name}")
        width, past = page_width(page)
        widths[name] = (width, past if width > PHONE["width"] else [])
    assert widths == {name: (PHONE["width"], []) for name in pages}


def test_result_page_names_the_class_before_the_image_on_a_phone(page, records):
    log_in(page, "layout-user")
    page.set_viewport_size(PHONE)
    page.goto(records["prediction"].get_absolute_url())
    heading = page.locator("main h1").bounding_box()
    image = page.locator("main img.ecg-result-image").bounding_box()
    assert heading["y"] + heading["height"] <= image["y"]
    page.set_viewport_size({"width": 1280, "height": 860})  # side by side on a wide screen
    heading = page.locator("main h1").bounding_box()
    image = page.locator("main img.ecg-result-image").bounding_box()
    assert image["x"] + image["width"] <= heading["x"]


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_history_filters_show_their_whole_choice(page, records, width):
    """Each select is wide enough for its longest option (the "Kind" one was cut off)."""
    log_in(page, "layout-user")
    page.set_viewport_size({"width": width, "height": 860})
    page.goto("/predictions/")
    cut = page.evaluate(
        """() => [...document.querySelectorAll('main form select')].flatMap(select => {
            const style = getComputedStyle(select);
            const ctx = document.createElement('canvas').getContext('2d');
            ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            const room = select.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return [...select.options]
                .filter(o => ctx.measureText(o.text).width > room)
                .map(o => `${select.name}: ${o.text}`);
        })"""
    )
    assert cut == []
