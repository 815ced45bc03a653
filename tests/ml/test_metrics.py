import numpy as np
import pytest

from classifier.ml import metrics


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
    m = metrics.aami_metrics(true, pred, six, aami)
    assert m["summary"]["SVEB"]["Se"] == pytest.approx(0.5)
    assert m["summary"]["SVEB"]["+P"] == pytest.approx(1.0)
    assert m["summary"]["VEB"]["Se"] == pytest.approx(1.0)
    assert m["summary"]["VEB"]["+P"] == pytest.approx(2 / 3)  # the fusion beat counts against
