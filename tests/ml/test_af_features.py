"""Record-level RR irregularity features (ecg.features.af_features; issue 20, point 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecg.features.af_features import (
    COSEN_STEP,
    coefficient_of_sample_entropy,
    ectopic_skip,
    lag_irregularity,
    normalised_rmssd,
    turning_point_ratio,
    windowed_cosen,
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


# -- COSEn over the AF detector's windows (windowed_cosen) ------------------------------------

WIDTH = 90


def sinus_arrhythmia(seed: int, n: int = 400) -> np.ndarray:
    """Sinus rhythm whose RR swings +-0.12 s with breathing (a 4.5 s cycle): large, slow
    changes between beats, never irregular from one beat to the next."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.9
    return 0.9 + 0.12 * np.sin(2 * np.pi * t / 4.5) + 0.005 * rng.standard_normal(n)


def windowed(rr: np.ndarray, skip=None) -> np.ndarray:
    return windowed_cosen(rr, skip, width=WIDTH, min_share=0.5)


@pytest.mark.parametrize("seed", [0, 1])
def test_windowed_cosen_separates_af_from_regular_patterned_and_breathing_rhythms(seed):
    from ecg.features.episodes import AF_COSEN_OFF, AF_COSEN_ON

    rng = np.random.default_rng(seed)
    af = windowed(rng.uniform(0.4, 1.1, 400))
    assert np.all(af > AF_COSEN_OFF) and np.median(af) > AF_COSEN_ON
    not_af = {
        "regular": regular(seed, 400),
        "bigeminy": np.tile([0.55, 1.05], 200) + 0.005 * rng.standard_normal(400),
        "sinus arrhythmia": sinus_arrhythmia(seed),
    }
    for name, rr in not_af.items():
        values = windowed(rr)
        assert not np.isnan(values).any(), name
        assert np.all(values < AF_COSEN_OFF), name  # never even keeps an episode going


def test_windowed_cosen_is_each_windows_cosen_every_step():
    rr = np.random.default_rng(4).uniform(0.4, 1.1, 300)
    skip = np.zeros(rr.size, dtype=bool)
    skip[100:103] = True  # as ectopy: removed from the windows that hold them
    values = windowed(rr, skip)
    for start in (0, 5 * COSEN_STEP, 20 * COSEN_STEP, rr.size - WIDTH):
        expected = coefficient_of_sample_entropy(
            rr[start : start + WIDTH], skip[start : start + WIDTH]
        )
        assert values[start + WIDTH // 2] == pytest.approx(expected)
    # The first and last half-windows take the first and last window's value.
    assert np.all(values[: WIDTH // 2] == values[WIDTH // 2])
    assert np.all(values[rr.size - WIDTH // 2 :] == values[rr.size - WIDTH // 2])


def test_windowed_cosen_is_nan_where_too_little_is_left_or_too_short():
    rr = np.random.default_rng(5).uniform(0.4, 1.1, 200)
    skip = np.zeros(rr.size, dtype=bool)
    skip[::3] = skip[1::3] = True  # two thirds left out everywhere: under the 0.5 share
    assert np.isnan(windowed(rr, skip)).all()
    assert np.isnan(windowed(rr[: WIDTH - 1])).all()
