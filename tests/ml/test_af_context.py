"""A calls inside a detected AF episode read as N (ecg.features.af_context; issues 17, 18, 20)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.af_context import beats_in_spans, merge_atrial_in_af
from ecg.features.episodes import detect_af, detect_episodes
from tests.ml.test_episodes import FS, af_between_sinus

CLASSES = ["L", "N", "A", "V", "R", "!"]


def test_only_a_calls_inside_af_move_and_their_a_probability_goes_to_n():
    probabilities = np.array(
        [
            [0.0, 0.3, 0.7, 0.0, 0.0, 0.0],  # A, inside AF: moves
            [0.0, 0.1, 0.2, 0.7, 0.0, 0.0],  # V, inside AF: stays V
            [0.0, 0.4, 0.6, 0.0, 0.0, 0.0],  # A, outside AF: stays A
            [0.1, 0.8, 0.1, 0.0, 0.0, 0.0],  # N, inside AF: unchanged
        ],
        dtype=np.float32,
    )
    times = np.array([10.0, 20.0, 50.0, 30.0])
    out, moved = merge_atrial_in_af(probabilities, times, [(5.0, 40.0)], CLASSES)
    assert moved.tolist() == [True, False, False, False]
    assert out[0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert np.array_equal(out[1:], probabilities[1:])
    assert np.allclose(out.sum(axis=1), 1.0)
    assert probabilities[0, 2] == np.float32(0.7)  # the input is not changed


def test_no_af_or_no_a_class_changes_nothing():
    probabilities = np.array([[0.2, 0.1, 0.7]], dtype=np.float32)
    out, moved = merge_atrial_in_af(probabilities, np.array([1.0]), [], ["N", "V", "A"])
    assert not moved.any() and np.array_equal(out, probabilities)
    out, moved = merge_atrial_in_af(probabilities, np.array([1.0]), [(0.0, 2.0)], ["N", "V", "X"])
    assert not moved.any() and np.array_equal(out, probabilities)


def test_span_ends_are_inside():
    assert beats_in_spans(np.array([1.0, 2.0, 3.0, 4.0]), [(2.0, 3.0)]).tolist() == [
        False,
        True,
        True,
        False,
    ]


def test_detect_af_is_the_af_of_detect_episodes_and_a_calls_do_not_move_it():
    peaks, labels = af_between_sinus()
    rng = np.random.default_rng(0)
    with_a = labels.copy()
    with_a[rng.choice(peaks.size, 60, replace=False)] = "A"
    af = detect_af(peaks, labels, FS)
    assert [e.kind for e in af] == ["AF"]
    assert detect_af(peaks, with_a, FS) == af  # the classes count only through V beats
    every = detect_episodes(peaks, with_a, FS)
    assert [e for e in every if e.kind == "AF"] == af
    assert detect_episodes(peaks, with_a, FS, af=af) == every


def test_shipped_setting_is_the_one_chosen_on_ds1():
    import json
    from pathlib import Path

    from ecg.features import af_context

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/af_atrial_merge_ds1.json"
    assert af_context.MERGE_ATRIAL_IN_AF is json.loads(path.read_text())["decision"]["merge"]


def test_the_suggestions_spans_by_rule():
    from ecg.features.af_context import suggestion_spans

    spans = [(10.0, 20.0), (30.0, 40.0)]
    times, labels = np.array([15.0, 35.0, 50.0]), ["N", "A", "A"]
    assert suggestion_spans(spans, times, labels, "merge") == spans
    assert suggestion_spans(spans, times, labels, "unless_confirmed_atrial") == [(10.0, 20.0)]
    assert suggestion_spans(spans, times, labels, "none") == []
    with pytest.raises(ValueError, match="unknown suggestion rule"):
        suggestion_spans(spans, times, labels, "sometimes")
