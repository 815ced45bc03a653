"""Signal quality at the upload rates other than MIT-BIH's 360 Hz (issue 18): the thresholds
chosen at 360 Hz keep a clean ECG readable and noise unreadable at 100, 250 and 500 Hz
(``benchmarks/quality_rates.py`` measures the same on DS1, PTB-XL and LUDB)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.detection import detect_beats
from ecg.dsp.quality import signal_quality
from tests.recordings.synth import long_ecg

RATES = [100.0, 250.0, 500.0]


def quality_of(x: np.ndarray, fs: float):
    x = np.asarray(x, np.float32)
    return signal_quality(x, fs, peaks=detect_beats(x, fs))


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("duration_s", [10.0, 60.0])  # a PTB-XL / LUDB record; a Holter stretch
def test_a_clean_synthetic_ecg_is_readable_at_every_rate(fs, duration_s):
    quality = quality_of(long_ecg(fs, duration_s), fs)
    assert quality.readable.all(), quality.reasons
    # the indices the rule leans on sit well clear of their thresholds, not just over them
    assert np.nanmin(quality.detector_agreement) > 0.9
    assert np.nanmin(quality.template_correlation) > 0.9


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("sd_mv", [0.05, 0.5])
def test_gaussian_noise_is_unreadable_at_every_rate(fs, sd_mv):
    x = np.random.default_rng(1).normal(0, sd_mv, int(60 * fs))
    quality = quality_of(x, fs)
    assert not quality.readable.any()
    assert set(quality.reasons) <= {"noise", "no consistent heartbeats (noise or artefact)"}


@pytest.mark.parametrize("fs", RATES)
def test_a_noisy_stretch_is_unreadable_and_the_clean_rest_is_not(fs):
    x = long_ecg(fs, 30.0)
    noisy = slice(int(10 * fs), int(20 * fs))  # segments 2 and 3 of 6 (5 s each)
    x[noisy] += np.random.default_rng(2).normal(0, 1.0, noisy.stop - noisy.start)
    quality = quality_of(x, fs)
    assert quality.readable.tolist() == [True, True, False, False, True, True], quality.reasons
