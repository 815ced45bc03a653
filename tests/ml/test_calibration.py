"""Temperature scaling, ECE, the uncertain rule and the selective-risk figures (issue 18.2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg.models import calibration as cal
from ecg.training import metrics, selective

ROOT = Path(__file__).resolve().parents[2]


def synthetic_logits(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels DRAWN from softmax(logits): a perfectly calibrated set at T = 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.5, size=(n, k))
    p = cal.softmax(logits)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return logits, np.minimum(y, k - 1)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_the_fit_recovers_a_known_temperature(true_t):
    logits, y = synthetic_logits(40_000, 6, seed=1)
    # the network reports logits * true_t: over-confident for true_t > 1
    t_hat = cal.fit_temperature(logits * true_t, y, from_logits=True)
    assert t_hat == pytest.approx(true_t, rel=0.05)
    # and the same from probabilities (what a shipped softmax gives)
    t_prob = cal.fit_temperature(cal.softmax(logits * true_t), y)
    assert t_prob == pytest.approx(t_hat, rel=1e-3)


def test_scaling_lowers_nll_and_ece_of_an_overconfident_model():
    logits, y = synthetic_logits(20_000, 6, seed=2)
    probs = cal.softmax(3.0 * logits)
    t = cal.fit_temperature(probs, y)
    after = cal.apply_temperature(probs, t)
    assert cal.negative_log_likelihood(after, y) < cal.negative_log_likelihood(probs, y)
    assert (
        cal.expected_calibration_error(after, y) < 0.02 < cal.expected_calibration_error(probs, y)
    )


def test_ece_of_a_perfectly_calibrated_set_is_about_zero():
    logits, y = synthetic_logits(50_000, 6, seed=3)
    probs = cal.softmax(logits)
    assert cal.expected_calibration_error(probs, y) < 0.01
    # the library's ECE is the report's (training.metrics) convention
    assert cal.expected_calibration_error(probs, y) == pytest.approx(
        metrics.expected_calibration_error(probs, y)
    )


def test_temperature_never_changes_the_predicted_class():
    rng = np.random.default_rng(4)
    probs = cal.softmax(rng.normal(0, 3, size=(5000, 6)))
    for t in (0.1, 0.7, 1.0, 3.0, 15.0):
        assert np.array_equal(cal.apply_temperature(probs, t).argmax(axis=1), probs.argmax(axis=1))
    out, _, _ = cal.calibrated(probs, {"temperature": 2.0, "uncertain_below": 0.5})
    assert np.array_equal(out.argmax(axis=1), probs.argmax(axis=1))
    assert np.allclose(out.sum(axis=1), 1.0)


def test_uncertain_mask_and_runner_up_on_a_hand_made_array():
    probs = np.array(
        [
            [0.90, 0.05, 0.05],  # confident class 0, runner-up 1 (first of the tie)
            [0.40, 0.35, 0.25],  # uncertain, class 0, runner-up 1
            [0.10, 0.30, 0.60],  # class 2 at 0.60: answered at threshold 0.5, runner-up 1
            [0.20, 0.45, 0.35],  # uncertain, class 1, runner-up 2
        ]
    )
    # T = 1 leaves the probabilities as they are, so the mask is readable by hand
    out, uncertain, runner_up = cal.calibrated(probs, {"temperature": 1.0, "uncertain_below": 0.5})
    assert np.allclose(out, probs)
    assert uncertain.tolist() == [False, True, False, True]
    assert runner_up.tolist() == [1, 1, 1, 2]
    # no calibration: nothing uncertain, probabilities unchanged
    out, uncertain, runner_up = cal.calibrated(probs, None)
    assert not uncertain.any() and np.allclose(out, probs)
    # a higher temperature flattens the probabilities: more beats become uncertain
    _, hot, _ = cal.calibrated(probs, {"temperature": 3.0, "uncertain_below": 0.5})
    assert hot.tolist() == [False, True, True, True]


def test_a_class_prior_sets_the_answer_against_how_common_each_class_is():
    """Bayes' rule: a beat equally likely N or V under balanced training is N where N is far
    more common; a sure V stays V. Undone exactly by ``model_probabilities``."""
    probs = np.array([[0.5, 0.5], [0.05, 0.95], [0.9, 0.1]])
    prior = {"prior": [0.9, 0.1], "tau": 1.0}
    tilted = cal.prior_tilted(probs, prior)
    assert tilted[0].tolist() == pytest.approx([0.9, 0.1])
    assert tilted.argmax(axis=1).tolist() == [0, 1, 0]
    assert np.allclose(tilted.sum(axis=1), 1.0)
    assert np.allclose(cal.prior_tilted(probs, {"prior": [0.9, 0.1], "tau": 0.0}), probs)
    with pytest.raises(ValueError):
        cal.prior_tilted(probs, {"prior": [1.0, 0.0], "tau": 1.0})


def test_served_probabilities_apply_the_prior_then_the_temperature_and_undo_exactly():
    rng = np.random.default_rng(5)
    probs = cal.softmax(rng.normal(0, 2, size=(400, 6)))
    prior = {"prior": [0.08, 0.75, 0.03, 0.07, 0.07, 0.005], "tau": 0.3}
    calibration = {"temperature": 0.75, "uncertain_below": 0.6, "class_prior": prior}
    served = cal.calibrated_probabilities(probs, calibration)
    expected = cal.apply_temperature(cal.prior_tilted(probs, calibration["class_prior"]), 0.75)
    np.testing.assert_allclose(served, expected, atol=1e-12)
    assert (served.argmax(axis=1) != probs.argmax(axis=1)).any()  # the prior moved some answers
    np.testing.assert_allclose(cal.model_probabilities(served, calibration), probs, atol=1e-9)
    out, uncertain, _ = cal.calibrated(probs, calibration)
    np.testing.assert_allclose(out, served, atol=1e-12)
    assert np.array_equal(uncertain, served.max(axis=1) < 0.6)
    # no calibration: the model's own probabilities, both ways
    assert np.allclose(cal.calibrated_probabilities(probs, None), probs)
    assert np.allclose(cal.model_probabilities(probs, None), probs)


def test_the_threshold_is_the_smallest_reaching_the_target_accuracy():
    # top probabilities 0.9 .. 0.5; the two least confident beats are wrong
    probs = np.array([[p, 1 - p] for p in (0.9, 0.8, 0.7, 0.6, 0.5 + 1e-9, 0.55)])
    y = np.array([0, 0, 0, 0, 1, 1])  # the 0.55 and 0.5 beats are wrong
    assert cal.choose_threshold(probs, y, 1.0) == pytest.approx(0.6)
    assert cal.choose_threshold(probs, y, 0.8) == pytest.approx(0.55)  # 4 of 5 right
    assert cal.choose_threshold(probs, y, 0.5) == pytest.approx(0.5, abs=1e-6)


def test_selective_curve_and_intervals_over_records():
    rng = np.random.default_rng(5)
    logits, y = synthetic_logits(6000, 3, seed=6)
    probs = cal.softmax(logits)
    records = rng.choice(["a", "b", "c", "d", "e"], size=len(y))
    curve = selective.selective_curve(probs, y, ["x", "y", "z"], coverages=(0.5, 0.8, 1.0))
    assert [round(r["coverage"], 2) for r in curve] == [0.5, 0.8, 1.0]
    acc = [r["accuracy_answered"] for r in curve]
    assert acc[0] > acc[1] > acc[2]  # calibrated: answering fewer beats gets more right
    at = selective.selective_at(probs, y, ["x", "y", "z"], curve[1]["threshold"], records)
    assert at["coverage"] == pytest.approx(curve[1]["coverage"])
    lo, hi = at["bootstrap"]["accuracy_answered"]
    assert lo <= at["accuracy_answered"] <= hi
    assert set(at["per_class"]) == {"x", "y", "z"}


def test_threshold_for_coverage_answers_at_least_that_share():
    probs = np.array([[p, 1 - p] for p in (0.95, 0.9, 0.8, 0.8, 0.7, 0.6, 0.55, 0.52, 0.51, 0.5)])
    assert cal.threshold_for_coverage(probs, 0.5) == pytest.approx(0.7)
    assert cal.threshold_for_coverage(probs, 0.3) == pytest.approx(0.8)  # the tie at 0.8: 40 %
    assert cal.threshold_for_coverage(probs, 1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        cal.threshold_for_coverage(probs, 0.0)


def test_weighted_coverage_counts_each_source_equally():
    probs = np.array([[p, 1 - p] for p in (0.95, 0.9, 0.8, 0.8, 0.7, 0.6, 0.55, 0.52, 0.51, 0.5)])
    # equal weights: the same answer as unweighted
    ones = np.ones(len(probs))
    for coverage in (0.3, 0.5, 1.0):
        assert cal.threshold_for_coverage(probs, coverage, ones) == pytest.approx(
            cal.threshold_for_coverage(probs, coverage)
        )
    # two sources: the two most confident beats are one source and weigh half of the whole, so
    # answering half the weight stops at 0.9, where the unweighted rule goes down to 0.7
    source = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    weights = np.where(source == 0, 0.5 / 2, 0.5 / 8)
    assert cal.threshold_for_coverage(probs, 0.5, weights) == pytest.approx(0.9)
    assert cal.threshold_for_coverage(probs, 0.51, weights) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        cal.threshold_for_coverage(probs, 0.5, np.zeros(len(probs)))


def test_shipped_models_carry_a_calibration_that_serving_can_apply():
    for name in ("recording_spec_ctx", "beat_image_cnn", "spectrogram_cnn"):
        meta = json.loads((ROOT / "models" / f"{name}.json").read_text())
        entry = meta["calibration"]
        assert entry["temperature"] > 0 and 0 < entry["uncertain_below"] < 1
        assert "106, 124, 209, 223" in entry["fitted_on"]
        assert entry["rule"] in ("none", "pooled_nll", "median_patient_nll")
        probs = np.full((1, len(meta["classes"])), 1.0 / len(meta["classes"]))
        _, uncertain, _ = cal.calibrated(probs, entry)
        assert uncertain.all()  # a uniform answer is never confident


def test_the_calibration_script_reproduces_on_a_small_fixture():
    from benchmarks import calibrate_models as script

    classes = ["L", "N", "A", "V", "R", "!"]

    def beats(seed: int) -> dict[str, np.ndarray]:
        logits, y = synthetic_logits(3000, 6, seed=seed)
        records = np.repeat(["r1", "r2", "r3", "r4"], 750)
        return {"probs": cal.softmax(2.0 * logits), "y": y, "records": records}  # overconfident

    entry = {"classes": classes, "sets": {"validation": beats(7), "ds2": beats(8)}}
    first = script.calibrate_one("m", entry, None)
    again = script.calibrate_one("m", entry, None)
    assert first["temperature"] == again["temperature"]  # deterministic
    assert first["rule"] != "none" and first["temperature"] == pytest.approx(2.0, rel=0.15)
    assert first["validation"]["at_threshold"]["coverage"] == pytest.approx(0.90, abs=0.01)
    assert first["ds2"]["argmax_unchanged"] and first["ds2"]["ece_after"] < 0.03
    meta = script.metadata_entry(first)
    _, uncertain, _ = cal.calibrated(entry["sets"]["validation"]["probs"], meta)
    assert uncertain.mean() == pytest.approx(0.10, abs=0.01)
