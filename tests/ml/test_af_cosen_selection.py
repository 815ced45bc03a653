"""The written selection rule of benchmarks/af_cosen_ds1.py on tiny fixtures (issue 20)."""

from __future__ import annotations

import numpy as np

from benchmarks import af_cosen_ds1 as selection


def result(name: str, se: float, ppv: float, dse: float, dppv: float) -> dict:
    return {
        "point": {"family": name},
        "scores": {
            "episode_sensitivity": se,
            "episode_positive_predictivity": ppv,
            "duration_sensitivity": dse,
            "duration_positive_predictivity": dppv,
        },
    }


def test_the_best_worst_score_wins_and_replaces_the_incumbent_by_the_margin():
    shipped = result("shipped", 1.0, 1.0, 0.85, 0.90)  # worst 0.85
    better = result("b", 0.96, 0.92, 0.90, 0.88)  # worst 0.88: wins by 0.03
    lopsided = result("c", 1.0, 1.0, 1.0, 0.5)  # the best sum, the worst worst
    decision = selection.choose([shipped, lopsided, better])
    assert decision["best"] is better and decision["replaces_shipped"]
    assert decision["ranked"][-1] is lopsided


def test_a_win_under_the_margin_keeps_the_incumbent():
    shipped = result("shipped", 1.0, 1.0, 0.85, 0.90)
    barely = result("b", 0.9, 0.9, 0.855, 0.9)  # worst 0.855: under 0.85 + 0.01
    decision = selection.choose([shipped, barely])
    assert decision["best"] is barely and not decision["replaces_shipped"]


def test_ties_go_to_the_larger_sum_then_the_candidate_order():
    shipped = result("shipped", 0.9, 0.9, 0.9, 0.9)
    same = result("b", 0.9, 0.9, 0.9, 0.9)
    assert selection.choose([shipped, same])["best"] is shipped  # not replaced on a tie
    first, second = result("x", 0.95, 0.95, 0.95, 0.95), result("y", 0.95, 0.95, 0.95, 0.95)
    assert selection.choose([shipped, first, second])["best"] is first
    bigger_sum = result("z", 0.95, 1.0, 0.95, 0.95)
    assert selection.choose([shipped, first, bigger_sum])["best"] is bigger_sum
    assert selection.choose([shipped, result("n", None, 1.0, 1.0, 1.0)])["best"] is shipped


def test_candidates_start_with_the_shipped_rule_and_evaluate_scores_a_fixture():
    points = selection.candidates()
    assert points[0]["family"] == "shipped"
    assert {p["family"] for p in points} == {"shipped", "cosen", "cosen_and_irregularity"}
    # One synthetic record: sinus, 300 intervals of AF, sinus; the reference is the AF.
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(200, 0.8), rng.uniform(0.4, 1.1, 300), np.full(200, 0.8)])
    peaks = np.round(np.concatenate([[1.0], 1.0 + np.cumsum(rr)]) * 360).astype(np.int64)
    times = peaks / 360
    row = {"peaks": peaks, "labels": np.full(peaks.size, "N"), "usable": None, "fs": 360.0,
           "reference": [(times[200], times[500])]}  # fmt: skip
    rows = {"r": selection.with_scores(row)}
    cosen = next(p for p in points if p["family"] == "cosen")
    scores = selection.evaluate(rows, cosen)
    assert scores["episode_sensitivity"] == 1.0 and scores["duration_sensitivity"] > 0.9
    never = {**cosen, "AF_COSEN_ON": 9.0, "AF_COSEN_OFF": 9.0}
    assert selection.evaluate(rows, never)["detected_episodes"] == 0
