"""Fusing two leads' class probabilities (ecg.features.lead_fusion, issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.lead_fusion import (
    BUNDLE_VOTE,
    CONSULT,
    GEOMETRIC,
    MEAN,
    PRIMARY,
    RULES,
    FusionSetting,
    consult_mask,
    fuse,
    fuse_aligned,
    fusion_applies,
    fusion_setting,
)

CLASSES = ["L", "N", "A", "V", "R", "!"]


def rows(*pairs: dict[str, float]) -> np.ndarray:
    out = np.zeros((len(pairs), len(CLASSES)), np.float32)
    for i, pair in enumerate(pairs):
        for code, p in pair.items():
            out[i, CLASSES.index(code)] = p
    return out


# Beat 0: an RBBB beat that lead II calls N (runner-up R) and V1 calls R;
# beat 1: a clear V on both; beat 2: an A beat (top A, runner-up N).
PRIMARY_P = rows({"N": 0.55, "R": 0.4, "A": 0.05}, {"V": 0.9, "N": 0.1}, {"A": 0.6, "N": 0.4})
SECOND_P = rows({"R": 0.9, "N": 0.1}, {"V": 0.5, "L": 0.5}, {"N": 0.9, "A": 0.1})


def test_primary_rule_returns_the_primary_probabilities():
    np.testing.assert_allclose(fuse(PRIMARY_P, SECOND_P, CLASSES, PRIMARY), PRIMARY_P)


def test_mean_averages_every_beat_and_flips_the_rbbb_beat():
    out = fuse(PRIMARY_P, SECOND_P, CLASSES, MEAN)
    np.testing.assert_allclose(out, (PRIMARY_P + SECOND_P) / 2, atol=1e-6)
    assert CLASSES[out[0].argmax()] == "R"
    assert CLASSES[out[2].argmax()] == "N"  # every beat: the A beat is changed too


def test_consult_averages_only_bundle_branch_beats():
    assert consult_mask(PRIMARY_P, CLASSES).tolist() == [True, False, False]
    out = fuse(PRIMARY_P, SECOND_P, CLASSES, CONSULT)
    assert CLASSES[out[0].argmax()] == "R"
    np.testing.assert_allclose(out[1:], PRIMARY_P[1:])  # V and A beats keep lead II's answer


def test_consult_mask_top_l_or_r_and_n_with_block_runner_up():
    p = rows({"L": 0.7, "N": 0.3}, {"R": 0.55, "V": 0.45}, {"N": 0.6, "L": 0.3, "A": 0.1},
             {"N": 0.6, "A": 0.3, "L": 0.1}, {"V": 0.6, "R": 0.4})  # fmt: skip
    assert consult_mask(p, CLASSES).tolist() == [True, True, True, False, False]
    # A label set without L / R: no beat is a bundle-branch beat.
    assert not consult_mask(np.array([[0.5, 0.5]]), ["N", "V"]).any()


def test_geometric_mean_is_normalised_and_vetoes_a_class_one_lead_rules_out():
    out = fuse(PRIMARY_P, SECOND_P, CLASSES, GEOMETRIC)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert CLASSES[out[0].argmax()] == "R"
    assert out[1, CLASSES.index("L")] < 1e-3  # lead II gave L nothing


def test_bundle_vote_keeps_primary_avf_and_shares_lnr_by_the_second_lead():
    out = fuse(PRIMARY_P, SECOND_P, CLASSES, BUNDLE_VOTE)
    for code in ("A", "V", "!"):
        i = CLASSES.index(code)
        np.testing.assert_allclose(out[:, i], PRIMARY_P[:, i], atol=1e-6)
    lnr = [CLASSES.index(c) for c in ("L", "N", "R")]
    np.testing.assert_allclose(out[:, lnr].sum(1), PRIMARY_P[:, lnr].sum(1), atol=1e-6)
    np.testing.assert_allclose(out[0, CLASSES.index("R")], 0.95 * 0.9, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_keeps_shape_and_sums_to_one(rule):
    rng = np.random.default_rng(0)
    p1 = rng.dirichlet(np.ones(6), size=20).astype(np.float32)
    p2 = rng.dirichlet(np.ones(6), size=20).astype(np.float32)
    out = fuse(p1, p2, CLASSES, rule)
    assert out.shape == (20, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert fuse(p1[:0], p2[:0], CLASSES, rule).shape == (0, 6)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="unknown fusion rule"):
        fuse(PRIMARY_P, SECOND_P, CLASSES, "max")
    with pytest.raises(ValueError, match="differ"):
        fuse(PRIMARY_P, SECOND_P[:2], CLASSES, MEAN)
    with pytest.raises(ValueError, match="classes"):
        fuse(PRIMARY_P, SECOND_P, CLASSES[:5], MEAN)


def test_fusion_applies_only_to_a_trained_second_lead():
    leads = ["MLII", "II", "V1", "V5"]
    assert fusion_applies("V1", leads) and fusion_applies("v5", leads)
    assert fusion_applies("Lead V1", leads) and fusion_applies("ML2", ["MLII"])  # one spelling
    assert not fusion_applies("V4", leads)  # MIT-BIH 124
    assert not fusion_applies("V2", leads)
    assert not fusion_applies(None, leads)
    assert not fusion_applies("V1", [])


def test_fuse_aligned_keeps_primary_where_the_second_lead_has_no_beat():
    samples = np.array([100, 400, 700])
    out = fuse_aligned(samples, PRIMARY_P, np.array([700, 100]), SECOND_P[[2, 0]], CLASSES, MEAN)
    np.testing.assert_allclose(out[0], (PRIMARY_P[0] + SECOND_P[0]) / 2, atol=1e-6)
    np.testing.assert_allclose(out[1], PRIMARY_P[1])  # 400: no second-lead beat
    np.testing.assert_allclose(out[2], (PRIMARY_P[2] + SECOND_P[2]) / 2, atol=1e-6)


def test_fusion_setting_from_metadata():
    assert fusion_setting({}) is None
    assert fusion_setting({"lead_fusion": {"rule": "primary"}}) is None
    assert fusion_setting({"lead_fusion": {"rule": "consult", "uncertain_below": 0.6}}) == (
        FusionSetting("consult", 0.6)
    )
    with pytest.raises(ValueError, match="unknown fusion rule"):
        fusion_setting({"lead_fusion": {"rule": "max"}})


def test_the_shipped_recording_model_names_a_valid_fusion():
    """models/recording_mixed.json's entry (written by benchmarks/lead_fusion_study.py) parses."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "models" / "recording_mixed.json"
    metadata = json.loads(path.read_text())
    setting = fusion_setting(metadata)
    if setting is None:
        pytest.skip("the shipped model does not fuse leads")
    assert setting.rule in RULES
    assert 0.0 < setting.uncertain_below < 1.0
    assert fusion_applies("V1", metadata["leads"])
