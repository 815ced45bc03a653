"""A printout photographed at an angle, squared from its grid before its rows are read
(``ecg.imaging.page_perspective``, issue 19), on synthetic printouts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ecg.imaging.digitise as dg
from benchmarks import printout_renderers as P
from benchmarks.digitise_photo_blur import keystoned
from benchmarks.digitise_photo_lighting import photographed
from ecg.imaging import page_perspective as pp
from ecg.imaging.layout import find_rows
from ecg.io import recording_image
from ecg.io.recording_image import parse_image
from tests.printouts import FS, twelve_leads


def page(paper: str = "pink") -> tuple[Image.Image, np.ndarray]:
    """A 3x4 printout with a lead II rhythm strip, and lead II (the truth)."""
    leads, _ = twelve_leads()
    drawn = P.multi_lead_paper(leads, FS, "3x4+rhythm", paper=paper)
    return drawn.image.convert("RGB"), np.asarray(leads["II"], dtype=np.float64)


def photo(image: Image.Image, seed: int = 0) -> bytes:
    return photographed(image, "even", np.random.default_rng(seed))


def pink_grid(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"), np.float32)
    return np.where(dg.red_mask(rgb), dg.red_excess(rgb), 0.0)


def aligned_correlation(signal: np.ndarray, fs: float, truth: np.ndarray) -> float:
    """The read signal at its own rate against the truth, at the best lag within 0.5 s."""
    y = np.interp(np.arange(len(truth)) / FS, np.arange(len(signal)) / fs, signal)
    n = len(truth) - int(0.5 * FS)
    return max(
        float(np.corrcoef(y[k : k + n], truth[:n])[0, 1]) for k in range(0, int(0.5 * FS), 2)
    )


def test_a_square_page_is_left_as_it_is():
    image, _ = page()
    squared, notes = pp.square_page(image)
    assert squared is image and notes == []
    assert pp.page_perspective(pink_grid(image), 8.0) is None


def test_a_strip_is_too_short_to_square():
    """Strips are left to ``perspective.column_scales``: under three 25 mm tiles tall."""
    image, _ = page()
    strip = keystoned(image.crop((0, image.height - 400, image.width, image.height)), "left", 0.08)
    squared, notes = pp.square_page(strip)
    assert squared is strip and notes == []


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_the_vanishing_line_lies_on_the_narrower_side(side):
    """``keystoned``'s named side shows its stretch of the page over the whole edge: it has more
    pixels to the millimetre, where the vanishing line's ``m = 1 + q . x`` is largest."""
    image, _ = page()
    found = pp.page_perspective(pink_grid(keystoned(image, side, 0.06)), 8.0)
    assert found is not None
    q1, q2 = found.q
    along = {"left": q1, "right": -q1, "top": q2, "bottom": -q2}[side]
    across = q2 if side in ("left", "right") else q1
    assert along < 0  # m grows towards that side (x and y about the centre)
    assert abs(across) < 0.2 * abs(along)
    assert 0.04 < found.change < 0.2


@pytest.mark.parametrize("side", ["left", "top"])
def test_a_squared_page_has_one_scale_everywhere(side):
    image, _ = page()
    squared, notes = pp.square_page(keystoned(image, side, 0.06))
    assert notes and notes[0].startswith("photo at an angle: the page squared from its grid")
    grid = pink_grid(squared)
    assert pp.page_perspective(grid, 8.0) is None  # nothing left to square
    scale, _ = dg.grid_scale(grid)
    assert scale == pytest.approx(8.0, rel=0.06)


def test_a_grid_that_changes_otherwise_than_by_a_perspective_is_left():
    """Time stretched along the page without amplitude (no perspective does that): the two line
    families disagree, and nothing is squared."""
    image, _ = page()
    w, h = image.size
    # x_in = x_out * (1 + a x_out): the left part drawn at a larger scale than the right
    a = 0.15 / w
    out = np.arange(w, dtype=np.float64)
    src = np.clip(out * (1 - a * out) / (1 - a * w), 0, w - 1)
    pixels = np.asarray(image)[:, np.round(src).astype(int)]
    warped = Image.fromarray(np.ascontiguousarray(pixels))
    assert pp.page_perspective(pink_grid(warped), 8.0) is None


@pytest.mark.parametrize(("paper", "side", "share"),
                         [("pink", "left", 0.06), ("pink", "bottom", 0.06), ("grey", "right", 0.08),
                          ("grey", "top", 0.05)])  # fmt: skip
def test_the_recording_upload_reads_a_photographed_printouts_rhythm_strip(
    paper, side, share, monkeypatch
):
    image, truth = page(paper)
    data = photo(keystoned(image, side, share))
    parsed = parse_image("printout.jpg", data)
    assert any(n.startswith("photo at an angle: the page squared") for n in parsed.notes)
    assert any(n.startswith("an ECG printout with 4 rows") for n in parsed.notes)
    signal = parsed.signals[0].astype(np.float64)
    assert len(signal) / parsed.fs == pytest.approx(10.0, rel=0.03)
    assert aligned_correlation(signal, parsed.fs, truth) > 0.9
    # The defect without the squaring: the strip read at one scale is warped.
    monkeypatch.setattr(recording_image, "SQUARE_PAGE", False)
    try:
        before = parse_image("printout.jpg", data)
    except recording_image.RecordingFormatError:
        return  # refused without it: also not read
    x = before.signals[0].astype(np.float64)
    assert not any("page squared" in n for n in before.notes)
    assert aligned_correlation(x, before.fs, truth) < 0.8 or abs(len(x) / before.fs - 10) > 0.3


def test_a_square_photo_reads_as_before(monkeypatch):
    image, _ = page()
    data = photo(image)
    after = parse_image("printout.jpg", data)
    monkeypatch.setattr(recording_image, "SQUARE_PAGE", False)
    before = parse_image("printout.jpg", data)
    assert after.notes == before.notes
    np.testing.assert_array_equal(after.signals, before.signals)


def test_a_squared_page_is_cropped_to_the_photo_and_keeps_its_rows():
    """No filled area: its edge against the paper would be read as ink. The printout's margins
    pay for it, not its rows."""
    image, _ = page()
    photo_ = keystoned(image, "left", 0.1)
    squared, _ = pp.square_page(photo_)
    assert 0.9 * photo_.width < squared.width < 1.2 * photo_.width
    assert 0.85 * photo_.height < squared.height < 1.2 * photo_.height
    layout = find_rows(squared)
    assert len(layout.rows) == 4 and layout.rhythm_row == 3


def test_a_grey_page_turned_after_a_rotation_is_squared(monkeypatch):
    """Grey paper's own grid test fails on such a photo (its faint lines turned and blurred);
    its faint lines in every row and column suffice, the planes' checks standing."""
    image, truth = page("grey")
    rotated = image.rotate(1.5, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    data = photo(keystoned(rotated, "left", 0.06), seed=2)
    parsed = parse_image("printout.jpg", data)
    assert any(n.startswith("photo at an angle: the page squared") for n in parsed.notes)
    signal = parsed.signals[0].astype(np.float64)
    assert len(signal) / parsed.fs == pytest.approx(10.0, rel=0.03)
    corr = aligned_correlation(signal, parsed.fs, truth)
    assert corr > 0.85  # the benchmark's "read right" asks 0.8
    monkeypatch.setattr(recording_image, "SQUARE_PAGE", False)
    before = parse_image("printout.jpg", data)
    assert aligned_correlation(before.signals[0].astype(np.float64), before.fs, truth) < corr - 0.2
