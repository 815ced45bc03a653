"""QRS bounds of the record-context features (issue 17, point 5): wide, notched, flat-topped and
inverted complexes get a width within 10 ms of the truth, never 0."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.signal import MODEL_FS
from ecg.features.context import qrs_bounds, qrs_widths
from tests.ml.synthetic_qrs import SHAPES, synthetic_windows


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_qrs_width_within_10_ms_of_the_truth(shape):
    windows, r_index, truth = synthetic_windows(shape, noise_mv=0.01, seed=3)
    widths = qrs_widths(windows, MODEL_FS, r_index)
    assert len(widths) >= 8
    assert np.all(widths > 0)
    assert abs(float(np.median(widths)) - truth) <= 0.010


@pytest.mark.parametrize("shape", ["plateau_lbbb", "wide_inverted", "rsr_rbbb"])
def test_onset_before_and_offset_after_the_r_peak(shape):
    windows, r_index, _ = synthetic_windows(shape)
    onset, offset = qrs_bounds(windows, MODEL_FS, r_index)
    assert np.all(onset < 0) and np.all(offset > 0)


def test_an_inverted_complex_has_the_width_of_the_upright_one():
    windows, r_index, _ = synthetic_windows("wide_lbbb")
    upright = np.median(qrs_widths(windows, MODEL_FS, r_index))
    inverted = np.median(qrs_widths(-windows, MODEL_FS, r_index))
    assert abs(upright - inverted) < 1e-9


def test_no_beats_gives_no_bounds():
    onset, offset = qrs_bounds(np.zeros((0, 252)), MODEL_FS, 90)
    assert onset.shape == offset.shape == (0,)


def test_the_shipped_feature_set_keeps_the_widths_it_was_trained_with():
    """``rr+record_context`` (the shipped recording model) still gets ``qrs_widths_v1``; only
    ``rr+record_context_v2`` uses the corrected bounds, so no shipped model's input moves."""
    from ecg.features.beats import rr_features
    from ecg.features.context import feature_names, qrs_widths_v1, rhythm_inputs

    windows, r_index, _ = synthetic_windows("plateau_lbbb", noise_mv=0.01, seed=3)
    rr = rr_features(np.arange(1, len(windows) + 1) * 288, MODEL_FS)
    column = feature_names("rr+record_context").index("qrs_width_s")
    shipped = rhythm_inputs(rr, windows, MODEL_FS, r_index, "rr+record_context")[:, column]
    corrected = rhythm_inputs(rr, windows, MODEL_FS, r_index, "rr+record_context_v2")[:, column]
    np.testing.assert_array_equal(shipped, qrs_widths_v1(windows, MODEL_FS, r_index))
    np.testing.assert_array_equal(corrected, qrs_widths(windows, MODEL_FS, r_index))
    assert not np.allclose(shipped, corrected)
