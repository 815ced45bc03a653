"""Early beats from PTB-XL's PAC and PVC records (issue 17, point 2): the early, normally shaped
beats of PAC-only records are labelled A, the early, differently shaped beats of PVC-only records
V; the rest of such a record stays as context only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ecg.classes import class_codes
from ecg.dsp.signal import MODEL_FS
from ecg.features.beats import labels_for
from ecg.io.ptbxl import load_ptbxl_table, ptbxl_splits
from ecg.training import mixed_pipeline
from ecg.training.ptbxl_ectopic import (
    KINDS,
    build_ptbxl_ectopic_beats,
    ectopic_beats_for_records,
    ectopic_records,
    premature_mask,
)
from tests.ml.test_ptbxl_beats import regular, write_table
from tests.ml.test_train_mixed import write_mitdb

EARLY_AT = 5.0  # s: the premature beat's onset


def with_early_beat(shape: str) -> list[tuple[float, str]]:
    """A regular narrow rhythm with one beat 0.5 s after the one before (0.62 x the RR)."""
    beats = [b for b in regular("narrow") if abs(b[0] - EARLY_AT) > 0.5]
    before = max(o for o, _ in beats if o < EARLY_AT)
    return sorted([*beats, (before + 0.5, shape)])


def write_folder(root) -> None:
    """PAC records: narrow early beat (train, validation), wide early beat (train); excluded:
    PAC with PVC, CRBBB with PAC (already in the main table), NORM without PAC. PVC records:
    wide early beat (train), narrow early beat (train)."""
    rows = [
        (1, 10, {"PAC": 100.0, "SR": 0.0}, 1, with_early_beat("narrow")),
        (2, 11, {"PAC": 100.0, "LVH": 50.0}, 2, with_early_beat("wide_inverted")),
        (3, 12, {"PAC": 100.0, "PVC": 100.0}, 3, with_early_beat("narrow")),
        (4, 13, {"CRBBB": 100.0, "PAC": 100.0}, 4, with_early_beat("narrow")),
        (5, 14, {"NORM": 100.0}, 5, regular("narrow")),
        (6, 15, {"PAC": 100.0}, 9, with_early_beat("narrow")),
        (7, 16, {"PVC": 100.0, "SR": 0.0}, 6, with_early_beat("wide_inverted")),
        (8, 17, {"PVC": 100.0}, 7, with_early_beat("narrow")),
    ]
    write_table(root, rows)


def test_only_records_of_the_kind_without_other_ectopy_or_a_conducted_label_are_read():
    table = pd.DataFrame(
        {
            "scp_codes": [
                {"PAC": 100.0, "SR": 0.0},
                {"PAC": 100.0, "NORM": 100.0},  # NORM + PAC has no conducted label: read
                {"PAC": 100.0, "PVC": 100.0},
                {"PAC": 50.0, "AFIB": 100.0},
                {"PAC": 100.0, "CLBBB": 100.0},
                {"PAC": 100.0, "PACE": 100.0},
                {"NORM": 100.0},
                {"PVC": 100.0, "NORM": 100.0},
                {"PVC": 100.0, "BIGU": 100.0},
            ]
        },
        index=range(1, 10),
    )
    assert ectopic_records(table, KINDS["A"]).index.tolist() == [1, 2]
    assert ectopic_records(table, KINDS["V"]).index.tolist() == [8]


def test_the_mask_keeps_early_beats_of_the_dominant_shape_for_a_and_the_others_for_v():
    fs, r_index = MODEL_FS, 126
    t = (np.arange(324) - r_index) / fs
    beat = np.exp(-((t / 0.015) ** 2)) + 0.3 * np.exp(-(((t - 0.25) / 0.05) ** 2))
    rng = np.random.default_rng(0)
    windows = np.tile(beat, (12, 1)) + 0.01 * rng.standard_normal((12, 324))
    windows[4] = -1.5 * np.exp(-((t / 0.05) ** 2))  # wide inverted: not atrial
    rr_prev = np.full(12, 0.8)
    rr_prev[4] = 0.5  # early, but ventricular in shape
    rr_prev[8] = 0.6  # 0.75 x the median RR, dominant shape: atrial
    rr_prev[10] = 0.72  # 0.9 x: sinus variation
    atrial = premature_mask(windows, rr_prev, fs, r_index, KINDS["A"])
    assert np.flatnonzero(atrial).tolist() == [8]
    ventricular = premature_mask(windows, rr_prev, fs, r_index, KINDS["V"])
    assert np.flatnonzero(ventricular).tolist() == [4]
    empty = premature_mask(np.zeros((0, 324)), np.zeros(0), fs, r_index, KINDS["A"])
    assert empty.shape == (0,)


def test_the_table_labels_the_early_beat_and_keeps_the_record_for_its_context(tmp_path):
    write_folder(tmp_path)
    train = ptbxl_splits(load_ptbxl_table(tmp_path))["train"]
    beats = ectopic_beats_for_records(tmp_path, train, KINDS["A"], lead="II")
    table = beats.table
    # record 2's early beat is wide (no A: nothing of it kept); 3 has PVCs, 4 a label, 5 no PAC
    assert set(table.records) == {"ptbxl1"}
    symbols = table.symbols
    assert (symbols == "A").sum() == 1
    assert set(symbols) == {"A", "Q"} and (symbols == "Q").sum() >= 8
    early = table.rr[symbols == "A", 0]
    assert early.max() < 0.85 * np.median(table.rr[:, 0])
    # the context beats have no class: never trained or scored
    labels = labels_for(symbols, "six")
    assert set(labels[symbols == "Q"]) == {-1}
    assert set(labels[symbols == "A"]) == {class_codes("six").index("A")}
    assert beats.records_used == {"A": 1, "beats": 1} and set(beats.patients) == {10}


def test_the_pvc_records_give_their_wide_early_beat_as_v(tmp_path):
    write_folder(tmp_path)
    train = ptbxl_splits(load_ptbxl_table(tmp_path))["train"]
    table = ectopic_beats_for_records(tmp_path, train, KINDS["V"], lead="II").table
    # record 8's early beat keeps the dominant shape: no V, nothing of it kept
    assert set(table.records) == {"ptbxl7"}
    assert (table.symbols == "V").sum() == 1 and set(table.symbols) == {"V", "Q"}


def test_a_split_is_cached(tmp_path):
    write_folder(tmp_path)
    cache = tmp_path / "build" / "atrial.npz"
    built = build_ptbxl_ectopic_beats(tmp_path, "validation", KINDS["A"], cache=cache)
    assert set(built.table.records) == {"ptbxl6"} and cache.is_file()
    again = build_ptbxl_ectopic_beats(tmp_path / "elsewhere", "validation", KINDS["A"], cache=cache)
    assert np.array_equal(again.table.symbols, built.table.symbols)
    assert np.array_equal(again.table.windows, built.table.windows)


def test_the_mixed_plan_adds_them_only_when_asked(tmp_path):
    mitdb = write_mitdb(tmp_path / "mitdb")
    write_folder(tmp_path / "ptbxl")
    a = class_codes("six").index("A")
    for atrial in (False, True):
        plan = replace(
            mixed_pipeline.QUICK,
            ptbxl_ectopic=("A",) if atrial else (),
            ptbxl_leads=("II",),
            workers=1,
        )
        cache = tmp_path / f"cache_{atrial}"
        table, sources, is_val = mixed_pipeline.mixed_table(
            mitdb, tmp_path / "ptbxl", plan, cache_dir=cache
        )
        split, counts = mixed_pipeline.mixed_split(table, sources, is_val, plan)
        labels = table.labels("six")
        ptbxl_a = (sources == "ptbxl") & (labels == a)
        if not atrial:
            assert not ptbxl_a.any() and counts["train/ptbxl/A"] == 0
            continue
        # record 1 (fold 1) trains, record 6 (fold 9) validates; each lead is its own record
        assert set(table.records[ptbxl_a & ~is_val]) == {"ptbxl1@ii"}
        assert set(table.records[ptbxl_a & is_val]) == {"ptbxl6@ii"}
        assert counts["train/ptbxl/A"] == 1 and counts["validation/ptbxl/A"] == 1
        # the context beats are in the table (the record context) but in neither split
        context = (sources == "ptbxl") & (table.symbols == "Q")
        assert context.any()
        assert not np.isin(np.flatnonzero(context), np.concatenate([split.train, split.val])).any()
        assert "with the early A beats of PAC records" in split.description
