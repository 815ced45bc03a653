"""The written rules of benchmarks/ptbxl_ectopic_study.py on a tiny fixture (issue 17)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks import ptbxl_ectopic_study as study
from ecg.classes import class_codes
from ecg.training.dataset import BeatTable, Split

L, N, A, V, R, FLUTTER = range(6)


def fixture(kind: str):
    """Validation beats: two MIT-BIH records (N and ``kind`` beats), a PTB-XL conducted record
    (R) and a PTB-XL record's new ``kind`` beats."""
    symbols = np.array(list(f"NNNN{kind}{kind}NN{kind}{kind}RRRR{kind}{kind}"))
    records = np.array(["209@mlii"] * 6 + ["223@mlii"] * 4 + ["ptbxl9@ii"] * 4 + ["ptbxl7@ii"] * 2)
    n = len(symbols)
    table = BeatTable(
        np.zeros((n, 10), np.float32), np.zeros((n, 6), np.float32), symbols, records,
        360.0, 0.0, 0.0, "mixed",
    )  # fmt: skip
    sources = np.array(["mitdb"] * 10 + ["ptbxl"] * 6)
    split = Split("t", np.zeros(0, np.int64), np.arange(n), np.zeros(0, np.int64), "t")
    return table, split, sources, np.ones(n, bool)


def one_hot(calls: list[int]) -> np.ndarray:
    return np.eye(6, dtype=np.float32)[calls]


def scored(monkeypatch, calls: dict[str, list[int]], kind: str = "A") -> dict:
    table, split, sources, is_val = fixture(kind)
    monkeypatch.setattr(
        study, "validation_probabilities", lambda bundle, *a: one_hot(calls[bundle.name])
    )
    bundles = {name: SimpleNamespace(name=name, classes=class_codes("six")) for name in calls}
    return study.score(table, split, sources, is_val, bundles, kind)


def truth(k: int) -> list[int]:
    return [N, N, N, N, k, k, N, N, k, k, R, R, R, R, k, k]


TRUTH = truth(A)


def test_more_mitdb_a_beats_found_and_nothing_lost_is_better(monkeypatch):
    shipped = [N, N, N, N, A, N, N, N, N, N, R, R, R, R, N, N]  # misses 3 of 4 A beats
    out = scored(monkeypatch, {"candidate": TRUTH, "shipped": shipped})
    assert out["beats"]["ptbxl new A"] == 2 and out["beats"]["all but the new A"] == 14
    assert out["rule"]["mitdb_A_f1"] == {"candidate": 1.0, "shipped": 0.4}
    assert out["rule"]["A_met"] and out["rule"]["macro_met"]
    assert out["rule"]["candidate_is_better"]


def test_the_new_ptbxl_a_beats_never_decide(monkeypatch):
    # the two differ only on the PTB-XL PAC record's beats, which the candidate gets right
    shipped = [*TRUTH[:14], N, N]
    out = scored(monkeypatch, {"candidate": TRUTH, "shipped": shipped})
    assert out["rule"]["mitdb_A_f1_gain"] == 0.0
    assert out["rule"]["macro_f1_difference"] == 0.0
    assert not out["rule"]["candidate_is_better"]


def test_a_gain_that_costs_the_conducted_beats_is_refused(monkeypatch):
    shipped = [N, N, N, N, A, N, N, N, N, N, R, R, R, R, A, A]
    candidate = [N, N, N, N, A, A, N, N, A, A, L, L, L, L, A, A]  # RBBB beats called LBBB
    out = scored(monkeypatch, {"candidate": candidate, "shipped": shipped})
    assert out["rule"]["A_met"] and not out["rule"]["macro_met"]
    assert not out["rule"]["candidate_is_better"]


def test_v_needs_fewer_false_pvcs_on_ptbxl_conducted_beats(monkeypatch):
    right = truth(V)
    shipped = [*right[:10], R, R, V, V, V, V]  # half of the conducted PTB-XL beats called V
    fewer = [*right[:10], R, R, R, V, V, V]  # a quarter: half as many false PVCs
    out = scored(monkeypatch, {"candidate": fewer, "shipped": shipped}, kind="V")
    assert out["ptbxl_conducted_called_V"] == {"candidate": 0.25, "shipped": 0.5}
    assert out["rule"]["false_V_met"] and out["rule"]["V_met"] and out["rule"]["macro_met"]
    assert out["rule"]["candidate_is_better"]
    same = scored(monkeypatch, {"candidate": shipped, "shipped": shipped}, kind="V")
    assert not same["rule"]["false_V_met"] and not same["rule"]["candidate_is_better"]


def test_v_fewer_false_pvcs_bought_with_missed_mitdb_pvcs_is_refused(monkeypatch):
    right = truth(V)
    shipped = [*right[:10], R, R, V, V, V, V]
    candidate = [N, N, N, N, V, N, N, N, N, N, R, R, R, R, V, V]  # misses 3 of 4 MIT-BIH PVCs
    out = scored(monkeypatch, {"candidate": candidate, "shipped": shipped}, kind="V")
    assert out["rule"]["false_V_met"] and not out["rule"]["V_met"]
    assert not out["rule"]["candidate_is_better"]


def test_each_kind_reads_its_own_written_rule():
    a, v = study.STUDIES["A"].rule_text(), study.STUDIES["V"].rule_text()
    assert "F1 of class ``A``" in a and "RULE" not in a and "``V``" not in a
    assert "falls by at least a quarter" in v and "0.75 x shipped" in v
    assert study.STUDIES["A"].plan.ptbxl_ectopic == ("A",)
