"""A grid's scale checked against the trace drawn on it (issue 19, blurred photos): the 5 mm
lines taken for the 1 mm ones make every complex five times too narrow, which no QRS is."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageFilter

import ecg.imaging.digitise as dg
from benchmarks import digitise_renderers as R
from benchmarks.digitise_photo_lighting import photographed
from ecg.imaging.grid_plausibility import (
    MIN_QRS_HALF_WIDTH_S,
    reads_five_times_too_fine,
    trace_timing,
)
from ecg.io.recording_image import parse_image
from tests.ml.conftest import synthetic_ecg

FS = 360.0


def png_bytes(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def strip():
    signal, _, _ = synthetic_ecg(n_beats=16, seed=3)
    return signal[360 : 360 + 3600]


def test_a_strip_at_its_true_scale_has_qrs_wide_complexes_at_a_heart_rate(strip):
    timing = trace_timing(strip, FS)
    assert 0.015 <= timing.half_width_s <= 0.09
    assert 40 <= timing.rate_bpm <= 130
    assert reads_five_times_too_fine(strip, FS) is None


def test_read_five_times_too_fine_its_complexes_are_narrower_than_any_qrs(strip):
    timing = reads_five_times_too_fine(strip, 5 * FS)
    assert timing is not None
    assert timing.half_width_s < MIN_QRS_HALF_WIDTH_S and timing.rate_bpm > 200


def test_a_single_beat_is_not_checked():
    """A beat has no rate, and a blurred beat's trace followed as a thin spike looks as narrow
    as one read five times too fine: single beats are left as read (BLUR_RULE v1)."""
    signal, peaks, _ = synthetic_ecg(n_beats=8, seed=4)
    p = int(peaks[3])
    beat = signal[p - 90 : p + 162]
    assert trace_timing(beat, 5 * FS).half_width_s < MIN_QRS_HALF_WIDTH_S
    assert reads_five_times_too_fine(beat, 5 * FS) is None


def test_narrow_spikes_at_a_heart_rate_are_not_taken_for_a_scale_error(strip):
    """A paced rhythm's spikes, taller than its QRS and one sample wide, come as often as the
    beats: at its true scale such a strip is not read again (the rate guards it)."""
    paced = strip.copy()
    _, peaks, _ = synthetic_ecg(n_beats=16, seed=3)
    for p in peaks[(peaks > 380) & (peaks < 3940)] - 360:
        paced[p - 20] += 3.0 * np.ptp(strip)
    assert trace_timing(paced, FS).half_width_s < MIN_QRS_HALF_WIDTH_S
    assert reads_five_times_too_fine(paced, FS) is None


def test_a_flat_trace_has_no_timing():
    assert trace_timing(np.zeros(500), FS) is None
    assert reads_five_times_too_fine(np.zeros(500), 200.0) is None


def test_digitise_reads_a_grid_taken_five_times_too_fine_again(strip, monkeypatch):
    """The 5 mm lines of a blurred photo read as 1 mm ones (their fold showing a "heavier"
    line by chance, so no note of lines all alike): the strip would last 2 s at 360 a minute.
    Read again five times coarser, with a note; without the check, the wrong reading."""
    image = R.ecg_paper(strip, FS, px_per_mm=8.0).image
    real = dg.grid_scale
    monkeypatch.setattr(dg, "grid_scale", lambda *a, **k: (5 * real(*a, **k)[0], []))
    result = dg.digitise(image)
    assert result.px_per_mm == pytest.approx(8.0, rel=0.02)
    assert result.duration_s == pytest.approx(10.0, rel=0.03)
    assert any("narrower than any QRS" in note for note in result.notes)
    # the recording upload reads it at 10 s and its notes say why
    parsed = parse_image("strip.png", png_bytes(image))
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(10.0, rel=0.03)
    assert any(n.startswith("grid read again five times coarser") for n in parsed.notes)
    monkeypatch.setattr(dg, "GRID_SCALE_PHYSIOLOGY", False)
    assert dg.digitise(image).duration_s == pytest.approx(2.0, rel=0.03)


def test_the_rate_test_counts_a_strips_beats_beside_its_largest(strip, monkeypatch):
    """Lines all alike taken as 5 mm with one ventricular beat far taller than the others: the
    rate test took the strip for "a beat of 10 s" and read it at 1 mm, five times too short."""
    tall = strip.copy()
    _, peaks, _ = synthetic_ecg(n_beats=16, seed=3)
    at = int(peaks[(peaks > 450) & (peaks < 3800)][4]) - 360
    tall[at - 40 : at + 60] *= 2.5
    cols = 2000  # a 10-s strip at 8 px/mm
    trace = np.interp(np.linspace(0, len(tall) - 1, cols), np.arange(len(tall)), tall)
    assert dg.count_peaks(trace) < 3
    notes = [dg.ALIKE_NOTE]
    assert dg._grid_period_checked(8.0, trace, cols, 1, notes) == 8.0
    assert notes == [dg.ALIKE_NOTE]
    monkeypatch.setattr(dg, "GRID_SCALE_PHYSIOLOGY", False)  # the defect, without the count
    assert dg._grid_period_checked(8.0, trace, cols, 1, [dg.ALIKE_NOTE]) == pytest.approx(40.0)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_a_blurred_photo_of_a_strip_is_read_at_its_scale(strip, seed):
    """Pink paper blurred by 2 px at 8 px/mm, with a colour cast, noise and JPEG: the strip is
    read as 10 s (on this machine, without the check, these three photos read as 2 s)."""
    image = R.ecg_paper(strip, FS, px_per_mm=8.0).image.filter(ImageFilter.GaussianBlur(2))
    data = photographed(image, "even", np.random.default_rng(seed))
    result = dg.digitise(Image.open(BytesIO(data)).convert("RGB"))
    assert result.duration_s == pytest.approx(10.0, rel=0.03)
