"""Leads recorded below 250 Hz (PTB-XL's 100 Hz) are searched for beats at the model rate.

XQRS run on a 100 Hz lead took many T waves for beats (twice the beats in normal PTB-XL
records), so every beat after the first was classified from a misplaced window. Training beats
of such data are detected at 360 Hz (``ptbxl_beats.record_beats``); serving now does the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp import detection
from ecg.dsp.detection import detect_beats, snap_to_extremum
from ecg.dsp.signal import prepare_signal
from ecg.io.ptbxl import default_ptbxl_dir


def lead_with_tall_t_waves(fs: float, n_beats: int = 30, seed: int = 0):
    """A sinus-like lead at ``fs``: narrow QRS (1.2 mV), tall late T waves (0.6 mV)."""
    rng = np.random.default_rng(seed)
    rr = 0.85 + 0.05 * rng.standard_normal(n_beats)
    peaks_s = 0.6 + np.cumsum(rr)
    n = int((peaks_s[-1] + 1.0) * fs)
    t = np.arange(n) / fs
    sig = 0.01 * rng.standard_normal(n)
    for p in peaks_s:
        sig += 1.2 * np.exp(-(((t - p) / 0.012) ** 2))
        sig -= 0.2 * np.exp(-(((t - p - 0.03) / 0.012) ** 2))
        sig += 0.6 * np.exp(-(((t - p - 0.3) / 0.05) ** 2))
    return sig.astype(np.float32), peaks_s


@pytest.mark.parametrize("fs", [100.0, 128.0, 360.0])
def test_every_beat_and_no_t_wave_is_found_at_low_rates(fs):
    sig, truth_s = lead_with_tall_t_waves(fs)
    found_s = detect_beats(sig, fs) / fs
    assert len(found_s) == len(truth_s)
    assert np.max(np.abs(found_s - truth_s)) <= 1.5 / fs + 0.005


def test_a_low_rate_lead_is_searched_at_the_model_rate(monkeypatch):
    seen = []
    original = detection._detect_one_lead

    def spy(signal, fs, progress, share):
        seen.append(fs)
        return original(signal, fs, progress, share)

    monkeypatch.setattr(detection, "_detect_one_lead", spy)
    sig, _ = lead_with_tall_t_waves(100.0)
    peaks = detect_beats(sig, 100.0)
    assert seen == [detection.DETECTION_FS]
    assert peaks.max() < len(sig)  # returned at the lead's own rate


def test_snap_to_extremum_keeps_one_output_per_peak():
    clean = np.zeros(50)
    clean[[10, 30]] = [1.0, -2.0]
    snapped = snap_to_extremum(clean, np.array([8, 11, 29, 33]), radius=3)
    assert snapped.tolist() == [10, 10, 30, 30]
    assert snap_to_extremum(clean, np.array([8]), radius=0).tolist() == [8]


def test_windows_of_a_100_hz_lead_are_centred_on_the_r_wave():
    from pathlib import Path

    from ecg.features.beats import window_bounds
    from ecg.models.bundle import ModelBundle

    # beat_windows reads only the metadata: no network is needed to cut the windows
    meta = {"sampling_rate": 360.0, "window": {"pre_s": 0.25, "post_s": 0.45}, "inputs": ["image"]}
    bundle = ModelBundle(None, meta, Path("none.keras"))
    sig, _ = lead_with_tall_t_waves(100.0)
    _, windows, _ = bundle.beat_windows(sig, 100.0, detect_beats(sig, 100.0))
    r_index, _ = window_bounds(360.0, 0.25, 0.0)
    assert len(windows) >= 25
    assert np.all(np.argmax(np.abs(windows), axis=1) == r_index)


PTBXL = default_ptbxl_dir()


@pytest.mark.skipif(PTBXL is None, reason="PTB-XL is not in ../shared/data/ptbxl")
def test_ptbxl_normal_records_give_one_detection_per_beat():
    from ecg.io.ptbxl import TEST_FOLD, conducted_beat_label, load_ptbxl_record, load_ptbxl_table

    table = load_ptbxl_table(PTBXL)
    fold = table[table["strat_fold"] == TEST_FOLD]
    normal = fold.index[fold["scp_codes"].map(conducted_beat_label) == "N"][:15]
    for ecg_id in normal:
        record = load_ptbxl_record(PTBXL, int(ecg_id))
        here = detect_beats(record.signal, record.fs)
        at_model_rate = detect_beats(prepare_signal(record.signal, record.fs, 360.0), 360.0)
        assert abs(len(here) - len(at_model_rate)) <= 1, ecg_id
        rate = 60.0 * (len(here) - 1) / ((here[-1] - here[0]) / record.fs)
        assert 35 <= rate <= 150, (ecg_id, rate)
