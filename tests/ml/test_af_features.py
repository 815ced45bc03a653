"""Record-level RR irregularity features (ecg.features.af_features; issue 20, point 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecg.features.af_features import (
    coefficient_of_sample_entropy,
    ectopic_skip,
    lag_irregularity,
    normalised_rmssd,
    turning_point_ratio,
)


def regular(seed: int, n: int = 15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.8 + 0.01 * rng.standard_normal(n)


def fibrillation(seed: int, n: int = 15) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.4, 1.1, n)


def bigeminy(n: int = 16) -> np.ndarray:
    return np.tile([0.55, 1.05], n // 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_af_is_more_irregular_than_sinus_rhythm_on_every_feature(seed):
    rr_sinus, rr_af = regular(seed), fibrillation(seed)
    assert lag_irregularity(rr_sinus) < 0.03 < 0.08 < lag_irregularity(rr_af)
    assert normalised_rmssd(rr_sinus) < 0.05 < 0.15 < normalised_rmssd(rr_af)
    # COSEn: Lake & Moorman's AF threshold is -1.4.
    assert coefficient_of_sample_entropy(rr_sinus) < -1.4 < coefficient_of_sample_entropy(rr_af)


def test_bigeminy_is_regular_for_the_lag_feature_but_not_for_rmssd():
    rr = bigeminy()
    assert lag_irregularity(rr) == pytest.approx(0.0, abs=1e-9)
    assert normalised_rmssd(rr) > 0.5  # why the app's feature compares three lags, not one
    assert turning_point_ratio(rr) == 1.0  # alternation turns at every beat
    assert coefficient_of_sample_entropy(rr) < -1.4  # the pattern repeats: low entropy


def test_an_isolated_premature_beat_is_skipped_and_leaves_sinus_regular():
    rr = np.full(16, 0.8)
    rr[7], rr[8] = 0.5, 1.1  # a premature beat and its pause
    skip = ectopic_skip(rr)
    assert skip[7] and skip[8] and skip[9] and skip.sum() == 3
    assert normalised_rmssd(rr, skip) == pytest.approx(0.0, abs=1e-9)
    assert normalised_rmssd(rr) > 0.1


def test_a_classified_v_leaves_out_its_intervals():
    rr = np.full(12, 0.8)
    ventricular = np.zeros(13, dtype=bool)
    ventricular[5] = True  # beat 5: intervals 4 (into it) and 5 (out of it), as the app does
    skip = ectopic_skip(rr, ventricular)
    assert np.flatnonzero(skip).tolist() == [4, 5]


def test_too_few_intervals_give_nan():
    rr = np.array([0.8, 0.7, 0.9])
    for feature in (lag_irregularity, normalised_rmssd, turning_point_ratio,
                    coefficient_of_sample_entropy):  # fmt: skip
        assert math.isnan(feature(rr))
    assert math.isnan(lag_irregularity(fibrillation(0), np.ones(15, dtype=bool)))
