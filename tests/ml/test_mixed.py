"""The mixed MIT-BIH + PTB-XL table, the band-limit augmentation and the mixed-data figures."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.signal import MODEL_FS
from ecg.models.bundle import ModelBundle
from ecg.training.augment import band_limit
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, BeatTable
from ecg.training.metrics import bootstrap_difference, seed_mean_difference
from ecg.training.mixed import as_mixed, cap_per_group, concat_tables, record_of, tag_lead
from ecg.training.mixed_eval import (
    AveragedBundle,
    call_shares,
    f1_with_intervals,
    majority_vote,
    seed_summary,
    summarise_seeds,
)

from .conftest import synthetic_ecg


def _table(records: list[str], n_per_record: int = 12, seed: int = 0) -> BeatTable:
    from ecg.dsp.signal import prepare_signal
    from ecg.features.beats import extract_windows, rr_features

    parts = []
    for i, name in enumerate(records):
        sig, peaks, symbols = synthetic_ecg(n_per_record + 2, seed=seed + i)
        clean = prepare_signal(sig, MODEL_FS, MODEL_FS)
        w, kept = extract_windows(clean, peaks, MODEL_FS, pre_s=STORE_PRE_S, post_s=STORE_POST_S)
        parts.append((w, rr_features(peaks, MODEL_FS)[kept], symbols[kept], name))
    n = [len(p[0]) for p in parts]
    return BeatTable(
        np.concatenate([p[0] for p in parts]).astype(np.float32),
        np.concatenate([p[1] for p in parts]).astype(np.float32),
        np.concatenate([p[2] for p in parts]).astype("<U2"),
        np.repeat([p[3] for p in parts], n),
        MODEL_FS,
        STORE_PRE_S,
        STORE_POST_S,
        "MLII",
    )


def _power_at(x: np.ndarray, fs: float, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(x), 1 / fs) - hz))])


def test_band_limit_removes_what_a_100_hz_record_cannot_hold_and_keeps_the_rest():
    t = np.arange(int(0.9 * MODEL_FS)) / MODEL_FS
    low, high = np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 70 * t)
    out = band_limit(np.stack([low + high]), MODEL_FS, 100.0)[0]
    core = slice(40, len(t) - 40)  # away from the window's edges
    assert out.shape == t.shape
    assert _power_at(out[core], MODEL_FS, 70) < 0.02 * _power_at(high[core], MODEL_FS, 70)
    assert abs(_power_at(out[core], MODEL_FS, 10) / _power_at(low[core], MODEL_FS, 10) - 1) < 0.05


def test_each_lead_is_its_own_record_and_the_tag_comes_off():
    table = _table(["101", "ptbxl7"])
    mixed = concat_tables([tag_lead(table, "II"), tag_lead(table, "V1")])
    assert len(mixed) == 2 * len(table)
    assert set(mixed.records) == {"101@ii", "ptbxl7@ii", "101@v1", "ptbxl7@v1"}
    assert set(record_of(mixed.records)) == {"101", "ptbxl7"}


def test_the_fast_record_context_equals_the_per_record_one():
    table = concat_tables([tag_lead(_table(["a", "b", "c"]), "II")])
    expected = table.rhythm_inputs(0.25, 0.45, "rr+record_context_v2")
    fast = as_mixed(table).rhythm_inputs(0.25, 0.45, "rr+record_context_v2")
    np.testing.assert_allclose(fast, expected, rtol=1e-6, atol=1e-6)


def test_caps_keep_at_most_the_cap_per_group_and_leave_small_groups_whole():
    keys = np.array(["N|a"] * 50 + ["V|a"] * 3 + ["N|b"] * 10)
    kept = cap_per_group(np.arange(len(keys)), keys, 8, seed=1)
    groups, counts = np.unique(keys[kept], return_counts=True)
    assert dict(zip(groups, counts, strict=True)) == {"N|a": 8, "V|a": 3, "N|b": 8}
    assert np.all(np.diff(kept) > 0)


def test_a_record_is_called_what_most_of_its_beats_are_called():
    names, voted = majority_vote(np.array([0, 1, 1, 2, 2, 2, 0]), np.array(list("aaabbbc")), 3)
    assert list(names) == ["a", "b", "c"] and list(voted) == [1, 2, 0]


def test_record_f1_and_call_shares_with_intervals():
    true = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    out = f1_with_intervals(true, pred, np.array(list("abcdef")), ["L", "N", "R"], ["L", "N"])
    assert out["L"]["Se"] == 0.5 and out["L"]["+P"] == 1.0
    assert abs(out["N"]["F1"] - 0.8) < 1e-9
    lo, hi = out["N"]["F1_interval"]
    assert lo <= 0.8 <= hi
    shares = call_shares(np.array([0, 0, 1, 1]), np.array(list("aabb")), ["L", "N"])
    assert shares["share"] == {"L": 0.5, "N": 0.5}
    assert shares["interval"]["L"][0] <= 0.5 <= shares["interval"]["L"][1]


def test_band_limited_epochs_lose_the_top_of_the_spectrogram_band(tmp_path):
    """``ModelConfig.band_limit_share``: the epoch's beats reach the spectrogram with less in
    its top rows (near 50 Hz, what a 100 Hz record cannot hold), the same beats otherwise."""
    from ecg.training.training import ModelConfig, _EpochData

    from .conftest import tiny_inter_patient_table

    table, labels, split = tiny_inter_patient_table(tmp_path)
    # a 48 Hz component on every beat: inside the 0-50 Hz band, above what 100 Hz can hold
    t = np.arange(table.windows.shape[1]) / table.fs
    table.windows = (table.windows + 0.3 * np.sin(2 * np.pi * 48 * t)).astype(np.float32)

    def top_rows(share: float) -> float:
        config = ModelConfig(
            "t", "spectrogram", noise_mv=0.0, augment=False, band_limit_share=share, seed=3
        )
        data = _EpochData.make(config, table, split.train, labels, 6)
        return float(data.inputs["image"][:, :4].mean())  # row 0 is the highest frequency

    # resample_poly's anti-alias filter rolls off across 45-50 Hz: a 48 Hz component loses
    # about half its amplitude, some 6 dB, i.e. about 20 grey levels on the -70..0 dB scale
    assert top_rows(1.0) < top_rows(0.0) - 10


def test_seed_summary_gives_mean_and_spread_and_skips_undefined_values():
    s = seed_summary([0.8, 0.7, 0.9])
    assert s["mean"] == pytest.approx(0.8)
    assert s["sd"] == pytest.approx(0.1)
    assert (s["min"], s["max"], s["n"]) == (0.7, 0.9, 3)
    partial = seed_summary([0.6, None, float("nan")])
    assert (partial["mean"], partial["sd"], partial["n"]) == (0.6, None, 1)
    assert seed_summary([None])["mean"] is None
    # a figure one seed lacks is undefined for that seed only
    both = summarise_seeds([{"a": 1.0, "b": 0.5}, {"a": 3.0}])
    assert both["a"]["mean"] == 2.0 and both["b"]["n"] == 1


def _per_record(rng: np.random.Generator, n_records: int = 12, skill: float = 0.8) -> dict:
    """Per-record 3-class confusions of a model right on about ``skill`` of the beats."""
    out = {}
    for i in range(n_records):
        cm = np.zeros((3, 3), int)
        for true in range(3):
            for _ in range(20):
                pred = true if rng.random() < skill else rng.integers(0, 3)
                cm[true, pred] += 1
        out[f"r{i:02d}"] = cm.tolist()
    return out


def test_seed_mean_difference_is_the_paired_bootstrap_for_one_seed_and_averages_several():
    rng = np.random.default_rng(1)
    good = [_per_record(rng, skill=0.9) for _ in range(3)]
    weak = [_per_record(rng, skill=0.5) for _ in range(2)]
    # one seed a side: the same figures as the paired bootstrap of two models
    one = seed_mean_difference(good[:1], weak[:1], resamples=200)
    two_models = bootstrap_difference(good[0], weak[0], resamples=200)
    assert one["difference"] == pytest.approx(two_models["difference"])
    assert one["interval"] == pytest.approx(two_models["interval"])
    # several seeds: the difference of the seeds' mean figures, on the same record draws
    many = seed_mean_difference(good, weak, resamples=200)
    # (mean good) - (mean weak) = mean(good_i - weak_0) + mean(weak_0 - weak_j)
    good_minus_weak0 = [bootstrap_difference(g, weak[0], resamples=10)["difference"] for g in good]
    weak0_minus_weak = [bootstrap_difference(weak[0], w, resamples=10)["difference"] for w in weak]
    expected = np.mean(good_minus_weak0) + np.mean(weak0_minus_weak)
    assert many["difference"] == pytest.approx(expected)
    assert many["seeds"] == [3, 2] and many["share_ahead"] == 1.0
    assert many["interval"][0] > 0
    same = seed_mean_difference(good, good, resamples=200)
    assert same["difference"] == 0.0 and same["share_ahead"] == 0.0
    other_records = {f"x{k}": v for k, v in good[1].items()}
    with pytest.raises(ValueError, match="same records"):
        seed_mean_difference([good[0], other_records], weak, resamples=10)
    with pytest.raises(ValueError, match="at least one"):
        seed_mean_difference([], weak, resamples=10)


class _FixedModel:
    """A stand-in Keras model answering the same probabilities for every image."""

    inputs = [object()]

    def __init__(self, probs: list[float]):
        self.probs = np.array(probs)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self.probs, (len(x), 1))


def _bundle(probs: list[float], **meta) -> ModelBundle:
    metadata = {
        "name": "m",
        "classes": ["N", "V", "A"],
        "inputs": ["image"],
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "representation": {"kind": "spectrogram"},
        "sampling_rate": 360,
        "label_set": "six",
        **meta,
    }
    return ModelBundle(_FixedModel(probs), metadata, None)


def test_averaged_bundle_averages_the_members_probabilities_and_refuses_unlike_members():
    members = [_bundle([0.6, 0.4, 0.0]), _bundle([0.0, 0.8, 0.2]), _bundle([0.3, 0.3, 0.4])]
    ensemble = AveragedBundle(members, "ens")
    images = np.zeros((5, 8, 8), np.uint8)
    probs = ensemble.predict_proba(images)
    assert probs.shape == (5, 3)
    assert probs[0] == pytest.approx([0.3, 0.5, 0.2])
    # the ensemble's call differs from the first member's: it is not one member in disguise
    assert probs.argmax(axis=1).tolist() == [1] * 5
    assert ensemble.name == "ens" and ensemble.classes == ["N", "V", "A"]
    with pytest.raises(ValueError, match="window"):
        AveragedBundle([members[0], _bundle([1, 0, 0], window={"pre_s": 0.3, "post_s": 0.4})], "x")
    with pytest.raises(ValueError, match="at least one"):
        AveragedBundle([], "x")
