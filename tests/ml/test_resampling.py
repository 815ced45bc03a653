"""Resampling to the model rate keeps samples and beat positions consistent at any rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from ecg.dsp.signal import MODEL_FS, resample, rescale_samples
from ecg.io.records import default_data_dir

SPIKE_SIGMA_S = 0.015  # a QRS-like bump, wide enough to be seen at 50 Hz
DURATION_S = 1200.0  # long enough for a rate error of 1e-4 to move the last beats 40 samples


def spike_train(fs: float, duration_s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(signal, spike positions in samples): Gaussian bumps centred on whole samples."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    times = np.cumsum(rng.uniform(0.5, 1.2, int(duration_s / 0.5)))
    positions = np.round(times[times < duration_s - 1.0] * fs).astype(np.int64)
    x = np.zeros(n)
    radius = int(np.ceil(5 * SPIKE_SIGMA_S * fs))
    offsets = np.arange(-radius, radius + 1)
    bump = np.exp(-0.5 * (offsets / (SPIKE_SIGMA_S * fs)) ** 2)
    for position in positions:
        lo, hi = max(0, position - radius), min(n, position + radius + 1)
        x[lo:hi] += bump[lo - position + radius : hi - position + radius]
    return x, positions


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fs=st.floats(50.0, 1000.0), seed=st.integers(0, 2**16))
def test_resampled_spikes_land_where_the_rescaled_positions_say(fs, seed):
    x, positions = spike_train(fs, DURATION_S, seed)
    y = resample(x, fs, MODEL_FS)
    expected = rescale_samples(positions, fs, MODEL_FS)
    radius = int(0.1 * MODEL_FS)  # spikes are at least 0.5 s apart
    expected = expected[(expected >= radius) & (expected < len(y) - radius)]
    windows = expected[:, None] + np.arange(-radius, radius + 1)[None, :]
    found = expected - radius + np.argmax(y[windows], axis=1)
    assert np.abs(found - expected).max() <= 1, (fs, np.abs(found - expected).max())
    assert len(y) == int(np.ceil(len(x) * MODEL_FS / fs))


def test_the_model_rate_is_returned_unchanged():
    x = np.random.default_rng(0).normal(size=5000).astype(np.float32)
    np.testing.assert_array_equal(resample(x, MODEL_FS, MODEL_FS), x)


@pytest.mark.parametrize("fs", [128.0, 250.0, 500.0, 1000.0])
def test_rates_with_a_small_exact_ratio_keep_the_polyphase_result(fs):
    x = np.random.default_rng(1).normal(size=int(fs * 20))
    up, down = {128.0: (45, 16), 250.0: (36, 25), 500.0: (18, 25), 1000.0: (9, 25)}[fs]
    expected = sps.resample_poly(x, up, down).astype(np.float32)
    np.testing.assert_array_equal(resample(x, fs, MODEL_FS), expected)


@pytest.mark.parametrize("fs", [359.71, 77.7, 999.3])
def test_a_band_limited_signal_is_read_at_the_exact_output_times(fs):
    t = np.arange(int(fs * 60)) / fs
    wave = lambda t: np.sin(2 * np.pi * 7 * t) + 0.5 * np.sin(2 * np.pi * 31 * t + 1)  # noqa: E731
    y = resample(wave(t), fs, MODEL_FS)
    truth = wave(np.arange(len(y)) / MODEL_FS)
    inner = slice(1000, len(y) - 1000)  # away from the polyphase filter's edges
    assert np.abs(y - truth)[inner].max() < 0.01


@pytest.mark.mitdb
def test_record_100_at_359_71_hz_is_classified_as_at_360_hz():
    """The samples of record 100 said to be at 359.71 Hz (a CSV time column in rounded
    seconds): the same beats, so the same classes (691 of 763 'V' with the drifting resample)."""
    from ecg.features.beats import beat_annotations
    from ecg.io.records import load_record
    from ecg.models.lite_runtime import load_serving_bundle

    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    path = Path(__file__).resolve().parents[2] / "models" / "recording_spec_ctx.keras"
    if not path.is_file():
        pytest.skip("the shipped recording model is not in models/")
    bundle = load_serving_bundle(path)[0]
    record = load_record(data_dir, "100")
    peaks, _ = beat_annotations(record.ann_samples, record.ann_symbols)
    kept, _, at_360 = bundle.classify_beats(record.signal, MODEL_FS, peaks)
    kept_off, _, off = bundle.classify_beats(record.signal, 359.71, peaks)
    np.testing.assert_array_equal(kept_off, kept)
    same = at_360.argmax(axis=1) == off.argmax(axis=1)
    assert same.mean() >= 0.995, f"{(~same).sum()} of {same.size} beats change class"
    v = bundle.classes.index("V")
    assert abs(int((off.argmax(axis=1) == v).sum()) - int((at_360.argmax(axis=1) == v).sum())) <= 3
