"""Signal quality at the upload rates other than MIT-BIH's 360 Hz (issue 18): the thresholds
chosen at 360 Hz keep a clean ECG readable and noise unreadable at 100, 250 and 500 Hz
(``benchmarks/quality_rates.py`` measures the same on DS1, PTB-XL and LUDB)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.detection import detect_beats
from ecg.dsp.quality import segment_bounds, signal_quality, template_correlation
from ecg.dsp.signal import bandpass
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


def sharp_ecg(fs: float, duration_s: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """A clean ECG with a narrow QRS drawn at exact beat times that fall between samples (the
    sub-sample phase differs from beat to beat, as in a real recording), and those times."""
    rng = np.random.default_rng(0)
    times = np.cumsum(0.75 + 0.1 * rng.random(int(duration_s / 0.75)))
    times = times[times < duration_s - 1]
    t = np.arange(int(duration_s * fs)) / fs
    x = np.zeros_like(t)
    for offset, width, height in ((-0.18, 0.025, 0.12), (-0.02, 0.008, -0.1), (0.0, 0.008, 1.2),
                                  (0.02, 0.008, -0.25), (0.25, 0.05, 0.3)):  # fmt: skip
        x += height * np.exp(-0.5 * ((t[None, :] - times[:, None] - offset) / width) ** 2).sum(0)
    return x, times


def plain_tsqi(filtered: np.ndarray, fs: float, peaks: np.ndarray, bounds: np.ndarray):
    """The tSQI as defined at 360 Hz, written out plainly: no resampling, no alignment."""
    before, after = int(round(0.2 * fs)), int(round(0.4 * fs))
    out = []
    for start, end in bounds:
        inside = peaks[(peaks >= start) & (peaks < end)]
        inside = inside[(inside >= before) & (inside + after < filtered.size)]
        rows = np.stack([filtered[p - before : p + after + 1] for p in inside])
        rows = rows - rows.mean(axis=1, keepdims=True)
        template = np.median(rows, axis=0)
        template = template - template.mean()
        corr = rows @ template / (np.linalg.norm(rows, axis=1) * np.linalg.norm(template))
        out.append(np.median(corr))
    return np.array(out)


def test_tsqi_at_100_hz_is_not_lowered_by_r_peaks_rounded_to_the_sample_grid():
    # At 100 Hz an R peak is known to +-5 ms; a narrow QRS misaligned by that much no longer
    # matches the median beat (0.96 with plain_tsqi here; clean DS1 beats fell below the 0.7
    # floor): tSQI aligns each beat within half a sample on a 360 Hz grid.
    fs = 100.0
    x, times = sharp_ecg(fs)
    filtered = bandpass(x, fs)
    peaks = np.round(times * fs).astype(np.int64)
    bounds = segment_bounds(x.size, fs)
    tsqi = template_correlation(filtered, fs, peaks, bounds)
    assert tsqi.min() > 0.99
    assert plain_tsqi(filtered, fs, peaks, bounds).min() < tsqi.min()


@pytest.mark.parametrize("fs", [360.0, 500.0])
def test_tsqi_at_360_hz_and_above_is_unchanged(fs):
    # the thresholds were chosen on 360 Hz tSQI: the rate-aware path must not touch it
    x, times = sharp_ecg(fs)
    filtered = bandpass(x, fs)
    peaks = np.round(times * fs).astype(np.int64)
    bounds = segment_bounds(x.size, fs)
    assert np.allclose(
        template_correlation(filtered, fs, peaks, bounds), plain_tsqi(filtered, fs, peaks, bounds)
    )
