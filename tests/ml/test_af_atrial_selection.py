"""The written selection rule of benchmarks/af_atrial_ds1.py on tiny fixtures (issue 20)."""

from __future__ import annotations

import numpy as np

from benchmarks import af_atrial_ds1 as selection


def point(family: str, on=None, low=None, p=None) -> dict:
    return {"family": family, "on": on, "low": low, "p": p}


ENTROPY = np.array([0.0, -0.7, -0.9, -1.1, -0.9, np.nan])
ATRIAL = np.array([0.9, 0.05, 0.05, 0.05, np.nan, 0.05])
SCORE = np.zeros(ENTROPY.size)  # every window has the app's score


def test_candidates_start_with_the_shipped_rule_in_the_written_order():
    points = selection.candidates()
    assert points[0] == point("shipped", on=-0.6)
    assert [p["family"] for p in points].count("or") == 20
    assert [p["family"] for p in points].count("veto") == 20
    assert [p["family"] for p in points][-4:] == ["p_alone"] * 4
    assert len(points) == 45


def test_the_shipped_rule_ignores_the_p_wave():
    start, stay = selection.flags(point("shipped", on=-0.6), SCORE, ENTROPY, ATRIAL)
    assert start.tolist() == [True, False, False, False, False, False]
    assert stay.tolist() == [True, True, False, False, False, False]


def test_veto_a_present_p_wave_stops_af_and_an_unmeasured_one_does_not():
    start, stay = selection.flags(point("veto", on=-0.8, p=0.2), SCORE, ENTROPY, ATRIAL)
    assert start.tolist() == [False, True, False, False, False, False]
    assert stay.tolist() == [False, True, True, False, True, False]


def test_or_a_lower_cosen_counts_only_with_the_p_wave_absent():
    start, stay = selection.flags(point("or", on=-0.6, low=-1.0, p=0.2), SCORE, ENTROPY, ATRIAL)
    assert start.tolist() == [True, True, True, False, False, False]
    assert stay.tolist() == [True, True, True, True, False, False]


def test_the_p_wave_counts_only_where_the_app_has_a_window_score():
    start, _ = selection.flags(point("p_alone", p=0.2), SCORE, ENTROPY, ATRIAL)
    assert start.tolist() == [False, True, True, True, False, True]
    no_score = SCORE.copy()
    no_score[1:3] = np.nan  # outside a usable stretch long enough for a window
    start, _ = selection.flags(point("p_alone", p=0.2), no_score, ENTROPY, ATRIAL)
    assert start.tolist() == [False, False, False, True, False, True]
