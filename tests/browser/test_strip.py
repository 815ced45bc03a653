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

from ecg.classes import REVIEW_ONLY
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
def recording_env(settings, tmp_path, monkeypatch):
    """Private media, a tiny real recording model, analyses run inside the upload request.
    Slow ventricular runs make no event here: the untrained model calls nearly every beat V,
    so an IVR band would lie over the whole strip, whose pixels these tests read."""
    from ecg.features import episodes
    from ecgsite.model_registry import reset_model_registry

    monkeypatch.setattr(episodes, "SLOW_VENTRICULAR_RUNS", False)

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


def geometry(page) -> dict:
    """Where strip.js drew what (CSS px): trace origin, px per s and per mV, lead rows."""
    return page.evaluate(
        "() => JSON.parse(document.getElementById('strip-canvas').dataset.geometry)"
    )


def beat_x(page, t: float, start_s: float) -> float:
    """A time's x on the canvas (CSS px from its left edge)."""
    g = geometry(page)
    return g["x0"] + (t - start_s) * g["pxPerS"]


def upload_as_new_user(page, user: str, paths: list[Path], sampling_rate: str = "") -> Recording:
    """Log in as a new ``user`` and upload ``paths`` through the upload form (the rate only for
    a CSV without a time column); the recording it made."""
    get_user_model().objects.create_user(user, password=PASSWORD)
    log_in(page, user)
    page.goto("/recordings/upload/")
    page.set_input_files("#id_files", [str(p) for p in paths])
    if sampling_rate:
        page.fill("#id_sampling_rate", sampling_rate)
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Upload and analyse").click()
    # The report page the upload lands on fetches its strip data; in-memory SQLite shares one
    # cache between the live server's thread and this one, so a test that writes beats while
    # that read is still open fails with "database table is locked". Wait for the page to idle.
    page.wait_for_load_state("networkidle")
    return Recording.objects.get()


def upload_csv_and_open(page, user: str, path: Path, duration_s: int) -> Recording:
    """Upload the 360 Hz CSV at ``path`` as a new ``user``, open its report page and wait for
    the strip's first page."""
    recording = upload_as_new_user(page, user, [path], sampling_rate="360")
    assert recording.status == Recording.Status.DONE, recording.error
    page.goto(f"/recordings/{recording.pk}/")
    page.locator("#strip-caption").filter(has_text=f"s of {duration_s} s").wait_for()
    return recording


def test_the_strip_pages_through_the_recording_and_opens_beats(
    page, screenshot, recording_env, recording_files
):
    recording = upload_as_new_user(page, "strip-user", recording_files)
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
    page.mouse.click(box["x"] + beat_x(page, first["t"], 10.0), box["y"] + 100)
    title = page.locator("#beat-title")
    title.filter(has_text=f"Beat {first['index']} at").wait_for()
    assert re.search(r": .+ \(\d+\.\d %\)", title.inner_text())
    # a probability per model class: the jump list's classes but those only a reviewer gives
    only_reviewer = [c.code for c in REVIEW_ONLY]
    classes = page.locator("#strip-class option").count() - len(only_reviewer)
    for code in only_reviewer:
        assert page.locator(f'#strip-class option[value="{code}"]').count() == 1
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
    upload_csv_and_open(page, "grey-user", path, 60)
    page.fill("#strip-start", "15")
    page.dispatch_event("#strip-start", "change")
    page.locator("#strip-caption").filter(has_text="Grey: unreadable").wait_for()
    # Top row of the canvas (above the beat labels, where no trace is drawn): grey over the
    # noisy stretch, plain white paper over the clean one. 10-s page from 15 s: 22 s and 17 s.
    x_noisy, x_clean = beat_x(page, 22.0, 15.0), beat_x(page, 17.0, 15.0)
    pixels = page.evaluate(
        """([xn, xc]) => {
            const c = document.getElementById('strip-canvas'), ctx = c.getContext('2d');
            const at = (x) => Array.from(ctx.getImageData(Math.round(x), 2, 1, 1).data);
            return {noisy: at(xn), clean: at(xc)};
        }""",
        [x_noisy, x_clean],
    )
    r, g, b, alpha = pixels["noisy"]
    assert alpha > 0 and abs(r - g) < 8 and abs(g - b) < 8 and r < 245  # grey
    assert pixels["clean"] == [255, 255, 255, 255]


def pixel_rows(page, points: list[list[float]]) -> list[list[int]]:
    """RGBA of the canvas at each [x, y] (CSS px; the tests' screen has 1 device px per CSS px)."""
    return page.evaluate(
        """(points) => {
            const ctx = document.getElementById('strip-canvas').getContext('2d');
            return points.map(([x, y]) =>
                Array.from(ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data));
        }""",
        points,
    )


def hex_rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def test_the_strip_is_ecg_paper_with_both_leads_zoom_and_reference_disagreements(
    page, screenshot, recording_env, recording_files
):
    """The standard display (issue 20, point 4): grid and calibration pulse drawn where the
    paper's scale puts them, both leads in their own rows, zoom changing the window and the
    scale, a beat whose class disagrees with its reference annotation outlined; on a phone the
    strip scrolls in its box, not the page."""
    recording = upload_as_new_user(page, "paper-user", recording_files)
    # two beats of the first page made known cases: one disagrees with its reference, one not
    beats = list(recording.beats.filter(time_s__gte=1, time_s__lt=9).order_by("index"))
    differ, agree = beats[1], beats[3]
    recording.beats.filter(pk=differ.pk).update(label="A", state="classified", reference_label="N")
    recording.beats.filter(pk=agree.pk).update(label="N", state="classified", reference_label="N")
    page.goto(f"/recordings/{recording.pk}/")
    assert caption(page)[:2] == (0.0, 10.0)

    g = geometry(page)
    paper = page.evaluate("() => fetch(document.getElementById('strip').dataset.stripUrl"
                          " + '?start=0&seconds=10').then(r => r.json())")  # fmt: skip
    colours = paper["paper"]
    # 25 mm/s and 10 mm/mV at 4 px/mm; both leads, each in its own row, named
    assert (g["speed"], g["gain"], g["pxPerMm"]) == (25, 10, 4)
    assert (g["pxPerS"], g["pxPerMv"]) == (100, 40)
    assert [row["name"] for row in g["rows"]] == ["MLII", "V1"]
    assert g["rows"][1]["top"] > g["rows"][0]["baseline"] + 40  # below the first lead's row
    assert page.locator("#strip-scale").inner_text() == "25 mm/s, 10 mm/mV"

    # the grid: every 5 mm (20 px) a major line, between them 1 mm minor lines, white squares
    top = g["rows"][0]["top"]
    major = [[g["x0"] + 20 * k, top + 14] for k in range(1, 49)]
    minor = [[g["x0"] + 20 * k + 4, top + 14] for k in range(1, 49)]
    blank = [[g["x0"] + 20 * k + 2, top + 14] for k in range(1, 49)]
    for points, colour in ((major, "grid_major"), (minor, "grid_minor"), (blank, "paper")):
        hits = sum(p[:3] == hex_rgb(colours[colour]) for p in pixel_rows(page, points))
        assert hits >= 0.8 * len(points), (colour, hits)  # a beat's band may cover a few

    # the calibration pulse left of each lead: 1 mV high (40 px), 200 ms wide (20 px)
    for row in g["rows"]:
        middle = g["pulseX"] + g["pulseWidth"] / 2
        high, half = row["baseline"] - g["pxPerMv"], row["baseline"] - g["pxPerMv"] / 2
        plateau = pixel_rows(page, [[middle, y] for y in (high - 1, high, high + 1)])
        assert min(max(p[:3]) for p in plateau) < 110, row  # the top of the pulse: dark
        rising = pixel_rows(page, [[g["pulseX"] + dx, half] for dx in (-1, 0, 1)])
        assert min(max(p[:3]) for p in rising) < 110, row  # its rising edge
        inside = pixel_rows(page, [[middle, half + 2]])[0]  # between grid lines
        assert inside[:3] == hex_rgb(colours["paper"]), row  # not a filled block

    # the trace of each lead lies in its own row
    dark = page.evaluate(
        """(rows) => {
            const c = document.getElementById('strip-canvas'), ctx = c.getContext('2d');
            const g = JSON.parse(c.dataset.geometry);
            return rows.map(([top, bottom]) => {
                const d = ctx.getImageData(g.x0, top, c.width - g.x0, bottom - top).data;
                let n = 0;
                for (let i = 0; i < d.length; i += 4) if (d[i] < 90 && d[i + 1] < 90) n++;
                return n;
            });
        }""",
        [
            [g["rows"][0]["top"], g["rows"][1]["top"]],
            [g["rows"][1]["top"], g["rows"][1]["top"] + 140],
        ],
    )
    assert dark[0] > 1000 and dark[1] > 1000, dark

    # the reference row beside the model's: the disagreeing beat outlined in red, not the other
    assert g["referenceY"] is not None
    red = hex_rgb(colours["disagree"])

    def outlined(beat) -> bool:
        left = beat_x(page, beat.time_s, 0.0) - 11
        near = pixel_rows(page, [[left + dx, g["modelY"] + 12] for dx in (-1, 0, 1)])
        return any(all(abs(a - b) < 40 for a, b in zip(p[:3], red, strict=True)) for p in near)

    assert outlined(differ) and not outlined(agree)
    assert "disagrees" in page.locator("#strip-legend").inner_text()
    screenshot(page, "recording-strip-paper")

    # zoom: the window follows the paper speed; the gain rescales the mV axis
    page.get_by_role("button", name="50 mm/s").click()
    page.locator("#strip-caption").filter(has_text=re.compile(r"^0\.0–5\.0 s")).wait_for()
    assert geometry(page)["pxPerS"] == 200
    assert page.locator("#strip-scale").inner_text() == "50 mm/s, 10 mm/mV"
    page.focus("#strip-canvas")
    page.keyboard.press("-")
    page.locator("#strip-caption").filter(has_text=re.compile(r"^0\.0–10\.0 s")).wait_for()
    page.keyboard.press("-")
    page.locator("#strip-caption").filter(has_text=re.compile(r"^0\.0–25\.0 s")).wait_for()
    assert geometry(page)["pxPerS"] == 40
    assert page.get_by_role("button", name="10 mm/s").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="20 mm/mV").click()
    assert geometry(page)["pxPerMv"] == 80
    screenshot(page, "recording-strip-paper-zoomed")
    page.focus("#strip-canvas")
    page.keyboard.press("ArrowDown")
    assert geometry(page)["pxPerMv"] == 40
    page.keyboard.press("ArrowDown")
    assert geometry(page)["pxPerMv"] == 20
    assert page.locator("#strip-scale").inner_text() == "10 mm/s, 5 mm/mV"

    # a phone: no page-wide overflow, the paper scrolls in its box, buttons large enough
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    caption(page)
    sizes = page.evaluate(
        """() => {
            const box = document.getElementById('strip-paper');
            return {page: document.documentElement.scrollWidth, box: box.clientWidth,
                    inner: box.scrollWidth, button: document.querySelector('[data-speed]')
                        .getBoundingClientRect().height};
        }"""
    )
    assert sizes["page"] <= 390 and sizes["inner"] > sizes["box"] and sizes["button"] >= 44
    screenshot(page, "recording-strip-phone")


def test_an_event_link_jumps_the_strip_to_a_pause_drawn_as_a_band(page, recording_env, tmp_path):
    """A real 2.4-s pause (10.1-12.5 s): the Events list links to it, the link moves the strip
    there, and the pause is a translucent band under the trace; beside it, nothing."""
    times = beat_times(40.0)
    times = times[~((times > 10.5) & (times < 12.1))]  # beats at 10.1 and 12.5 s
    path = tmp_path / "pause.csv"
    path.write_text("\n".join(f"{v:.4f}" for v in ecg(FS, 40.0, times)) + "\n")
    upload_csv_and_open(page, "event-user", path, 40)

    page.locator('#events-table tr[data-kind="pause"] a.jump').click()
    page.locator("#strip-caption").filter(has_text=re.compile(r"^9\.1–19\.1 s")).wait_for()
    strip = page.evaluate("() => fetch(document.getElementById('strip').dataset.stripUrl"
                          " + '?start=9.1&seconds=10').then(r => r.json())")  # fmt: skip
    others = [e for e in strip["episodes"] if e["kind"] != "pause"]
    # Just under the top grid line of the first lead's row, in the middle of a 1 mm square (no
    # grid line, no trace, no label there): 11.3 s lies in the pause, 16.1 s between two
    # ordinary beats.
    g = geometry(page)

    def square_centre(t: float) -> list[float]:
        x = beat_x(page, t, 9.1)
        return [g["x0"] + (x - g["x0"]) // g["pxPerMm"] * g["pxPerMm"] + g["pxPerMm"] / 2,
                g["rows"][0]["top"] + g["pxPerMm"] / 2]  # fmt: skip

    pause, clean = pixel_rows(page, [square_centre(11.3), square_centre(16.1)])
    assert pause[2] > pause[0]  # the pause's slate band over the white paper
    if not any(e["start_s"] <= 16.1 <= e["end_s"] for e in others):
        assert clean == [255, 255, 255, 255]


def test_every_lead_of_a_short_many_lead_recording_can_be_drawn(
    page, screenshot, recording_env, tmp_path
):
    """A 12-lead-style upload keeps every lead (``ecg.lead_choice``): the strip draws the
    analysed and second lead, and "All 4 leads" one row per stored lead, in stored order."""
    times = beat_times(DURATION, rr_s=0.8)
    leads = ["I", "II", "III", "V1"]
    signal = np.stack([ecg(FS, DURATION, times, seed=i) for i in range(len(leads))])
    truth = np.round(times * FS).astype(int)
    folder = tmp_path / "twelve"
    files = write_wfdb(folder, "many", signal, FS, leads, truth, ["N"] * len(truth))
    recording = upload_as_new_user(page, "leads-user", [folder / name for name in files])
    page.goto(f"/recordings/{recording.pk}/")
    assert caption(page)[:2] == (0.0, 10.0)
    assert [row["name"] for row in geometry(page)["rows"]] == ["II", "V1"]

    button = page.get_by_role("button", name="All 4 leads")
    button.click()
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('strip-canvas').dataset.geometry)"
        ".rows.length === 4"
    )
    rows = geometry(page)["rows"]
    assert [row["name"] for row in rows] == ["II", "V1", "III", "I"]
    assert all(b["top"] > a["baseline"] for a, b in zip(rows, rows[1:], strict=False))
    assert button.get_attribute("aria-pressed") == "true"
    page.locator("#strip-canvas").screenshot(path=str(screenshot(page, "strip-all-leads")))
    button.click()  # back to two rows
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('strip-canvas').dataset.geometry)"
        ".rows.length === 2"
    )
