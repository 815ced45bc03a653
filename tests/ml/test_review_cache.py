"""The review benchmark's cache follows the app's lead fusion (issue 20): a model whose metadata
asks for fusion gets the mean of the two leads' probabilities at the same reference peaks, in a
folder of its own; a record without a trained second lead keeps the one-lead probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import review_benchmark as rb

FS = 250.0
CLASSES = ["L", "N", "A", "V", "R", "!"]
PRE, POST = 25, 50  # samples around each peak in the fake model's windows


class FakeBundle:
    """``beat_windows`` / ``classify_windows`` without a network: the probabilities are a
    softmax of each window's peak height, so two leads of different amplitude disagree."""

    name, version = "fake", "1.0"

    def __init__(self, fusion: dict | None) -> None:
        self.metadata = {
            "classes": CLASSES,
            "sampling_rate": FS,
            "window": {"pre_s": PRE / FS, "post_s": POST / FS},
            "leads": ["MLII", "V1", "V5"],
        }
        if fusion is not None:
            self.metadata["lead_fusion"] = fusion

    def beat_windows(self, signal, fs, peaks):
        # the last beat has no window (too close to the end), as near a real record's end
        kept = np.array([i for i, p in enumerate(peaks) if PRE <= p < len(signal) - POST - 300])
        windows = np.stack([signal[peaks[i] - PRE : peaks[i] + POST] for i in kept])
        rr = np.tile(np.arange(6, dtype=np.float64), (len(kept), 1))
        return kept, windows.astype(np.float64), rr

    def classify_windows(self, windows, rr):
        height = windows.max(axis=1, keepdims=True)
        logits = height * np.arange(len(CLASSES))[None, :]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def record(folder: Path, name: str, leads: list[str]) -> np.ndarray:
    """A 10-s two-lead WFDB record with annotated beats every second; returns the signals."""
    import wfdb

    n = int(10 * FS)
    peaks = np.arange(125, n, 250)
    signals = np.zeros((2, n))
    rng = np.random.default_rng(0)
    for lead, scale in ((0, 1.0), (1, 0.3)):
        signals[lead, peaks] = scale * rng.uniform(0.5, 1.5, len(peaks))
    wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=leads, p_signal=signals.T,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(folder))  # fmt: skip
    wfdb.wrann(name, "atr", peaks, symbol=["N"] * len(peaks), write_dir=str(folder))
    return signals


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(rb, "CACHE", tmp_path / "cache")
    return tmp_path / "cache"


def one_lead(bundle: FakeBundle, signal: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    kept, windows, rr = bundle.beat_windows(signal.astype(np.float32), FS, peaks)
    return bundle.classify_windows(windows, rr)


def test_fused_cache_is_the_mean_of_both_leads_at_the_same_peaks(tmp_path, cache):
    signals = record(tmp_path, "900", ["MLII", "V1"])
    bundle = FakeBundle({"rule": "mean"})
    data = rb.cache_record(bundle, tmp_path, "900")
    peaks = np.arange(125, int(10 * FS), 250)
    p1, p2 = (one_lead(bundle, s, peaks) for s in signals)
    assert str(data["second_lead"]) == "V1"
    assert len(data["probs"]) == len(p1) == len(peaks) - 1
    np.testing.assert_allclose(data["probs"], (p1 + p2) / 2, atol=1e-3)
    assert np.abs(p1 - p2).max() > 0.1  # the leads disagree, so the mean is not one of them
    assert (cache / "fake-1.0-fused-mean" / "900.npz").is_file()
    assert not (cache / "fake-1.0").exists()  # never mixed with one-lead caches


def test_a_second_lead_the_model_was_not_trained_on_leaves_one_lead(tmp_path, cache):
    signals = record(tmp_path, "901", ["MLII", "V2"])
    bundle = FakeBundle({"rule": "mean"})
    data = rb.cache_record(bundle, tmp_path, "901")
    p1 = one_lead(bundle, signals[0], np.arange(125, int(10 * FS), 250))
    assert str(data["second_lead"]) == ""
    np.testing.assert_allclose(data["probs"], p1, atol=1e-3)


def test_a_model_without_fusion_caches_one_lead_in_its_own_folder(tmp_path, cache):
    signals = record(tmp_path, "902", ["MLII", "V1"])
    bundle = FakeBundle(None)
    data = rb.cache_record(bundle, tmp_path, "902")
    p1 = one_lead(bundle, signals[0], np.arange(125, int(10 * FS), 250))
    np.testing.assert_allclose(data["probs"], p1, atol=1e-3)
    assert (cache / "fake-1.0" / "902.npz").is_file()


def test_a_new_build_of_the_same_model_name_gets_its_own_cache(tmp_path, cache):
    # a model shipped under the same name must never be scored with its predecessor's answers
    before, after = FakeBundle(None), FakeBundle(None)
    before.metadata["created_at"] = "2026-12-04T16:40:12Z"
    after.metadata["created_at"] = "2026-12-06T02:24:47Z"
    assert rb.cache_folder(before) != rb.cache_folder(after)
    assert rb.cache_folder(after).name == "fake-1.0-20261206022447"


def test_the_second_lead_is_v1_first_and_never_the_primary():
    trained = ["MLII", "V1", "V5"]
    assert rb.second_lead_name(["V5", "MLII", "V1"], "MLII", trained) == "V1"
    assert rb.second_lead_name(["V5", "MLII"], "MLII", trained) == "V5"
    assert rb.second_lead_name(["MLII", "V4"], "MLII", trained) is None


def test_the_vote_grid_is_widened_one_step_only_where_its_best_lies_on_the_edge():
    grid = {"morph_scale": (0.08, 0.16, 0.32), "rhythm_scale": (0.1, 0.2, 0.4), "x": (1, 2)}
    best = {"morph_scale": 0.32, "rhythm_scale": 0.1, "x": 2}
    out = rb.widened(grid, best)
    assert out["morph_scale"] == (0.08, 0.16, 0.32, 0.64)
    assert out["rhythm_scale"] == (0.05, 0.1, 0.2, 0.4)
    assert out["x"] == (1, 2, 4)
    assert rb.widened(grid, {"morph_scale": 0.16, "rhythm_scale": 0.2, "x": 2})["x"] == (1, 2, 4)
    interior = {"morph_scale": 0.16, "rhythm_scale": 0.2, "x": 1.5}
    assert rb.widened(grid, interior) == grid


def test_an_f_answer_is_a_ventricular_miss_and_a_fusion_beat_called_v_no_false_one():
    # reference: two V beats, two fusion beats (six-class -1), two normal beats
    six, aami = rb.symbol_to_index("six"), rb.symbol_to_index("aami")
    symbols = ["V", "V", "F", "F", "N", "N"]
    rows = {
        "rec": np.array(["1"] * 6),
        "six": np.array([six.get(s, -1) for s in symbols]),
        "aami": np.array([aami.get(s, -1) for s in symbols]),
    }
    v, f, n = (rb.LABELS.index(c) for c in ("V", "F", "N"))
    answers = np.eye(len(rb.LABELS))[[v, f, v, f, n, f]]  # one V, one fusion, one N called F
    s = rb.score(rows, answers)["summary"]
    assert s["VEB"]["Se"] == 0.5  # the V beat answered F is missed
    # EC57 (bxb): the fusion beat called V is no false VEB (VFP = Nv + Sv); over every V call
    # it would be one
    assert abs(s["VEB"]["+P"] - 1.0) < 1e-9
    assert abs(s["VEB"]["+P_every_call"] - 0.5) < 1e-9
    per_class = s["six_per_class_f1"]
    assert per_class["N"] == 2 / 3  # the N beat answered F: a miss for N, no false N
