"""PTB-XL beat table (issue 17, point 2): detected beats labelled by the record rule, only the
dominant beats of records with PVC / PAC statements, in the MIT-BIH table's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import wfdb

from ecg.dsp.signal import MODEL_FS
from ecg.features.beats import window_bounds
from ecg.io.ptbxl import load_ptbxl_table, ptbxl_splits
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, load_beat_table
from ecg.training.ptbxl_beats import beats_for_records, build_ptbxl_beats, dominant_beats
from tests.ml.synthetic_qrs import lead_with_beats

RR = 0.8
PREMATURE_AT = 5.0  # s: where the ectopic record's PVC falls (0.45 s after the beat before)


def regular(shape: str) -> list[tuple[float, str]]:
    return [(onset, shape) for onset in np.arange(0.6, 9.4, RR)]


def write_record(root, ecg_id: int, beats: list[tuple[float, str]]) -> str:
    folder = root / "records100" / f"{ecg_id // 1000 * 1000:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    lead = lead_with_beats(beats, fs=100.0, seed=ecg_id)
    signal = np.stack([lead, 0.5 * lead, -lead, lead], axis=1).astype(np.float64)
    wfdb.wrsamp(f"{ecg_id:05d}_lr", fs=100, units=["mV"] * 4, sig_name=["II", "III", "V1", "V5"],
                p_signal=signal, fmt=["16"] * 4, write_dir=str(folder))  # fmt: skip
    return f"records100/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_lr"


def write_folder(root):
    """NORM, CLBBB, CLBBB with one PVC, an unlabelled record (train); NORM (test)."""
    lbbb = regular("wide_lbbb")
    with_pvc = [b for b in lbbb if abs(b[0] - PREMATURE_AT) > 0.5]
    before = max(o for o, _ in with_pvc if o < PREMATURE_AT)
    with_pvc.append((before + 0.45, "wide_inverted"))
    rows = [
        (1, 10, {"NORM": 100.0, "SR": 0.0}, 1, regular("narrow")),
        (2, 11, {"CLBBB": 100.0}, 2, lbbb),
        (3, 12, {"CLBBB": 100.0, "PVC": 0.0}, 3, sorted(with_pvc)),
        (4, 13, {"IMI": 100.0}, 4, regular("narrow")),
        (5, 14, {"NORM": 100.0}, 10, regular("narrow")),
    ]
    write_table(root, rows)


def write_table(root, rows) -> None:
    """Each row's record (``write_record``) and the label table that lists them; a row is
    (ecg_id, patient_id, scp_codes, strat_fold, beats)."""
    table = []
    for ecg_id, patient, codes, fold, beats in rows:
        path = write_record(root, ecg_id, beats)
        table.append({"ecg_id": ecg_id, "patient_id": float(patient), "scp_codes": repr(codes),
                      "strat_fold": fold, "filename_lr": path})  # fmt: skip
    pd.DataFrame(table).to_csv(root / "ptbxl_database.csv", index=False)


def test_the_train_split_beat_table(tmp_path):
    write_folder(tmp_path)
    train = ptbxl_splits(load_ptbxl_table(tmp_path))["train"]
    beats = beats_for_records(tmp_path, train, lead="II")
    table = beats.table
    assert set(table.records) == {"ptbxl1", "ptbxl2", "ptbxl3"}  # ptbxl4 has no label
    per_record = {name: set(table.symbols[table.records == name]) for name in set(table.records)}
    assert per_record == {"ptbxl1": {"N"}, "ptbxl2": {"L"}, "ptbxl3": {"L"}}
    patients = {r: set(beats.patients[table.records == r]) for r in per_record}
    assert patients == {"ptbxl1": {10}, "ptbxl2": {11}, "ptbxl3": {12}}
    # every beat away from the edges is found: ~11 beats in 10 s at 0.8 s
    assert 9 <= (table.records == "ptbxl2").sum() <= 12
    # the MIT-BIH table's layout: wide windows at MODEL_FS, six RR features
    assert table.fs == MODEL_FS and table.lead == "II"
    assert table.windows.shape == (
        len(table),
        sum(window_bounds(MODEL_FS, STORE_PRE_S, STORE_POST_S)),
    )
    assert table.rr.shape == (len(table), 6) and table.windows.dtype == np.float32
    # the PVC record lost its premature beat (and the short-coupled neighbour test proves it)
    assert beats.ectopic_dropped["L"] >= 1 and beats.ectopic_dropped.get("N", 0) == 0
    rr_prev = table.rr[table.records == "ptbxl3", 0]
    assert rr_prev.min() > 0.6
    # wide LBBB beats are wide in mV windows: the R peak of a 1 mV complex is near 1 mV
    r_index, _ = window_bounds(MODEL_FS, STORE_PRE_S, 0.0)
    assert 0.6 < np.median(np.abs(table.windows[table.records == "ptbxl2", r_index])) < 1.3


def test_the_split_is_cached_and_read_back_as_a_beat_table(tmp_path):
    write_folder(tmp_path)
    cache = tmp_path / "build" / "ptbxl_test.npz"
    built = build_ptbxl_beats(tmp_path, "test", cache=cache)
    assert set(built.table.records) == {"ptbxl5"} and cache.is_file()
    again = build_ptbxl_beats(tmp_path / "elsewhere", "test", cache=cache)  # no data: the cache
    assert np.array_equal(again.table.windows, built.table.windows)
    assert np.array_equal(again.patients, built.patients)
    plain = load_beat_table(cache)  # the MIT-BIH loader reads it too
    assert len(plain) == len(built.table) and plain.fs == MODEL_FS


def test_dominant_beats_drop_premature_and_differently_shaped_beats():
    fs, r_index = MODEL_FS, 126
    t = (np.arange(324) - r_index) / fs
    beat = np.exp(-((t / 0.015) ** 2)) + 0.3 * np.exp(-(((t - 0.25) / 0.05) ** 2))
    rng = np.random.default_rng(0)
    windows = np.tile(beat, (12, 1)) + 0.01 * rng.standard_normal((12, 324))
    windows[4] = -1.5 * np.exp(-((t / 0.05) ** 2))  # a wide inverted (ventricular) beat
    rr_prev = np.full(12, 0.8)
    rr_prev[4] = 0.8  # shape alone must drop it
    rr_prev[8] = 0.6  # 0.75 x the median RR: premature, same shape
    rr_prev[10] = 0.72  # 0.9 x: sinus variation, kept
    keep = dominant_beats(windows, rr_prev, fs, r_index)
    assert np.flatnonzero(~keep).tolist() == [4, 8]
    assert dominant_beats(np.zeros((0, 324)), np.zeros(0), fs, r_index).shape == (0,)
