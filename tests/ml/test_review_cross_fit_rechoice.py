"""The written rule of benchmarks/review_cross_fit_rechoice.py (issue 20) on tiny rows."""

from __future__ import annotations

from benchmarks import review_cross_fit_rechoice as study


def row(morph: float, objective: float, nets: tuple[int, int]) -> dict:
    out = {"morph_scale": morph, "rhythm_scale": 0.1, "model_scale": 2.0, "objective": objective}
    for action, net in zip(study.ACTIONS, nets, strict=True):
        out[action] = {"fixed": net, "broken": 0, "net": net}
    return out


def test_a_better_objective_does_not_win_if_one_action_breaks_more():
    shipped = row(0.16, 0.80, (100, 100))
    rows = [row(0.08, 0.90, (99, 200)), shipped, row(0.32, 0.805, (100, 100))]
    decision = study.decide(rows, shipped)
    assert decision["best"]["morph_scale"] == 0.32 and decision["feasible"] == 2
    assert not decision["replaces_shipped_if_tests_pass"]  # +0.005 < 0.01


def test_a_feasible_gain_of_a_hundredth_replaces_and_ties_go_to_the_larger_net():
    shipped = row(0.16, 0.80, (100, 100))
    rows = [shipped, row(0.32, 0.8200, (100, 100)), row(0.64, 0.8195, (120, 100))]
    decision = study.decide(rows, shipped)
    assert decision["best"]["morph_scale"] == 0.64
    assert decision["replaces_shipped_if_tests_pass"]


def test_the_shipped_scales_are_in_the_grid():
    assert all(study.SHIPPED[k] in values for k, values in study.GRID.items())
