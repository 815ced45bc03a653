"""Beat detection on synthetic rhythms with known beats, and its EC57 evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.detection import (
    DetectionError,
    detect_beats,
    evaluate_detection,
    fill_gaps_from_second_lead,
    find_local_peaks,
    match_to_reference,
)

from .synth import beat_times, ecg

FS = 360.0


@pytest.mark.parametrize("radius", [1, 5, 18, 40])
def test_vectorised_peak_finder_matches_wfdb(radius):
    from wfdb.processing.peaks import find_local_peaks as wfdb_find_local_peaks

    rng = np.random.default_rng(radius)
    sig = np.convolve(rng.standard_normal(6000), np.ones(9), "same")
    sig[2000:2030] = sig.max() + 1  # a plateau: ties must resolve the same way
    sig = np.round(sig, 1)  # many equal values
    np.testing.assert_array_equal(find_local_peaks(sig, radius), wfdb_find_local_peaks(sig, radius))


@pytest.mark.parametrize("fs", [250.0, 360.0, 500.0])
def test_detects_every_beat_of_a_synthetic_rhythm_with_ectopics(fs):
    duration = 120.0
    times = beat_times(duration, rr_s=0.75, premature_every=7)
    x = ecg(fs, duration, times)
    peaks = detect_beats(x, fs)
    truth = np.round(times * fs).astype(int)
    score = evaluate_detection(truth, peaks, fs)
    assert score.false_negatives == 0 and score.false_positives == 0, score
    matched = match_to_reference(truth, peaks, fs)
    assert np.all(matched >= 0)
    error_ms = 1000 * np.abs(peaks - truth[matched]) / fs
    assert error_ms.max() <= 6  # refined onto the R wave, not XQRS's filtered peak


def test_progress_reaches_one_and_long_recordings_are_chunked(monkeypatch):
    import ecg.dsp.detection as detection

    monkeypatch.setattr(detection, "CHUNK_S", 30.0)
    duration = 100.0
    times = beat_times(duration, rr_s=0.9)
    seen: list[float] = []
    peaks = detect_beats(ecg(FS, duration, times), FS, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4
    score = evaluate_detection(np.round(times * FS).astype(int), peaks, FS)
    assert (
        score.sensitivity == 1.0 and score.positive_predictivity == 1.0
    )  # no beat lost or doubled at chunk edges


def test_second_lead_fills_a_pause_but_adds_nothing_elsewhere():
    fs = FS
    primary = np.arange(10) * 300  # regular every 300 samples ...
    primary = np.delete(primary, 5)  # ... with beat 5 missed
    secondary = np.array([301, 1500, 2101, 2250])  # 1500 is the missed beat; 2250 is noise
    merged = fill_gaps_from_second_lead(primary, secondary, fs)
    np.testing.assert_array_equal(merged, np.sort(np.append(primary, 1500)))


def test_second_lead_beat_needs_a_trace_on_the_primary_lead():
    fs = FS
    primary = np.delete(np.arange(10) * 300, 5)
    clean = np.zeros(3300, dtype=np.float32)
    clean[primary] = 1.0  # R waves of the detected beats
    candidates = np.array([1500])
    assert 1500 not in fill_gaps_from_second_lead(primary, candidates, fs, clean)  # flat: noise
    clean[1500] = 0.5  # half the usual R amplitude: a real (ectopic) beat
    assert 1500 in fill_gaps_from_second_lead(primary, candidates, fs, clean)


def test_evaluation_counts():
    ref = np.array([100, 400, 700, 1000])
    test = np.array([105, 690, 850, 1020])
    score = evaluate_detection(ref, test, FS)
    assert (score.true_positives, score.false_negatives, score.false_positives) == (3, 1, 1)
    assert score.sensitivity == pytest.approx(0.75)
    assert score.positive_predictivity == pytest.approx(0.75)
    assert score.window_s == 0.15
    assert evaluate_detection(ref, np.array([], dtype=int), FS).sensitivity == 0.0


def test_flat_or_short_signal():
    assert detect_beats(np.zeros(int(FS * 20)), FS).size == 0
    with pytest.raises(DetectionError, match="shorter than 2 seconds"):
        detect_beats(np.zeros(100), FS)
