"""benchmarks/patient_rhythm_ds1.py (issues 17, 18): the step it measures and its written
rule, on small fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import patient_rhythm_ds1 as study

L, N, A, V, R, FLUTTER = range(6)


def recording(uncertain_premature: int = 10) -> dict[str, np.ndarray]:
    """Regular beats the model calls N surely, premature beats (short RR, long pause after) it
    calls A surely, and ``uncertain_premature`` more premature beats it leaves 55 % N."""
    normal, premature = 80, 20
    rr = np.zeros((normal + premature + uncertain_premature, 6))
    rr[:, :3] = (0.8, 0.8, 0.8)
    rr[normal:, :3] = (0.48, 1.12, 0.8)
    probs = np.zeros((len(rr), 6))
    probs[:normal, N], probs[:normal, A] = 0.95, 0.05
    probs[normal : normal + premature, A], probs[normal : normal + premature, N] = 0.95, 0.05
    probs[normal + premature :, N], probs[normal + premature :, A] = 0.55, 0.45
    return {"probs": probs, "rr": rr}


@pytest.mark.parametrize("model_feature", [True, False])
def test_the_patient_rhythm_turns_uncertain_premature_beats_into_a(model_feature):
    data = recording()
    out = study.adapted(data, {"pseudo_confidence": 0.9, "model_feature": model_feature})
    assert (out[-10:].argmax(axis=1) == A).all()
    assert (out[:80].argmax(axis=1) == N).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0)  # N + A mass moved, not made


def test_without_a_confident_a_call_every_n_or_a_beat_stays_n():
    data = recording()
    data["probs"][80:100, N], data["probs"][80:100, A] = 0.55, 0.45
    out = study.adapted(data, {"pseudo_confidence": 0.9, "model_feature": True})
    assert (out.argmax(axis=1) == N).all()


def arm(objective: float, sveb_f1: float = 0.5) -> dict:
    return {"objective": objective, "SVEB": {"F1": sveb_f1}}


def decided(validation: list[float], ds1: list[float], sveb=None) -> dict:
    sveb = sveb or [0.5] * len(validation)
    rows = [dict(arm(v, s), arm=i) for i, (v, s) in enumerate(zip(validation, sveb, strict=True))]
    return study.decide(rows, [dict(arm(a), arm=i) for i, a in enumerate(ds1)])


def test_the_rule_adopts_only_a_gain_of_a_hundredth_on_validation():
    assert decided([0.80, 0.81, 0.805], [0.8, 0.8, 0.8])["adopted"]
    below = decided([0.80, 0.8075, 0.805], [0.8, 0.9, 0.9])
    assert below["best"] == 1 and not below["adopted"]


def test_the_rule_refuses_a_loss_over_all_ds1_or_of_validation_sveb():
    assert not decided([0.80, 0.82], [0.80, 0.798])["adopted"]
    assert not decided([0.80, 0.82], [0.80, 0.80], sveb=[0.5, 0.49])["adopted"]


def test_ties_on_validation_go_to_the_higher_all_ds1_score_then_the_first():
    assert decided([0.80, 0.8200, 0.8205], [0.8, 0.85, 0.84])["best"] == 1
    assert decided([0.80, 0.8200, 0.8205], [0.8, 0.84, 0.85])["best"] == 2
    assert decided([0.80, 0.82, 0.82], [0.8, 0.85, 0.85])["best"] == 1


def test_rule_2_adopts_a_gain_held_in_four_groups_of_five():
    def rows(values, sveb=None, six=None):
        return [
            {"arm": i, "objective": v, "SVEB": {"F1": (sveb or [0.5] * 3)[i]},
             "six_macro_f1": (six or [0.8] * 3)[i]}
            for i, v in enumerate(values)
        ]  # fmt: skip

    groups = {g: rows([0.8, 0.81, 0.8]) for g in "abcd"} | {"e": rows([0.8, 0.79, 0.8])}
    assert study.decide_cross_fitted(rows([0.80, 0.82, 0.815]), groups)["adopted"]
    two_below = dict(groups, d=rows([0.8, 0.79, 0.8]))
    assert not study.decide_cross_fitted(rows([0.80, 0.82, 0.815]), two_below)["adopted"]
    assert not study.decide_cross_fitted(rows([0.80, 0.805, 0.80]), groups)["adopted"]
    lost_sveb = rows([0.80, 0.82, 0.815], sveb=[0.5, 0.49, 0.5])
    assert not study.decide_cross_fitted(lost_sveb, groups)["adopted"]
    lost_six = rows([0.80, 0.82, 0.815], six=[0.8, 0.79, 0.8])
    assert not study.decide_cross_fitted(lost_six, groups)["adopted"]
    # ties within 0.001 go to the first candidate
    assert study.decide_cross_fitted(rows([0.80, 0.8195, 0.8200]), groups)["best"] == 1


def test_the_cross_fitting_folds_hold_out_every_training_record_once():
    from benchmarks import ds1_cross_fit as cf
    from ecg.classes import DS1_RECORDS
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    held = [r for fold in cf.FOLDS for r in fold]
    assert sorted(held) == sorted(set(DS1_RECORDS) - set(DS1_VALIDATION_RECORDS))
    for k, fold in enumerate(cf.FOLDS):
        kept = cf.fold_plan(k).mitdb_records
        assert not set(fold) & set(kept) and set(DS1_VALIDATION_RECORDS) <= set(kept)
        assert all(cf.fold_of(r) == k for r in fold)
    with pytest.raises(ValueError):
        cf.fold_of("209")
