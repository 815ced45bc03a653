"""The synthetic noise stress test: the NST's segment pattern and SNR definition."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.training.noise_stress import (
    MIN_EXCERPT_S,
    SEGMENT_S,
    add_noise,
    baseline_wander,
    electrode_motion,
    excerpt_problem,
    muscle_noise,
    noise_mix,
    noisy_mask,
    qrs_signal_power,
)
from tests.recordings.synth import beat_times, ecg

FS = 360.0


def test_the_mask_is_clean_for_five_minutes_then_two_on_two_off():
    mask = noisy_mask(int(15 * 60 * FS), FS)
    minute = lambda m: mask[int(m * 60 * FS)]  # noqa: E731
    assert [minute(m) for m in (0.5, 4.9, 5.1, 6.9, 7.1, 8.9, 9.1, 11.1)] == [
        False, False, True, True, False, False, True, False,
    ]  # fmt: skip


@pytest.mark.parametrize("snr_db", [24.0, 6.0, -6.0])
def test_noise_is_scaled_to_the_requested_snr(snr_db):
    times = beat_times(420.0)
    x = ecg(FS, 420.0, times).astype(np.float64)
    peaks = np.round(times * FS).astype(np.int64)
    mask = noisy_mask(x.size, FS)
    rng = np.random.default_rng(0)
    noisy = add_noise(x, FS, r_peaks=peaks, snr_db=snr_db, noise=noise_mix(x.size, FS, rng),
                      mask=mask)  # fmt: skip
    added = noisy - x
    assert np.all(added[~mask] == 0)
    measured = 10 * np.log10(qrs_signal_power(x, FS, peaks) / np.var(added[mask]))
    assert measured == pytest.approx(snr_db, abs=0.01)


def _share_of_power(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / FS)
    return spectrum[(freqs >= low) & (freqs <= high)].sum() / spectrum.sum()


def test_each_noise_kind_lies_in_its_band():
    rng = np.random.default_rng(1)
    n = int(120 * FS)
    assert _share_of_power(baseline_wander(n, FS, rng), 0.0, 1.0) > 0.95
    assert _share_of_power(muscle_noise(n, FS, rng), 5.0, 100.0) > 0.9
    assert _share_of_power(electrode_motion(n, FS, rng), 0.0, 12.0) > 0.9


@pytest.mark.parametrize("minutes", [1.0, 5.0, 6.0, float("nan")])
def test_an_excerpt_without_a_whole_noisy_segment_is_refused_naming_the_minimum(minutes):
    # 5 minutes or less used to crash the benchmark with KeyError: 'noisy' (no noisy beat)
    assert "at least 7 minutes" in excerpt_problem(minutes)


def test_the_minimum_excerpt_holds_a_whole_noisy_segment():
    assert excerpt_problem(MIN_EXCERPT_S / 60) is None
    mask = noisy_mask(int(MIN_EXCERPT_S * FS), FS)
    assert mask.sum() == int(SEGMENT_S * FS)


def test_the_benchmark_says_so_before_reading_any_data(capsys):
    from benchmarks import noise_stress as benchmark

    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(["--minutes", "5", "--data-dir", "/nonexistent"])
    assert exit_info.value.code == 2  # argparse's usage error, not a traceback
    assert "at least 7 minutes" in capsys.readouterr().err
