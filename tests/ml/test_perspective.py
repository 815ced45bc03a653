"""A strip photographed at an angle read at the grid's own scale along it (issue 19):
``ecg.imaging.perspective`` and the digitiser's use of it, on synthetic strips."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import ecg.imaging.digitise as dg
from benchmarks import digitise_renderers as R
from benchmarks.digitise_photo_blur import keystoned
from benchmarks.digitise_photo_lighting import photographed
from ecg.imaging.perspective import column_scales
from ecg.io.recording_image import parse_image
from tests.ml.conftest import synthetic_ecg

FS = 360.0
PAPERS = {"pink": {}, "grey": R.GREY_PAPER}


@pytest.fixture(scope="module")
def strip() -> np.ndarray:
    signal, _, _ = synthetic_ecg(n_beats=16, seed=3)
    return signal[360 : 360 + 3600]


def correlation(digitised, truth: np.ndarray, max_lag: int = 20) -> float:
    """Digitised trace stretched over the truth's span, Pearson correlation at the best lag
    within ``max_lag`` samples (the angled photo's first column is a little off the strip's)."""
    y = np.interp(
        np.linspace(0, 1, len(truth)), np.linspace(0, 1, len(digitised.signal)), digitised.signal
    )
    return max(float(np.corrcoef(np.roll(y, k), truth)[0, 1]) for k in range(-max_lag, max_lag + 1))


def photo(image: Image.Image, seed: int = 0) -> Image.Image:
    data = photographed(image, "even", np.random.default_rng(seed))
    return Image.open(io.BytesIO(data)).convert("RGB")


def pink_grid(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"), np.float32)
    return np.where(dg.red_mask(rgb), dg.red_excess(rgb), 0.0)


def test_a_square_strip_has_no_changing_scale(strip):
    assert column_scales(pink_grid(R.ecg_paper(strip, FS).image), 8.0) is None


def test_a_single_beat_is_too_small_to_measure(strip):
    beat = strip[400:652]
    assert column_scales(pink_grid(R.ecg_paper(beat, FS).image), 8.0) is None


def test_the_scale_changes_one_way_along_a_strip_turned_to_one_side(strip):
    """The side turned towards the camera (here the left, drawn larger) has more pixels to the
    millimetre, in time and amplitude alike."""
    angled = keystoned(R.ecg_paper(strip, FS).image, "left", 0.05)
    along_x, along_y = column_scales(pink_grid(angled), 8.0)
    assert along_x[0] > along_x[-1] and along_y[0] > along_y[-1]
    assert 0.03 < 1 - along_x[-1] / along_x[0] < 0.2
    assert np.all(np.diff(along_x) < 0)


@pytest.mark.parametrize("paper", sorted(PAPERS))
@pytest.mark.parametrize("share", [0.02, 0.05])
def test_a_strip_turned_to_one_side_is_read_at_its_grids_own_scale(
    strip, paper, share, monkeypatch
):
    """Without the reading, time is warped along the strip: the truth and the trace agree at
    no one lag (the defect); with it, the strip correlates and lasts its 10 s. (Turned by 10 %
    a pink strip's grid is not read at all: its periods smear; then nothing is corrected.)"""
    shot = photo(keystoned(R.ecg_paper(strip, FS, **PAPERS[paper]).image, "left", share))
    d = dg.digitise(shot)
    assert any(n.startswith("photo at an angle") for n in d.notes)
    assert d.duration_s == pytest.approx(10.0, rel=0.02)
    read = correlation(d, strip)
    assert read > 0.9
    assert np.ptp(d.signal) == pytest.approx(np.ptp(strip), rel=0.1)
    monkeypatch.setattr(dg, "READ_PERSPECTIVE", False)
    assert correlation(dg.digitise(shot), strip) < read - 0.15


def test_a_tilt_towards_the_top_is_not_read(strip):
    shot = photo(keystoned(R.ecg_paper(strip, FS).image, "top", 0.05))
    assert not any(n.startswith("photo at an angle") for n in dg.digitise(shot).notes)


def test_the_recording_upload_reads_a_turned_strip_and_says_so(strip):
    shot = photo(keystoned(R.ecg_paper(strip, FS).image, "left", 0.05))
    buffer = io.BytesIO()
    shot.save(buffer, "PNG")
    parsed = parse_image("turned.png", buffer.getvalue())
    assert any(n.startswith("photo at an angle") for n in parsed.notes)
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(10.0, rel=0.02)
