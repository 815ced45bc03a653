"""Leads recorded above 360 Hz (LUDB's 500 Hz, 1000 Hz uploads) are searched for beats at
DETECTION_FS and their beats re-centred on the lead's own samples.

XQRS run at 500 Hz found under half the QRS of 17 LUDB records (4 at 360 Hz); see
``benchmarks/detection_rates.py`` for the choice and docs/calibration.md for the figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp import detection
from ecg.dsp.detection import REFINE_S, detect_beats, evaluate_detection, match_to_reference
from ecg.dsp.signal import bandpass
from tests.recordings.synth import beat_times, ecg


def _spy_rates(monkeypatch) -> list[float]:
    seen: list[float] = []
    original = detection._detect_one_lead

    def spy(signal, fs, progress, share):
        seen.append(fs)
        return original(signal, fs, progress, share)

    monkeypatch.setattr(detection, "_detect_one_lead", spy)
    return seen


@pytest.mark.parametrize("fs", [250.0, 500.0, 1000.0])
def test_every_lead_is_searched_at_the_detection_rate(monkeypatch, fs):
    seen = _spy_rates(monkeypatch)
    x = ecg(fs, 20.0, beat_times(20.0))
    peaks = detect_beats(x, fs, second_lead=ecg(fs, 20.0, beat_times(20.0), seed=1))
    assert seen == [detection.DETECTION_FS, detection.DETECTION_FS]
    assert 0 < peaks.max() < len(x)  # returned at the lead's own rate


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_every_beat_is_found_on_the_r_wave_of_the_leads_own_samples(fs):
    duration = 90.0
    times = beat_times(duration, rr_s=0.75, premature_every=7)
    x = ecg(fs, duration, times)
    truth = np.round(times * fs).astype(np.int64)
    peaks = detect_beats(x, fs)
    score = evaluate_detection(truth, peaks, fs)
    assert score.false_negatives == 0 and score.false_positives == 0, score
    matched = match_to_reference(truth, peaks, fs)
    assert np.all(matched >= 0)
    assert np.max(np.abs(peaks - truth[matched])) <= 2  # samples at ``fs``
    # Each beat sits on the band-passed lead's extremum at its own rate, not on the nearest
    # sample of the 360 Hz grid (up to 1.4 samples off at 500 Hz, 2.8 at 1000 Hz).
    clean = bandpass(x, fs)
    radius = int(round(REFINE_S * fs))
    extremum = [
        p - radius + int(np.argmax(np.abs(clean[p - radius : p + radius + 1]))) for p in truth
    ]
    np.testing.assert_array_equal(peaks, extremum)


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_the_second_lead_still_fills_the_primary_leads_gaps(fs):
    """Every 8th beat a quarter of the others' height on the primary lead: XQRS misses them
    there, the second lead has them, and they leave enough trace (over GAP_FILL_MIN_AMPLITUDE)
    on the primary lead to be added; a tenth of the height is noise and is not added."""
    duration = 60.0
    times = beat_times(duration, rr_s=0.8)
    small = times[5::8]
    normal = np.setdiff1d(times, small)
    truth = np.round(times * fs).astype(np.int64)
    second = ecg(fs, duration, times, seed=2)
    only_small = ecg(fs, duration, small, seed=1) - ecg(fs, duration, np.array([]), seed=1)
    primary = ecg(fs, duration, normal) + 0.25 * only_small

    alone = evaluate_detection(truth, detect_beats(primary, fs), fs)
    assert alone.false_negatives >= len(small) - 1  # the premise: the primary lead misses them
    both = evaluate_detection(truth, detect_beats(primary, fs, second_lead=second), fs)
    assert both.false_negatives == 0 and both.false_positives == 0, both

    faint = ecg(fs, duration, normal) + 0.1 * only_small
    with_faint = evaluate_detection(truth, detect_beats(faint, fs, second_lead=second), fs)
    assert with_faint.false_negatives >= len(small) - 1


def test_a_360_hz_lead_is_not_resampled(monkeypatch):
    called = []
    monkeypatch.setattr(detection, "_detect_upsampled", lambda *a: called.append(a))
    detect_beats(ecg(360.0, 10.0, beat_times(10.0)), 360.0)
    assert called == []
