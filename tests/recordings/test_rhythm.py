"""The rhythm summary: counts, heart rate, RR irregularity, ectopy and runs."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.rhythm import heart_rate, rr_irregularity, runs_of, summarise

FS = 360.0
CLASSES = ["L", "N", "A", "V", "R", "!"]


def test_regular_75_bpm():
    peaks = (np.arange(100) * 0.8 * FS).astype(int)
    hr = heart_rate(peaks, FS)
    assert hr == {"mean_bpm": 75.0, "min_bpm": 75.0, "max_bpm": 75.0}
    rr = rr_irregularity(peaks, FS)
    assert rr["sdnn_ms"] == 0.0 and rr["rmssd_ms"] == 0.0 and rr["pnn50_percent"] == 0.0


def test_heart_rate_min_max_follow_sustained_changes_not_single_beats():
    rr = [1.0] * 30 + [0.5] * 30 + [1.0] * 10 + [0.4] + [1.0] * 10  # one premature beat at the end
    peaks = np.round(np.cumsum([0.0] + rr) * FS).astype(int)
    hr = heart_rate(peaks, FS)
    assert hr["min_bpm"] == 60.0 and hr["max_bpm"] == 120.0


def test_runs():
    labels = list("NVVNVVVNVNVVVVVNAANA")
    assert runs_of(labels, "V") == [(1, 2), (4, 3), (8, 1), (10, 5)]
    assert runs_of(labels, "A") == [(16, 2), (19, 1)]


def test_summary_counts_ectopy_per_hour_and_couplets():
    labels = (
        ["N"] * 50 + ["V", "V"] + ["N"] * 20 + ["V", "V", "V"] + ["N"] * 10 + ["A"] + ["N"] * 14
    )
    peaks = (np.arange(len(labels)) * 0.75 * FS).astype(int)
    duration_s = 1800.0  # half an hour
    summary = summarise(peaks=peaks, labels=labels, fs=FS, duration_s=duration_s, classes=CLASSES)
    counts = {c["code"]: (c["count"], c["percent"]) for c in summary["classes"]}
    assert counts["N"] == (94, 94.0) and counts["V"] == (5, 5.0) and counts["A"] == (1, 1.0)
    ectopy = {e["code"]: e for e in summary["ectopy"]}
    assert ectopy["V"]["per_hour"] == 10.0
    assert (ectopy["V"]["couplets"], ectopy["V"]["triplets"], ectopy["V"]["singles"]) == (1, 1, 0)
    assert ectopy["V"]["longest_run"] == 3
    assert ectopy["V"]["longest_run_at_s"] == pytest.approx(72 * 0.75, abs=0.01)
    assert ectopy["A"]["singles"] == 1 and ectopy["!"]["beats"] == 0
    assert summary["beats"] == 100


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="3 beats but 2 labels"):
        summarise(
            peaks=np.array([1, 2, 3]), labels=["N", "N"], fs=FS, duration_s=10, classes=CLASSES
        )
