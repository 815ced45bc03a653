"""The atrial-activity AF feature (ecg.features.af_features.windowed_p_wave; issue 20): a P wave
that precedes every beat alike against fibrillatory waves or noise, on synthetic signals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg.features import episodes
from ecg.features.af_features import P_MIN_BEATS, pre_qrs_segments, windowed_p_wave

FS = 360.0
WIDTH = 90


def synthetic(
    seed: int,
    *,
    p_wave: bool,
    f_waves: float = 0.0,
    noise: float = 0.01,
    irregular: bool = False,
    beats: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """A signal with a narrow QRS at each peak, a P wave 160 ms before it (``p_wave``), 4-9 Hz
    fibrillatory waves of amplitude ``f_waves`` (mV) unrelated to the beats, white noise."""
    rng = np.random.default_rng(seed)
    rr = rng.uniform(0.45, 1.1, beats) if irregular else 0.8 + 0.02 * rng.standard_normal(beats)
    peaks = np.round((1.0 + np.concatenate([[0.0], np.cumsum(rr)])) * FS).astype(np.int64)
    t = np.arange(int(peaks[-1] + 2 * FS)) / FS
    x = noise * rng.standard_normal(t.size)
    for r in peaks / FS:
        x += 1.0 * np.exp(-0.5 * ((t - r) / 0.012) ** 2)
        if p_wave:
            x += 0.12 * np.exp(-0.5 * ((t - r + 0.16) / 0.025) ** 2)
    if f_waves:
        # A wandering 4-9 Hz oscillation: its frequency drifts, as atrial fibrillatory waves do.
        freq = 6.5 + 2.0 * np.sin(2 * np.pi * 0.05 * t + rng.uniform(0, 6))
        x += f_waves * np.sin(2 * np.pi * np.cumsum(freq) / FS + rng.uniform(0, 6))
    return x, peaks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_p_wave_scores_high_and_fibrillation_or_noise_low(seed):
    sinus = windowed_p_wave(*synthetic(seed, p_wave=True), FS, width=WIDTH)
    # Sinus rhythm with frequent irregular intervals (ectopy-like) still has its P wave.
    irregular_sinus = windowed_p_wave(
        *synthetic(seed, p_wave=True, irregular=True), FS, width=WIDTH
    )
    af = windowed_p_wave(
        *synthetic(seed, p_wave=False, f_waves=0.05, irregular=True), FS, width=WIDTH
    )
    noise = windowed_p_wave(*synthetic(seed, p_wave=False, noise=0.03), FS, width=WIDTH)
    assert np.nanmin(sinus) > 0.6
    assert np.nanmin(irregular_sinus) > 0.6
    assert np.nanmax(af) < 0.15
    assert np.nanmax(noise) < 0.15


def test_scale_free_and_one_value_per_interval():
    signal, peaks = synthetic(3, p_wave=True)
    values = windowed_p_wave(signal, peaks, FS, width=WIDTH)
    assert values.shape == (peaks.size - 1,)
    np.testing.assert_allclose(windowed_p_wave(10 * signal, peaks, FS, width=WIDTH), values)


def test_left_out_intervals_do_not_count_and_too_few_beats_give_nan():
    signal, peaks = synthetic(4, p_wave=True)
    n = peaks.size - 1
    keep = np.ones(n, dtype=bool)
    keep[: n // 2] = False  # the first half unusable (unreadable, ectopy)
    values = windowed_p_wave(signal, peaks, FS, keep, width=WIDTH)
    assert np.all(np.isnan(values[:10]))  # windows there keep under P_MIN_BEATS beats
    assert np.nanmin(values[-10:]) > 0.6
    keep[:] = False
    keep[: P_MIN_BEATS - 1] = True
    assert np.all(np.isnan(windowed_p_wave(signal, peaks, FS, keep, width=WIDTH)))


def test_a_recording_shorter_than_a_window_and_edges_of_the_signal():
    signal, peaks = synthetic(5, p_wave=True, beats=40)
    assert np.all(np.isnan(windowed_p_wave(signal, peaks, FS, width=WIDTH)))
    segments, inside = pre_qrs_segments(signal, np.array([10, 1000, signal.size - 5]), FS)
    assert inside.tolist() == [False, True, True]
    assert segments.shape == (3, int(round(0.30 * FS)) - int(round(0.08 * FS)))


def mixed_rhythm(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Sinus rhythm (150 beats), AF without P waves but with f-waves (300 beats), then sinus
    rhythm with P waves and RR as irregular as the AF's (300 beats: what frequent multiform
    ectopy or marked sinus arrhythmia does to the RR intervals). Returns the signal, the peaks
    and the AF's (start, end) seconds."""
    rng = np.random.default_rng(seed)
    rr = np.concatenate([0.8 + 0.02 * rng.standard_normal(150), rng.uniform(0.45, 1.1, 600)])
    peaks = np.round((1.0 + np.concatenate([[0.0], np.cumsum(rr)])) * FS).astype(np.int64)
    t = np.arange(int(peaks[-1] + 2 * FS)) / FS
    x = 0.01 * rng.standard_normal(t.size)
    af = (peaks[150] / FS, peaks[450] / FS)
    near = np.arange(-int(0.3 * FS), int(0.1 * FS))  # each beat drawn only near its peak
    for i, p in enumerate(peaks.tolist()):
        tt = near / FS
        x[p + near] += np.exp(-0.5 * (tt / 0.012) ** 2)
        if not 150 < i <= 450:  # beats 151-450 end an AF interval: no P wave before them
            x[p + near] += 0.12 * np.exp(-0.5 * ((tt + 0.16) / 0.025) ** 2)
    inside = (t >= af[0]) & (t < af[1])
    x[inside] += 0.05 * np.sin(
        2 * np.pi * 6.0 * t[inside] + 0.3 * np.cumsum(rng.standard_normal(inside.sum())) / FS
    )
    return x, peaks, af


@pytest.mark.parametrize("seed", [0, 1])
def test_with_the_signal_irregular_sinus_rhythm_is_no_longer_af(seed):
    signal, peaks, (start, end) = mixed_rhythm(seed)
    labels = np.full(peaks.size, "N")
    # The RR rule alone (no signal: the COSEn rule) calls the irregular sinus rhythm AF too.
    rr_only = episodes.af_episodes(peaks, labels, FS)
    assert any(e.end_s > end + 60 for e in rr_only)
    found = episodes.af_episodes(peaks, labels, FS, signal=signal)
    assert len(found) == 1
    # The start is COSEn's (refined to the RR change); the end is where the P waves are back
    # in most of the window, up to about half a window (45 intervals) late.
    assert abs(found[0].start_s - start) < 15
    assert end - 15 < found[0].end_s < end + 60
    # detect_episodes passes the signal through; without AF_P_PRESENT the COSEn rule applies.
    assert [e for e in episodes.detect_episodes(peaks, labels, FS, signal=signal)
            if e.kind == "AF"] == found  # fmt: skip


def test_no_atrial_rule_without_its_threshold(monkeypatch):
    signal, peaks, _ = mixed_rhythm(0)
    labels = np.full(peaks.size, "N")
    monkeypatch.setattr(episodes, "AF_P_PRESENT", None)
    assert episodes.af_episodes(peaks, labels, FS, signal=signal) == episodes.af_episodes(
        peaks, labels, FS
    )


def test_a_window_without_a_measurable_p_wave_is_not_vetoed():
    entropy = np.array([0.0, 0.0, -2.0, 0.0])
    atrial = np.array([np.nan, 0.9, 0.01, 0.05])
    start, stay = episodes.af_window_flags(np.zeros(4), entropy, atrial)
    assert start.tolist() == [True, False, False, True]
    assert stay.tolist() == [True, False, False, True]


def test_the_shipped_atrial_constants_are_the_selection_scripts_choice():
    path = Path(__file__).resolve().parents[2] / "benchmarks/results/af_atrial_ds1.json"
    result = json.loads(path.read_text())
    chosen = result["report"]["chosen_on_ds1"]["point"]
    assert result["replaces_shipped"] and chosen["family"] == "veto"
    assert episodes.AF_P_PRESENT == chosen["p"]
    assert episodes.AF_ATRIAL_COSEN_ON == chosen["on"]
    assert episodes.AF_ATRIAL_COSEN_OFF == pytest.approx(chosen["on"] - 0.2)


def test_a_missing_sample_does_not_spoil_the_later_windows():
    signal, peaks = synthetic(6, p_wave=True, beats=400)
    signal[peaks[20] - 50 : peaks[20] + 50] = np.nan
    values = windowed_p_wave(signal, peaks, FS, width=WIDTH)
    assert np.isfinite(values).all() and np.nanmin(values[100:]) > 0.6
