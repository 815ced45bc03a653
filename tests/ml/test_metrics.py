import numpy as np
import pytest

from ecg.training import metrics
from ecg.training.aami import aami_from_confusion, aami_metrics, ec57_summary


def test_known_values_on_a_hand_made_confusion():
    # 3 classes; rows true, columns predicted.
    y_true = np.array([0] * 10 + [1] * 5 + [2] * 5)
    y_pred = np.array([0] * 8 + [1] * 2 + [1] * 4 + [0] + [2] * 5)
    cm = metrics.confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[8, 2, 0], [1, 4, 0], [0, 0, 5]]
    per = metrics.per_class_from_confusion(cm, ["a", "b", "c"])
    assert per["a"]["sensitivity"] == pytest.approx(0.8)
    assert per["a"]["precision"] == pytest.approx(8 / 9)
    assert per["a"]["specificity"] == pytest.approx(9 / 10)
    assert per["b"]["precision"] == pytest.approx(4 / 6)
    assert per["b"]["f1"] == pytest.approx(2 * 4 / (2 * 4 + 2 + 1))
    assert per["c"]["f1"] == pytest.approx(1.0)
    expected = np.mean([2 * 8 / (16 + 1 + 2), 8 / 11, 1.0])
    assert metrics.macro_f1(cm) == pytest.approx(expected)


def test_macro_f1_ignores_classes_absent_from_the_test_set_but_counts_their_predictions():
    cm = np.array([[9, 0, 1], [0, 10, 0], [0, 0, 0]])  # class 2 never occurs, predicted once
    f1_a = 2 * 9 / (2 * 9 + 1)
    assert metrics.macro_f1(cm) == pytest.approx((f1_a + 1.0) / 2)


def test_calibration_and_auc():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    y = np.array([0, 1, 0, 1])
    # bins: 0.9 (two beats, one right: |0.5-0.9|), 0.6 (right: 0.4), 0.8 (right: 0.2)
    assert metrics.expected_calibration_error(probs, y) == pytest.approx(
        0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.2
    )
    auc = metrics.one_vs_rest_auc(probs, y, ["x", "y"])
    # positives score 0.1, 0.8; negatives 0.1, 0.4: pairs won 0.5 + 0 + 1 + 1 of 4
    assert auc["per_class"]["y"] == pytest.approx(0.625)
    absent = metrics.one_vs_rest_auc(probs, np.zeros(4, dtype=int), ["x", "y"])
    assert absent["per_class"]["y"] is None and absent["macro"] is None


def test_aami_mapping_of_six_class_predictions():
    six = ["L", "N", "A", "V", "R", "!"]
    aami = ["N", "SVEB", "VEB", "F", "Q"]
    true = np.array([0, 0, 1, 1, 2, 2, 3])  # N N SVEB SVEB VEB VEB F
    pred = np.array([4, 1, 2, 1, 3, 5, 3])  # R N A N V ! V
    m = aami_metrics(true, pred, six, aami)
    assert m["summary"]["SVEB"]["Se"] == pytest.approx(0.5)
    assert m["summary"]["SVEB"]["+P"] == pytest.approx(1.0)
    assert m["summary"]["VEB"]["Se"] == pytest.approx(1.0)
    # EC57 (bxb): a fusion beat called V is no false VEB; over every V call it would count
    assert m["summary"]["VEB"]["+P"] == pytest.approx(1.0)
    assert m["summary"]["VEB"]["+P_every_call"] == pytest.approx(2 / 3)
    assert m["per_class"]["VEB"]["precision"] == pytest.approx(2 / 3)


def test_ec57_counts_follow_bxb():
    # rows: reference N, SVEB, VEB, F, Q; columns: the answer (a reviewer may answer F or Q)
    aami = ["N", "SVEB", "VEB", "F", "Q"]
    cm = np.array([
        [900, 30, 12, 1, 0],  # Nn Ns Nv Nf Nq
        [20, 60, 4, 0, 0],  # Sn Ss Sv Sf Sq
        [5, 3, 100, 2, 1],  # Vn Vs Vv Vf Vq
        [10, 6, 40, 7, 0],  # Fn Fs Fv Ff Fq
        [2, 9, 8, 0, 1],  # Qn Qs Qv Qf Qq
    ])  # fmt: skip
    s = ec57_summary(cm, aami)
    assert s["VEB"]["Se"] == pytest.approx(100 / (5 + 3 + 100 + 2 + 1))  # every V beat
    assert s["VEB"]["+P"] == pytest.approx(100 / (12 + 4 + 100))  # VFP = Nv + Sv, not Fv, Qv
    assert s["VEB"]["+P_every_call"] == pytest.approx(100 / (12 + 4 + 100 + 40 + 8))
    assert s["SVEB"]["Se"] == pytest.approx(60 / 84)
    assert s["SVEB"]["+P"] == pytest.approx(60 / (30 + 3 + 6 + 60))  # SFP = Ns + Vs + Fs, not Qs
    tp, fn, fp = 60, 24, 39
    assert s["SVEB"]["F1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # the stored block scores again to the same figures, and its intervals bracket them
    per_record = {"a": (cm // 2).tolist(), "b": (cm - cm // 2).tolist()}
    block = aami_from_confusion(cm, aami, per_record)
    assert block["summary"] == s
    for code in ("VEB", "SVEB"):
        for k in ("Se", "+P", "F1"):
            low, high = block["bootstrap"]["ec57"][code][k]
            assert low - 1e-12 <= s[code][k] <= high + 1e-12


def _per_record(*matrices):
    return {f"r{i}": m for i, m in enumerate(matrices)}


def test_per_record_confusions_add_up_to_the_whole_confusion():
    y_true = np.array([0, 0, 1, 1, 1, 0])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    records = np.array(["b", "b", "a", "a", "b", "a"])
    per_record = metrics.per_record_confusions(y_true, y_pred, records, 2)
    assert sorted(per_record) == ["a", "b"]
    assert per_record["a"] == [[1, 0], [0, 2]]
    total = np.sum(list(per_record.values()), axis=0)
    np.testing.assert_array_equal(total, metrics.confusion_matrix(y_true, y_pred, 2))


def test_record_bootstrap_is_narrow_for_alike_records_and_wide_for_unlike_ones():
    alike = metrics.bootstrap_intervals(_per_record(*[[[8, 2], [1, 9]]] * 10), ["N", "V"])
    assert alike["accuracy"] == pytest.approx([0.85, 0.85])
    assert alike["per_class"]["V"]["sensitivity"] == pytest.approx([0.9, 0.9])
    # half the records perfect, half all wrong: the point figure (0.5) sits inside a wide interval
    unlike = _per_record(*[[[5, 0], [0, 5]]] * 5, *[[[0, 5], [5, 0]]] * 5)
    result = metrics.bootstrap_intervals(unlike, ["N", "V"], seed=1)
    low, high = result["accuracy"]
    assert low < 0.3 and high > 0.7 and low < 0.5 < high
    assert result["records"] == 10 and result["resamples"] == metrics.BOOTSTRAP_RESAMPLES
    # the same seed draws the same record sets
    assert metrics.bootstrap_intervals(unlike, ["N", "V"], seed=1) == result


def test_a_class_no_test_record_holds_has_no_sensitivity_interval():
    # like '!' on DS2: never present, sometimes predicted
    per_record = _per_record(*[[[5, 0, 0], [0, 4, 1], [0, 0, 0]]] * 6)
    result = metrics.bootstrap_intervals(per_record, ["N", "V", "!"])
    assert result["per_class"]["!"]["sensitivity"] is None
    assert result["per_class"]["!"]["precision"] == pytest.approx([0.0, 0.0])
    assert result["per_class"]["V"]["sensitivity"] == pytest.approx([0.8, 0.8])


def test_paired_difference_against_a_baseline():
    worse = _per_record(*[[[6, 4], [4, 6]]] * 5, *[[[3, 7], [5, 5]]] * 5)
    better = _per_record(*[[[9, 1], [1, 9]]] * 5, *[[[7, 3], [2, 8]]] * 5)
    gap = metrics.bootstrap_difference(better, worse)
    assert gap["difference"] > 0.3 and gap["interval"][0] > 0 and gap["share_ahead"] == 1.0
    same = metrics.bootstrap_difference(worse, worse)
    assert same["difference"] == 0 and same["interval"] == [0.0, 0.0] and same["share_ahead"] == 0
    with pytest.raises(ValueError, match="same records"):
        metrics.bootstrap_difference(better, {"other": [[1, 0], [0, 1]]})
