import numpy as np
import pytest

from ecg import classes
from ecg.features.beats import beat_annotations, labels_for
from ecg.io.records import RecordError, load_record, resolve_data_dir
from ecg.training import dataset


@pytest.mark.mitdb
def test_beat_counts_match_the_annotations_of_record_100(mitdb):
    record = load_record(mitdb, "100")
    samples, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
    assert len(samples) == 2273  # PhysioNet's beat total for record 100
    windows, rr, kept_symbols = dataset.record_beats(mitdb, "100")
    # Only beats whose wide window would run past either end of the record are dropped.
    pre, post = int(dataset.STORE_PRE_S * 360), int(dataset.STORE_POST_S * 360)
    fits = (samples - pre >= 0) & (samples + post <= len(record.signal))
    assert len(windows) == len(rr) == len(kept_symbols) == fits.sum()
    assert (kept_symbols == "N").sum() == 2239 - (~fits & (symbols == "N")).sum()


def test_class_tables():
    assert classes.class_codes("six") == ["L", "N", "A", "V", "R", "!"]
    assert labels_for(np.array(["L", "N", "A", "V", "R", "!", "F", "/"])).tolist() == [
        0,
        1,
        2,
        3,
        4,
        5,
        -1,
        -1,
    ]
    aami = classes.symbol_to_index("aami")
    assert [aami[s] for s in "NLRAVEF/"] == [0, 0, 0, 1, 2, 2, 3, 4]
    with pytest.raises(classes.UnknownClassError, match="unknown class 'X'"):
        classes.class_info("X")
    with pytest.raises(classes.UnknownClassError, match="unknown label set"):
        classes.class_codes("eight")


def test_inter_patient_split_never_shares_records():
    table_records = np.array(
        [r for r in classes.DS1_RECORDS + classes.DS2_RECORDS for _ in range(3)]
    )
    labels = np.tile([0, 1, 3], len(table_records) // 3)
    split = dataset.inter_patient_split(table_records, labels)
    train, val, test = (set(table_records[i]) for i in (split.train, split.val, split.test))
    assert train and val and test
    assert not train & test and not train & val and not val & test
    assert test == set(classes.DS2_RECORDS)
    assert train | val == set(classes.DS1_RECORDS)


def test_intra_patient_split_is_stratified_and_disjoint():
    labels = np.repeat([0, 1, 2], [100, 1000, 50])
    split = dataset.intra_patient_split(labels, seed=1)
    assert not set(split.train) & set(split.test)
    assert not set(split.val) & set(split.test)
    assert np.bincount(labels[split.test]).tolist() == [20, 200, 10]


def test_synthetic_record_round_trip_and_table_cache(synthetic_dir, tmp_path):
    table = dataset.build_beat_table(synthetic_dir, ["100", "101"])
    assert set(table.symbols) == {"N", "V"}
    assert table.windows.shape[1] == int(round(0.35 * 360)) + int(round(0.55 * 360))
    path = dataset.save_beat_table(table, tmp_path / "cache" / "beats.npz")
    again = dataset.load_beat_table(path)
    np.testing.assert_array_equal(again.windows, table.windows)
    np.testing.assert_array_equal(again.records, table.records)
    assert not list(path.parent.glob("*.tmp*"))


def test_clear_errors(tmp_path, synthetic_dir):
    with pytest.raises(RecordError, match="does not exist"):
        resolve_data_dir(tmp_path / "nowhere")
    (tmp_path / "999.hea").write_text("this is not a WFDB header\n")
    with pytest.raises(RecordError, match="999.hea"):
        load_record(tmp_path, "999")
    with pytest.raises(RecordError, match="records not found .*: 555"):
        dataset.build_beat_table(synthetic_dir, ["100", "555"])
    with pytest.raises(RecordError, match="lead V5 not found"):
        load_record(synthetic_dir, "100", lead="V5")
