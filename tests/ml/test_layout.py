"""Rows of a printed multi-lead ECG (``ecg.imaging.layout``, issue 19): the trace rows, the
lead changes along them and the rhythm strip, on printouts drawn by the benchmark's
independent renderer; single-row images (beats, strips, plots) are one row or none."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks import digitise_renderers as R
from benchmarks import printout_renderers as P
from ecg.imaging.layout import find_rows, row_image
from tests.printouts import FS, printout, twelve_leads
from tests.recordings.synth import beat_times, ecg


@pytest.mark.parametrize("variant", ["plain", "jpeg", "rotated", "grey", "no_mark", "gap"])
def test_a_3x4_printout_with_a_rhythm_strip_has_four_rows_and_its_strip_at_the_bottom(variant):
    kwargs = {"grey": {"paper": "grey"}, "no_mark": {"separator": "none"},
              "gap": {"separator": "gap"}}.get(variant, {})  # fmt: skip
    drawn = P.multi_lead_paper(twelve_leads()[0], FS, "3x4+rhythm", **kwargs)
    if variant == "jpeg":
        drawn = R.jpeg(drawn, 60)
    if variant == "rotated":
        drawn = R.rotated(drawn, 2.0)
    layout = find_rows(drawn.image)
    assert len(layout.rows) == 4
    assert all(row.full_width for row in layout.rows)
    width = drawn.image.size[0]
    for row in layout.rows[:3]:  # four leads side by side: changes near 1/4, 1/2, 3/4
        left, _top, right, _bottom = row.box
        shares = (np.array(row.breaks) - left) / (right - left)
        assert shares.size >= (3 if variant == "plain" else 1), row
        quarters = np.array([0.25, 0.5, 0.75])
        assert np.abs(shares[:, None] - quarters[None, :]).min(axis=1).max() < 0.03, shares
    assert layout.rows[3].single_trace
    assert layout.rhythm_row == 3
    if variant == "rotated":
        assert layout.angle == pytest.approx(-2.0, abs=0.2)
    assert layout.rows[3].box[2] - layout.rows[3].box[0] > 0.8 * width


@pytest.mark.parametrize("degrees", [0.0, 2.0, -2.0])
def test_a_6x2_printout_has_six_rows_of_two_leads_and_no_rhythm_strip(degrees):
    drawn = P.multi_lead_paper(twelve_leads()[0], FS, "6x2", row_mm=30.0)
    layout = find_rows(R.rotated(drawn, degrees).image if degrees else drawn.image)
    assert len(layout.rows) == 6
    assert all(len(row.breaks) == 1 for row in layout.rows)
    assert layout.rhythm_row is None


def test_a_3x4_printout_without_a_rhythm_strip_has_none():
    layout = find_rows(printout("3x4"))
    assert len(layout.rows) == 3 and layout.rhythm_row is None


def test_short_strips_stacked_above_a_long_one_read_the_long_one():
    # The example: three 2.5-s strips above a 10-s strip, each on its own paper.
    x = ecg(FS, 10.0, beat_times(10.0))
    parts = [R.ecg_paper(x[k * 900 : (k + 1) * 900], FS).image for k in range(3)]
    parts.append(R.ecg_paper(x, FS).image)
    canvas = Image.new("RGB", (parts[-1].size[0], sum(p.size[1] for p in parts)), (255, 252, 250))
    y = 0
    for part in parts:
        canvas.paste(part, (0, y))
        y += part.size[1]
    layout = find_rows(canvas)
    assert len(layout.rows) == 4
    assert [row.full_width for row in layout.rows] == [False, False, False, True]
    assert layout.rhythm_row == 3
    strip = row_image(canvas, layout, 3)
    assert strip.size[0] == canvas.size[0] and strip.size[1] < parts[-1].size[1] * 1.5


@pytest.mark.parametrize(
    "name, draw",
    [
        ("paper strip", lambda x, beat: R.ecg_paper(x, FS).image),
        ("paper strip jpeg", lambda x, beat: R.jpeg(R.ecg_paper(x, FS)).image),
        ("bare strip", lambda x, beat: R.pillow_line(x, width=1600, height=400).image),
        ("matplotlib strip", lambda x, beat: R.mpl_plot(x, FS, size=(16, 4)).image),
        ("paper beat", lambda x, beat: R.ecg_paper(beat, FS).image),
        ("matplotlib beat", lambda x, beat: R.mpl_plot(beat, FS).image),
        ("min-max beat", lambda x, beat: R.minmax_64(beat).image),
        ("wfdb plot", lambda x, beat: R.wfdb_plot(beat, FS).image),
    ],
)
def test_single_row_images_are_one_row(name, draw):
    x = ecg(FS, 10.0, beat_times(10.0))
    beat = x[int(0.25 * FS) : int(0.95 * FS)]
    layout = find_rows(draw(x, beat))
    assert len(layout.rows) <= 1, (name, layout.rows)


@pytest.mark.parametrize("kind", ["photo", "noise", "document", "screenshot"])
def test_non_ecg_images_are_not_taken_for_printouts(kind):
    rng = np.random.default_rng(3)
    make = {"photo": R.photo_like, "noise": R.noise_image, "document": R.document,
            "screenshot": R.screenshot}[kind]  # fmt: skip
    assert len(find_rows(make(rng)).rows) < 2


def _same_verdict(a, b) -> bool:
    da, db = a.digitised, b.digitised
    fields = ("fs", "units", "scale_source", "kind", "notes", "rotation_deg", "px_per_mm")
    return (a.status, a.reason) == (b.status, b.reason) and (
        da is db or (np.array_equal(da.signal, db.signal)
                     and all(getattr(da, f) == getattr(db, f) for f in fields))
    )  # fmt: skip


@pytest.mark.parametrize(
    "name, draw",
    [
        ("matplotlib beat", lambda beat: R.mpl_plot(beat, FS).image),
        ("paper beat jpeg", lambda beat: R.jpeg(R.ecg_paper(beat, FS)).image),
        ("grey paper beat", lambda beat: R.ecg_paper(beat, FS, **R.GREY_PAPER).image),
        ("rotated paper beat", lambda beat: R.rotated(R.ecg_paper(beat, FS), 2.0).image),
        ("photo", lambda beat: R.photo_like(np.random.default_rng(3))),
    ],
)
def test_the_check_reads_the_image_once_with_the_layouts_reading(monkeypatch, name, draw):
    """The upload's chain (``find_rows`` then ``check_ecg_image``) computes the image's
    background once at full size when the row finder hands its reading on, and the verdict and
    digitised trace are those of the check on its own."""
    from ecg.imaging import digitise as digitise_module
    from ecg.imaging import ecg_check
    from ecg.imaging import layout as layout_module

    image = draw(ecg(FS, 0.7, np.array([0.25])))
    alone = ecg_check.check_ecg_image(image)
    full_size = []
    real = digitise_module.background_colour

    def counted(rgb):
        if rgb.shape[:2] == (image.size[1], image.size[0]):
            full_size.append(rgb.shape)
        return real(rgb)

    for module in (digitise_module, ecg_check, layout_module):
        monkeypatch.setattr(module, "background_colour", counted)
    found = find_rows(image)
    chained = ecg_check.check_ecg_image(image, reading=found.reading)
    assert _same_verdict(alone, chained), name
    if name == "photo":  # no plain background: no reading to hand on, refused as before
        assert found.reading is None and chained.status == "no_trace"
    else:
        assert found.reading is not None
        assert len(full_size) == 1, full_size  # three times before: rows, check, digitiser


@pytest.mark.parametrize("px_per_mm", [8.0, 11.8, 14.0])
def test_a_printout_on_grey_paper_is_read_at_its_grid_at_scan_resolutions(px_per_mm):
    # A greyscale copy scanned at 300 dpi (11.8 px/mm): its rhythm strip's 1-px trace is under
    # half a percent of the row's pixels, and with the trace's level at the 99.5th percentile
    # of the distance from the paper the 5 mm lines stood for it and the grid was lost (read at
    # the assumed scale); at the 99.9th it is read at its grid (digitise.TRACE_PERCENTILE).
    from ecg.io.recording_image import parse_image

    image = printout("3x4+rhythm", px_per_mm=px_per_mm, paper="grey", line=1)
    parsed = parse_image("printout.png", encode_png(np.asarray(image.convert("RGB"))))
    assert any("ECG-paper grid" in note and "no ECG-paper" not in note for note in parsed.notes)
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(10.0, rel=0.03)


def encode_png(pixels: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
