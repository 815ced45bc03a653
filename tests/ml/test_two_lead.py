"""Two-lead beat tables and inputs (issue 17 study): both leads cut at the primary lead's peaks,
the one-lead fallback (the primary in both channels), the model's two-channel input."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.signal import MODEL_FS
from ecg.features.beats import window_bounds
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, BeatTable
from ecg.training.ptbxl_beats import beats_for_records, record_beats
from ecg.training.training import ModelConfig, build_for, clean_inputs
from ecg.training.two_lead import (
    TwoLeadTable,
    aligned_windows,
    duplicate_primary,
    load_two_lead,
    mitdb_two_lead,
    ptbxl_two_lead_table,
    two_lead_inputs,
    with_one_lead_copies,
)
from tests.ml.synthetic_qrs import lead_with_beats
from tests.ml.test_ptbxl_beats import regular, write_folder


def test_both_leads_are_cut_at_the_primary_leads_peaks():
    primary = lead_with_beats(regular("narrow"), fs=100.0, seed=1)
    # a second lead of another shape and timing, where its own detection would differ
    second = np.roll(lead_with_beats(regular("rsr_rbbb"), fs=100.0, seed=2), 3)
    w1, w2, rr = aligned_windows(primary, second, 100.0)
    alone, rr_alone = record_beats(primary, 100.0)
    np.testing.assert_array_equal(w1, alone)  # the primary as the one-lead table has it
    np.testing.assert_array_equal(rr, rr_alone)
    assert w2.shape == w1.shape and not np.allclose(w2, w1)
    # a linear chain: the negated lead gives the negated windows at the same peaks
    _, neg, _ = aligned_windows(primary, -primary, 100.0)
    np.testing.assert_allclose(neg, -w1, atol=1e-5)


def test_leads_of_different_length_are_refused():
    lead = lead_with_beats(regular("narrow"), fs=100.0, seed=1)
    with pytest.raises(ValueError, match="differ in length"):
        aligned_windows(lead, lead[:-10], 100.0)


def test_the_ptbxl_two_lead_table_matches_the_one_lead_table_and_is_cached(tmp_path):
    write_folder(tmp_path)
    cache = tmp_path / "two.npz"
    table, patients = ptbxl_two_lead_table(tmp_path, "train", n_norm=None, cache=cache)
    from ecg.io.ptbxl import load_ptbxl_table, ptbxl_splits

    one = beats_for_records(tmp_path, ptbxl_splits(load_ptbxl_table(tmp_path))["train"])
    # same beats as the one-lead II table (the PVC of record 3 dropped from both leads)
    np.testing.assert_array_equal(table.windows, one.table.windows)
    np.testing.assert_array_equal(table.symbols, one.table.symbols)
    np.testing.assert_array_equal(patients, one.patients)
    # the synthetic V1 is minus II
    np.testing.assert_allclose(table.second, -table.windows, atol=1e-3)  # 16-bit storage
    assert table.has_second.all()
    again, patients_again = load_two_lead(cache)
    np.testing.assert_array_equal(again.second, table.second)
    np.testing.assert_array_equal(patients_again, patients)


def _table(records: list[str], n: int = 4, offset: float = 0.0) -> BeatTable:
    rng = np.random.default_rng(len(records))
    width = sum(window_bounds(MODEL_FS, STORE_PRE_S, STORE_POST_S))
    k = len(records) * n
    return BeatTable(
        (rng.normal(size=(k, width)) + offset).astype(np.float32),
        np.tile(np.arange(n, dtype=np.float32)[:, None], (len(records), 6)),
        np.array(["N"] * k),
        np.repeat(records, n),
        MODEL_FS,
        STORE_PRE_S,
        STORE_POST_S,
        "MLII",
    )


def test_mitdb_beats_without_a_second_lead_get_the_primary_twice():
    mlii = _table(["101", "102"])
    second = _table(["102"], offset=5.0)
    two = mitdb_two_lead(mlii, second)
    on_102 = mlii.records == "102"
    np.testing.assert_array_equal(two.second[on_102], second.windows)
    np.testing.assert_array_equal(two.second[~on_102], mlii.windows[~on_102])
    np.testing.assert_array_equal(two.has_second, on_102)
    with pytest.raises(ValueError, match="not the MLII beats"):
        mitdb_two_lead(mlii, _table(["102"], n=3))


def test_one_lead_copies_add_duplicated_records():
    two = mitdb_two_lead(_table(["a", "b", "c", "d"]), _table(["a", "b", "c", "d"], offset=5.0))
    out = with_one_lead_copies(two, 0.5, seed=0)
    copies = np.char.endswith(out.records.astype(str), "@one")
    assert copies.sum() == 8  # two records of four beats
    np.testing.assert_array_equal(out.second[copies], out.windows[copies])
    assert not out.has_second[copies].any() and out.has_second[~copies].all()


class _FakeBundle:
    """``beat_windows`` / ``render`` as the serving bundle has them: windows at the peaks, one
    image per window (its values spread over a 64x64 image)."""

    def __init__(self, drop_last_on: np.ndarray | None = None) -> None:
        self.drop_last_on = drop_last_on

    def beat_windows(self, signal, fs, peaks, *, readable=None):
        kept = np.arange(len(peaks))
        if self.drop_last_on is not None and signal is self.drop_last_on:
            kept = kept[:-1]  # a window that exists on the primary only
        windows = np.stack([signal[p - 5 : p + 5] for p in np.asarray(peaks)[kept]])
        return kept, windows, np.zeros((len(kept), 3), np.float32)

    def render(self, windows):
        tiled = np.stack([np.resize(w, (64, 64)) for w in windows])  # each image its own window
        return np.clip(tiled * 50 + 128, 0, 255).astype(np.uint8)


def test_the_one_lead_fallback_puts_the_primary_in_both_channels():
    rng = np.random.default_rng(0)
    primary, second = rng.normal(size=200), rng.normal(size=200)
    peaks = np.array([20, 60, 100, 140])
    bundle = _FakeBundle()
    kept, images, rr = two_lead_inputs(bundle, primary, None, 100.0, peaks)
    assert images.shape == (4, 64, 64, 2) and rr.shape == (4, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 1])
    _, both, _ = two_lead_inputs(bundle, primary, second, 100.0, peaks)
    np.testing.assert_array_equal(both[..., 0], images[..., 0])
    assert not np.array_equal(both[..., 1], both[..., 0])
    # a beat whose window is missing on the second lead keeps its primary in both channels
    _, partial, _ = two_lead_inputs(_FakeBundle(drop_last_on=second), primary, second, 100.0, peaks)
    np.testing.assert_array_equal(partial[:3], both[:3])
    np.testing.assert_array_equal(partial[3, ..., 1], partial[3, ..., 0])


@pytest.mark.slow
def test_training_inputs_stack_both_leads_and_the_model_takes_two_channels():
    two = mitdb_two_lead(_table(["a", "b"], n=8), _table(["a", "b"], n=8, offset=0.5))
    config = ModelConfig("t", "spectrogram", use_rr=True, rhythm_features="rr", channels=2)
    idx = np.arange(len(two))
    inputs = clean_inputs(config, two, idx)
    assert inputs["image"].shape == (16, 64, 64, 2)
    one = clean_inputs(ModelConfig("t", "spectrogram", use_rr=True, rhythm_features="rr"), two, idx)
    # channel one is the one-lead model's image; the "rr" input is the primary's
    np.testing.assert_array_equal(inputs["image"][..., 0], one["image"][..., 0])
    np.testing.assert_array_equal(inputs["rr"], one["rr"])
    dup = clean_inputs(config, duplicate_primary(two), idx)
    np.testing.assert_array_equal(dup["image"][..., 1], dup["image"][..., 0])
    model = build_for(config, two, idx, 6)
    assert tuple(model.inputs[0].shape) == (None, 64, 64, 2)
    assert model.predict(inputs, verbose=0).shape == (16, 6)
    assert isinstance(two.subset(idx[:3]), TwoLeadTable)
