"""Beat detection on leads recorded above 360 Hz (LUDB's 500 Hz, 1000 Hz uploads), issue 18.

Such leads are searched at 360 Hz and their beats re-centred at their own rate. Searched at
their own rate, as before, the beats of these clean synthetic 1000 Hz leads were not found at all
(and 73 % of MIT-BIH's beats resampled to 1000 Hz): see ``benchmarks/detection_rates.py`` and
docs/calibration.md. Between 250 and 360 Hz a lead is still searched at its own rate.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.detection_rates import candidate_detect_beats, todays_detect_beats
from ecg.dsp.detection import REFINE_S, detect_beats, evaluate_detection, match_to_reference
from ecg.dsp.signal import bandpass
from tests.recordings.synth import beat_times, ecg

RATES = [500.0, 1000.0]


def _assert_every_beat_on_its_r_wave(x: np.ndarray, fs: float, times: np.ndarray, peaks) -> None:
    truth = np.round(times * fs).astype(np.int64)
    score = evaluate_detection(truth, peaks, fs)
    assert score.false_negatives == 0 and score.false_positives == 0, score
    matched = match_to_reference(truth, peaks, fs)
    assert np.all(matched >= 0)
    assert np.max(np.abs(peaks - truth[matched])) <= 2  # samples at ``fs``
    # each beat on the band-passed lead's extremum at its own rate
    clean = bandpass(x, fs)
    radius = int(round(REFINE_S * fs))
    extremum = [
        t - radius + int(np.argmax(np.abs(clean[t - radius : t + radius + 1]))) for t in truth
    ]
    np.testing.assert_array_equal(peaks, extremum)


def _rhythm(fs: float) -> tuple[np.ndarray, np.ndarray]:
    times = beat_times(90.0, rr_s=0.75, premature_every=7)
    return ecg(fs, 90.0, times), times


@pytest.mark.parametrize("fs", RATES)
def test_every_beat_is_found_on_its_r_wave(fs):
    x, times = _rhythm(fs)
    _assert_every_beat_on_its_r_wave(x, fs, times, detect_beats(x, fs))


def _faint_beats(fs: float, height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(primary, second lead, truth, faint beats): every 8th beat ``height`` times the others'
    on the primary lead, full height on the second."""
    times = beat_times(60.0, rr_s=0.8)
    small = times[5::8]
    only_small = ecg(fs, 60.0, small, seed=1) - ecg(fs, 60.0, np.array([]), seed=1)
    primary = ecg(fs, 60.0, np.setdiff1d(times, small)) + height * only_small
    truth = np.round(times * fs).astype(np.int64)
    return primary, ecg(fs, 60.0, times, seed=2), truth, len(small)


@pytest.mark.parametrize("fs", RATES)
def test_the_second_lead_fills_the_primary_leads_gaps(fs):
    """A quarter-height beat: the primary lead alone misses it, the second lead has it and it
    leaves enough trace (over GAP_FILL_MIN_AMPLITUDE) on the primary to be added."""
    primary, second, truth, n_small = _faint_beats(fs, 0.25)
    alone = evaluate_detection(truth, detect_beats(primary, fs), fs)
    assert alone.false_negatives >= n_small - 1  # the premise: the primary lead misses them
    both = evaluate_detection(truth, detect_beats(primary, fs, second_lead=second), fs)
    assert both.false_negatives == 0 and both.false_positives == 0, both


def test_a_beat_without_a_trace_on_the_primary_lead_is_not_added():
    primary, second, truth, n_small = _faint_beats(500.0, 0.1)  # under the amplitude floor
    score = evaluate_detection(truth, detect_beats(primary, 500.0, second_lead=second), 500.0)
    assert score.false_negatives >= n_small - 1 and score.false_positives == 0, score


def _two_leads(fs: float) -> tuple[np.ndarray, np.ndarray]:
    return _rhythm(fs)[0], ecg(fs, 90.0, beat_times(90.0), seed=1)


@pytest.mark.parametrize("fs", [250.0, 300.0])
def test_between_250_and_360_hz_a_lead_is_searched_at_its_own_rate(fs):
    x, second = _two_leads(fs)
    np.testing.assert_array_equal(todays_detect_beats(x, fs), detect_beats(x, fs))
    np.testing.assert_array_equal(
        todays_detect_beats(x, fs, second_lead=second), detect_beats(x, fs, second_lead=second)
    )


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_above_360_hz_detect_beats_is_the_measured_candidate(fs):
    x, second = _two_leads(fs)
    np.testing.assert_array_equal(candidate_detect_beats(x, fs), detect_beats(x, fs))
    np.testing.assert_array_equal(
        candidate_detect_beats(x, fs, second_lead=second),
        detect_beats(x, fs, second_lead=second),
    )


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_the_candidate_finds_every_beat_on_its_r_wave_and_fills_gaps(fs):
    x, times = _rhythm(fs)
    _assert_every_beat_on_its_r_wave(x, fs, times, candidate_detect_beats(x, fs))
    primary, second, truth, _ = _faint_beats(fs, 0.25)
    both = evaluate_detection(truth, candidate_detect_beats(primary, fs, second_lead=second), fs)
    assert both.false_negatives == 0 and both.false_positives == 0, both
