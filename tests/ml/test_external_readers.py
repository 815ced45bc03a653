"""Readers for PTB-XL and LUDB (issue 17, point 1) and PTB-XL's beat-label rule (point 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record, parse_delineation
from ecg.io.ptbxl import (
    BEAT_LABEL_RULES,
    conducted_beat_label,
    default_ptbxl_dir,
    has_ectopy,
    label_summary,
    load_ptbxl_record,
    load_ptbxl_table,
    ptbxl_splits,
)
from ecg.io.records import RecordError

# -- PTB-XL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statements", "label"),
    [
        ({"CLBBB"}, "L"),
        ({"CLBBB", "PVC", "SR"}, "L"),  # ectopy elsewhere: conducted beats still LBBB
        ({"CRBBB", "LAFB"}, "R"),
        ({"NORM", "SR"}, "N"),
        ({"NORM", "PAC"}, None),  # normal label but ectopy: not "no ectopy"
        ({"NORM", "1AVB"}, None),
        ({"CLBBB", "CRBBB"}, None),
        ({"CRBBB", "PACE"}, None),
        ({"IRBBB"}, None),
        ({"ILBBB", "NORM"}, None),
        ({"IVCD"}, None),
        ({"WPW", "NORM"}, None),
        ({"IMI", "SR"}, None),
    ],
)
def test_the_beat_label_rule(statements, label):
    assert conducted_beat_label(statements) == label


def test_the_rule_table_lists_every_label_the_rule_gives():
    assert [label for label, _ in BEAT_LABEL_RULES] == ["L", "R", "N", "-"]
    assert has_ectopy({"PVC"}) and has_ectopy({"BIGU"}) and not has_ectopy({"NORM"})


def write_ptbxl(root, rows):
    """A tiny PTB-XL folder: the label table and one 10-s record per row (II, III, V1, V5)."""
    records = []
    for ecg_id, patient, codes, fold in rows:
        folder = root / "records100" / f"{ecg_id // 1000 * 1000:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        t = np.arange(1000) / 100
        signal = np.stack([np.sin(2 * np.pi * t * (k + 1)) for k in range(4)], axis=1)
        leads = ["II", "III", "V1", "V5"]
        wfdb.wrsamp(f"{ecg_id:05d}_lr", fs=100, units=["mV"] * 4, sig_name=leads,
                    p_signal=signal, fmt=["16"] * 4, write_dir=str(folder))  # fmt: skip
        records.append(
            {
                "ecg_id": ecg_id,
                "patient_id": float(patient),
                "scp_codes": repr(codes),
                "strat_fold": fold,
                "filename_lr": f"records100/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_lr",
                "static_noise": None,
            }  # fmt: skip
        )
    pd.DataFrame(records).to_csv(root / "ptbxl_database.csv", index=False)


def test_ptbxl_table_record_and_splits_on_a_synthetic_folder(tmp_path):
    write_ptbxl(
        tmp_path,
        [
            (1, 10, {"NORM": 100.0, "SR": 0.0}, 1),
            (2, 11, {"CLBBB": 100.0}, 9),
            (1003, 12, {"CRBBB": 100.0}, 10),
            (1004, 10, {"NORM": 80.0}, 2),
        ],  # fmt: skip
    )
    table = load_ptbxl_table(tmp_path)
    assert table.loc[2, "scp_codes"] == {"CLBBB": 100.0}
    splits = ptbxl_splits(table)
    assert splits["train"].index.tolist() == [1, 1004]
    assert splits["validation"].index.tolist() == [2] and splits["test"].index.tolist() == [1003]
    record = load_ptbxl_record(tmp_path, 1003, lead="V1")
    assert (record.name, record.fs, record.lead, record.signal.shape) == (
        "ptbxl1003",
        100,
        "V1",
        (1000,),
    )
    summary = {(r["split"], r["label"]): r for r in label_summary(table)}
    assert summary[("train", "N")]["records"] == 2 and summary[("train", "N")]["patients"] == 1
    assert summary[("test", "R")]["records"] == 1


def test_ptbxl_refuses_a_patient_in_two_splits(tmp_path):
    write_ptbxl(tmp_path, [(1, 10, {"NORM": 100.0}, 1), (2, 10, {"NORM": 100.0}, 10)])
    with pytest.raises(RecordError, match="patient 10 is in both train and test"):
        ptbxl_splits(load_ptbxl_table(tmp_path))


def test_ptbxl_errors_name_the_file(tmp_path):
    with pytest.raises(RecordError, match="ptbxl_database.csv: PTB-XL label table not found"):
        load_ptbxl_table(tmp_path)
    (tmp_path / "ptbxl_database.csv").write_text("ecg_id,patient_id\n1,2\n")
    with pytest.raises(RecordError, match="columns missing: scp_codes, strat_fold, filename_lr"):
        load_ptbxl_table(tmp_path)
    write_ptbxl(tmp_path, [(1, 10, {"NORM": 100.0}, 1)])
    with pytest.raises(RecordError, match="00002_lr.hea: record header not found"):
        load_ptbxl_record(tmp_path, 2)
    with pytest.raises(RecordError, match="lead AVF not found"):
        load_ptbxl_record(tmp_path, 1, lead="aVF")


@pytest.mark.skipif(default_ptbxl_dir() is None, reason="PTB-XL not in ../shared/data/ptbxl")
def test_the_real_ptbxl_split_is_patient_wise_and_yields_hundreds_of_bbb_patients():
    table = load_ptbxl_table(default_ptbxl_dir())
    assert len(table) == 21837
    summary = {(r["split"], r["label"]): r for r in label_summary(table)}  # checks patients too
    assert summary[("train", "L")]["patients"] >= 300 and summary[("train", "R")]["patients"] >= 300
    record = load_ptbxl_record(default_ptbxl_dir(), 1)
    assert record.fs == 100 and record.signal.shape == (1000,) and np.isfinite(record.signal).all()


# -- LUDB --------------------------------------------------------------------------------------


def test_delineation_triplets_and_waves_cut_by_the_edge():
    symbols = ["N", ")", "(", "p", ")", "(", "N", ")", "(", "t", ")", "(", "p"]
    samples = np.arange(len(symbols)) * 10
    d = parse_delineation(samples, symbols, where="x.ii")
    assert d.p.tolist() == [[20, 30, 40]] and d.qrs.tolist() == [[50, 60, 70]]
    assert d.t.tolist() == [[80, 90, 100]]
    with pytest.raises(RecordError, match="x.ii: unknown wave symbol 'u'"):
        parse_delineation(np.arange(3), ["(", "u", ")"], where="x.ii")


def test_ludb_record_from_a_synthetic_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    signal = np.zeros((5000, 2))
    signal[1000:1040, 1] = 1.0
    wfdb.wrsamp("7", fs=500, units=["mV", "mV"], sig_name=["i", "ii"], p_signal=signal,
                fmt=["16", "16"], write_dir=str(folder),
                comments=["<age>: 60", "<diagnoses>:", "Rhythm: Sinus rhythm.",
                          "Complete left bundle branch block."])  # fmt: skip
    wfdb.wrann(
        "7", "ii", np.array([990, 1020, 1050]), symbol=["(", "N", ")"], write_dir=str(folder)
    )
    (folder / "RECORDS").write_text("data/7\n")
    assert list_ludb_records(tmp_path) == ["7"]
    record = load_ludb_record(tmp_path, "7", lead="II")
    assert (
        record.fs == 500
        and record.lead == "ii"
        and record.delineation.qrs.tolist() == [[990, 1020, 1050]]
    )
    assert record.has_diagnosis("left bundle branch block") and not record.has_diagnosis("RBBB")
    with pytest.raises(RecordError, match=r"7\.i: delineation file not found"):
        load_ludb_record(tmp_path, "7", lead="i")
    with pytest.raises(RecordError, match="LUDB has no lead 'mlii'"):
        load_ludb_record(tmp_path, "7", lead="MLII")


@pytest.mark.skipif(default_ludb_dir() is None, reason="LUDB not in ../shared/data/ludb")
def test_every_real_ludb_record_reads_with_its_qrs_delineation():
    names = list_ludb_records(default_ludb_dir())
    assert len(names) == 200
    for name in names[:20]:
        record = load_ludb_record(default_ludb_dir(), name)
        qrs = record.delineation.qrs
        assert record.fs == 500 and len(qrs) >= 5
        assert ((qrs[:, 0] < qrs[:, 1]) & (qrs[:, 1] < qrs[:, 2])).all()
        assert record.diagnoses[0].startswith("Rhythm:")


def test_noise_note_groups_split_records_by_note_and_by_a_label_for_every_beat():
    import pandas as pd

    from ecg.io.ptbxl import noise_note_groups

    table = pd.DataFrame(
        {
            "scp_codes": [{"NORM": 100.0}, {"CLBBB": 100.0}, {"NORM": 100.0, "PVC": 100.0},
                          {"IRBBB": 100.0}],
            "static_noise": [", I-AVF,", None, None, ""],
            "baseline_drift": [None, None, "V1", None],
        }
    )  # fmt: skip
    noted, usable = noise_note_groups(table)
    assert noted.tolist() == [True, False, True, False]
    assert usable.tolist() == [True, True, False, False]  # ectopy, and no conducted label
