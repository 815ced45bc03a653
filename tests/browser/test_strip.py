"""The recording report's ECG strip (recordings/static/recordings/strip.js) in a real browser:
upload a WFDB recording, watch the strip draw its first page, page forward, open a beat with
the mouse and step to the next one with the keyboard, and jump to the next beat of a class.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from recordings.models import Recording
from tests.factories import build_tiny_bundle
from tests.recordings.synth import beat_times, ecg, write_wfdb

from .test_journeys import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

FS = 360.0
DURATION = 40.0
CAPTION = re.compile(r"^(\d+\.\d)–(\d+\.\d) s of 40 s; (\d+) beats\. Click a beat for details\.$")


@pytest.fixture
def recording_files(tmp_path) -> list[Path]:
    times = beat_times(DURATION, rr_s=0.8, premature_every=5)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if i % 5 == 4 else "N" for i in range(len(truth))]
    signal = np.stack([ecg(FS, DURATION, times), 0.6 * ecg(FS, DURATION, times, seed=2)])
    folder = tmp_path / "strip"
    files = write_wfdb(folder, "strip", signal, FS, ["MLII", "V1"], truth, symbols)
    return [folder / name for name in files]


@pytest.fixture
def recording_env(settings, tmp_path):
    """Private media, a tiny real recording model, analyses run inside the upload request."""
    from ecgsite.model_registry import reset_model_registry

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    build_tiny_bundle(settings.MODELS_DIR, "tiny_recording", task="recording")
    settings.RECORDING_TASKS_SYNC = True
    reset_model_registry()
    yield settings
    reset_model_registry()


def caption(page) -> tuple[float, float, int]:
    locator = page.locator("#strip-caption")
    locator.filter(has_text=CAPTION).wait_for()
    start, end, beats = CAPTION.match(locator.inner_text()).groups()
    return float(start), float(end), int(beats)


def test_the_strip_pages_through_the_recording_and_opens_beats(
    page, screenshot, recording_env, recording_files
):
    get_user_model().objects.create_user("strip-user", password=PASSWORD)
    log_in(page, "strip-user")
    page.goto("/recordings/upload/")
    page.set_input_files("#id_files", [str(p) for p in recording_files])
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Upload and analyse").click()
    recording = Recording.objects.get()
    page.goto(f"/recordings/{recording.pk}/")

    # the first page: 10 s drawn, beats counted from the server's strip data
    start, end, beats = caption(page)
    assert (start, end) == (0.0, 10.0) and 8 <= beats <= 14  # one beat each 0.8 s
    # something was drawn: the canvas is no longer blank
    painted = page.evaluate(
        """() => {
            const c = document.getElementById('strip-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 1000

    page.click("#strip-next")
    page.locator("#strip-caption").filter(has_text=re.compile(r"^10\.0–20\.0 s")).wait_for()
    assert page.input_value("#strip-start") == "10"

    # click the first beat of the page: the detail card shows its class and probabilities
    strip = page.evaluate("() => fetch(document.getElementById('strip').dataset.stripUrl"
                          " + '?start=10&seconds=10').then(r => r.json())")  # fmt: skip
    first = strip["beats"][0]
    # The canvas may sit below the fold (the page grows above it): bring it into view first.
    page.locator("#strip-canvas").scroll_into_view_if_needed()
    box = page.locator("#strip-canvas").bounding_box()
    page.mouse.click(box["x"] + (first["t"] - 10.0) / 10.0 * box["width"], box["y"] + 100)
    title = page.locator("#beat-title")
    title.filter(has_text=f"Beat {first['index']} at").wait_for()
    assert re.search(r": .+ \(\d+\.\d %\)", title.inner_text())
    classes = page.locator("#strip-class option").count()
    assert page.locator("#beat-probabilities tr").count() == classes >= 2
    assert page.locator("#beat-image").get_attribute("src").endswith(f"/{first['index']}.png")

    # the keyboard walks to the next beat
    page.focus("#strip-canvas")
    page.keyboard.press("ArrowRight")
    second = strip["beats"][1]
    title.filter(has_text=f"Beat {second['index']} at").wait_for()
    screenshot(page, "recording-strip")

    # jump to the next beat of a class: the page centres on the one the server finds after
    # the middle of the current page
    label = strip["beats"][-1]["label"]
    found = page.evaluate(
        "label => fetch(document.getElementById('strip').dataset.findUrl"
        " + '?after=15&direction=next&label=' + label).then(r => r.json())",
        label,
    )
    assert found["time_s"] is not None  # the last beat of the page lies after its middle
    page.select_option("#strip-class", label)
    page.click("#strip-find-next")
    expected = min(max(found["time_s"] - 5.0, 0.0), DURATION - 10.0)
    page.locator("#strip-caption").filter(has_text=re.compile(rf"^{expected:.1f}–")).wait_for()


def test_an_unreadable_stretch_is_drawn_greyed(page, recording_env, tmp_path):
    """60 s of ECG with loud noise over 20-35 s: on the strip the noisy stretch is greyed and
    says so, its beats carry no class; the clean stretch beside it is not greyed."""
    times = beat_times(60.0)
    x = ecg(FS, 60.0, times)
    x[int(20 * FS) : int(35 * FS)] = np.random.default_rng(1).normal(0, 0.5, int(15 * FS))
    path = tmp_path / "noisy.csv"
    path.write_text("\n".join(f"{v:.4f}" for v in x) + "\n")
    get_user_model().objects.create_user("grey-user", password=PASSWORD)
    log_in(page, "grey-user")
    page.goto("/recordings/upload/")
    page.set_input_files("#id_files", [str(path)])
    page.fill("#id_sampling_rate", "360")
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Upload and analyse").click()
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE, recording.error
    page.goto(f"/recordings/{recording.pk}/")
    page.locator("#strip-caption").filter(has_text="s of 60 s").wait_for()
    page.fill("#strip-start", "15")
    page.dispatch_event("#strip-start", "change")
    page.locator("#strip-caption").filter(has_text="Grey: unreadable").wait_for()
    # Top row of the canvas (above the beat labels, where no trace is drawn): grey over the
    # noisy stretch, blank over the clean one. 10-s page from 15 s: 20-35 s is x >= 50 %.
    pixels = page.evaluate(
        """() => {
            const c = document.getElementById('strip-canvas'), ctx = c.getContext('2d');
            const at = (share) =>
                Array.from(ctx.getImageData(Math.round(share * c.width), 2, 1, 1).data);
            return {noisy: at(0.75), clean: at(0.25)};
        }"""
    )
    r, g, b, alpha = pixels["noisy"]
    assert alpha > 0 and abs(r - g) < 8 and abs(g - b) < 8  # grey
    assert pixels["clean"][3] == 0


def test_an_event_link_jumps_the_strip_to_a_pause_drawn_as_a_band(page, recording_env, tmp_path):
    """A real 2.4-s pause (10.1-12.5 s): the Events list links to it, the link moves the strip
    there, and the pause is a translucent band under the trace; beside it, nothing."""
    times = beat_times(40.0)
    times = times[~((times > 10.5) & (times < 12.1))]  # beats at 10.1 and 12.5 s
    path = tmp_path / "pause.csv"
    path.write_text("\n".join(f"{v:.4f}" for v in ecg(FS, 40.0, times)) + "\n")
    get_user_model().objects.create_user("event-user", password=PASSWORD)
    log_in(page, "event-user")
    page.goto("/recordings/upload/")
    page.set_input_files("#id_files", [str(path)])
    page.fill("#id_sampling_rate", "360")
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Upload and analyse").click()
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE, recording.error
    page.goto(f"/recordings/{recording.pk}/")
    page.locator("#strip-caption").filter(has_text="s of 40 s").wait_for()

    page.locator('#events-table tr[data-kind="pause"] a.jump').click()
    page.locator("#strip-caption").filter(has_text=re.compile(r"^9\.1–19\.1 s")).wait_for()
    strip = page.evaluate("() => fetch(document.getElementById('strip').dataset.stripUrl"
                          " + '?start=9.1&seconds=10').then(r => r.json())")  # fmt: skip
    others = [e for e in strip["episodes"] if e["kind"] != "pause"]
    # Near the bottom of the canvas (no trace there), between two grid lines: 11.3 s lies in
    # the pause, 16.1 s between two ordinary beats.
    pixels = page.evaluate(
        """() => {
            const c = document.getElementById('strip-canvas'), ctx = c.getContext('2d');
            const at = (t) => Array.from(ctx.getImageData(
                Math.round((t - 9.1) / 10 * c.width), c.height - 30, 1, 1).data);
            return {pause: at(11.3), clean: at(16.1)};
        }"""
    )
    r, g, b, alpha = pixels["pause"]
    assert alpha > 0 and b > r  # the pause's slate band
    if not any(e["start_s"] <= 16.1 <= e["end_s"] for e in others):
        assert pixels["clean"][3] == 0
