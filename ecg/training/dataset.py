"""A cached table of every annotated beat: wide signal windows, RR features, labels, record names.

Built once from WFDB records (``build_dataset``) and stored as one ``.npz`` under ``build/``, so
experiments never re-read the records. Windows are stored WIDER than any model's window
(``STORE_PRE_S`` / ``STORE_POST_S``): a model's window is a crop of it (``crop``), and the margin
lets augmentation shift beats in time without inventing samples. The signal path is the serving
one: ``prepare_signal`` -> ``extract_windows`` -> ``rr_features`` on every beat annotation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg.classes import DS1_RECORDS, DS2_RECORDS, PACED_RECORDS
from ecg.dsp.signal import MODEL_FS, prepare_signal, rescale_samples
from ecg.features.beats import (
    beat_annotations,
    extract_windows,
    labels_for,
    rr_features,
    window_bounds,
)
from ecg.features.context import rhythm_inputs_by_record
from ecg.io.records import Record, RecordError, list_records, load_record

STORE_PRE_S = 0.35
STORE_POST_S = 0.55
# Inter-patient validation: whole DS1 records held out for early stopping and model choice.
# Both left-bundle-branch-block patients (109, 207) and the only flutter record (207) stay in
# training; these four still give validation beats of N, A, V and R from unseen patients.
DS1_VALIDATION_RECORDS = ("106", "124", "209", "223")


@dataclass
class BeatTable:
    windows: np.ndarray  # (n, store_len) float32 mV, wide windows centred on the R peak
    rr: np.ndarray  # (n, 6) float32
    symbols: np.ndarray  # (n,) annotation symbol of each beat
    records: np.ndarray  # (n,) record name of each beat
    fs: float
    pre_s: float
    post_s: float
    lead: str

    def __len__(self) -> int:
        return len(self.symbols)

    def subset(self, index: np.ndarray) -> BeatTable:
        return BeatTable(
            self.windows[index],
            self.rr[index],
            self.symbols[index],
            self.records[index],
            self.fs,
            self.pre_s,
            self.post_s,
            self.lead,
        )

    def labels(self, label_set: str = "six") -> np.ndarray:
        return labels_for(self.symbols, label_set)

    def channels(self) -> list[BeatTable]:
        """The table of each lead a model reads per beat: this one (``two_lead`` adds one)."""
        return [self]

    def crop(self, pre_s: float, post_s: float, shift: np.ndarray | None = None) -> np.ndarray:
        """Model windows cut from the stored ones, optionally shifted per beat (in samples)."""
        return crop_windows(self.windows, self.fs, self.pre_s, pre_s, post_s, shift)

    def rhythm_inputs(self, pre_s: float, post_s: float, feature_set: str) -> np.ndarray:
        """A model's "rr" input for every beat (``context.rhythm_inputs``), each record
        described against itself from its clean model windows (``pre_s`` / ``post_s``)."""
        r_index, _ = window_bounds(self.fs, pre_s, 0.0)
        return rhythm_inputs_by_record(
            self.rr, self.crop(pre_s, post_s), self.records, self.fs, r_index, feature_set
        )


def crop_windows(
    windows: np.ndarray,
    fs: float,
    stored_pre_s: float,
    pre_s: float,
    post_s: float,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    stored_pre, _ = window_bounds(fs, stored_pre_s, 0.0)
    pre, post = window_bounds(fs, pre_s, post_s)
    start = stored_pre - pre
    if start < 0 or start + pre + post > windows.shape[1]:
        raise ValueError(
            f"window {pre_s}+{post_s} s does not fit in the stored {windows.shape[1]} samples"
        )
    if shift is None:
        return windows[:, start : start + pre + post]
    offsets = np.clip(start + np.asarray(shift), 0, windows.shape[1] - pre - post)
    cols = offsets[:, None] + np.arange(pre + post)[None, :]
    return np.take_along_axis(windows, cols, axis=1)


def default_records() -> list[str]:
    """DS1 + DS2: every MIT-BIH record except the paced ones."""
    return sorted(DS1_RECORDS + DS2_RECORDS)


def record_beats(
    data_dir: str | Path, name: str, *, lead: str = "MLII", fs: float = MODEL_FS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wide windows, RR features, symbols) of every annotated beat of one record."""
    return beats_from_record(load_record(data_dir, name, lead=lead), fs=fs)


def beats_from_record(
    record: Record, *, fs: float = MODEL_FS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wide windows, RR features, symbols) of every annotated beat of a loaded record."""
    clean = prepare_signal(record.signal, record.fs, fs)
    samples, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
    peaks = rescale_samples(samples, record.fs, fs)
    windows, kept = extract_windows(clean, peaks, fs, pre_s=STORE_PRE_S, post_s=STORE_POST_S)
    rr = rr_features(peaks, fs)[kept]
    return windows, rr, symbols[kept]


def build_beat_table(
    data_dir: str | Path,
    records: Sequence[str] | None = None,
    *,
    lead: str = "MLII",
    progress: Callable[[str], None] | None = None,
) -> BeatTable:
    names = list(records) if records else default_records()
    available = set(list_records(data_dir))
    missing = [n for n in names if n not in available]
    if missing:
        raise RecordError(f"records not found in {data_dir}: {', '.join(missing)}")
    parts = []
    for i, name in enumerate(names, 1):
        windows, rr, symbols = record_beats(data_dir, name, lead=lead)
        parts.append((windows, rr, symbols, np.full(len(symbols), name, dtype="<U8")))
        if progress:
            progress(f"[{i}/{len(names)}] record {name}: {len(symbols)} beats")
    return BeatTable(
        windows=np.concatenate([p[0] for p in parts]).astype(np.float32),
        rr=np.concatenate([p[1] for p in parts]).astype(np.float32),
        symbols=np.concatenate([p[2] for p in parts]).astype("<U2"),
        records=np.concatenate([p[3] for p in parts]),
        fs=MODEL_FS,
        pre_s=STORE_PRE_S,
        post_s=STORE_POST_S,
        lead=lead,
    )


def save_beat_table(table: BeatTable, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        windows=table.windows,
        rr=table.rr,
        symbols=table.symbols,
        records=table.records,
        meta=np.array([table.fs, table.pre_s, table.post_s]),
        lead=np.array(table.lead),
    )
    tmp.replace(path)  # never leave a half-written cache behind
    return path


def load_beat_table(path: str | Path) -> BeatTable:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dataset not built yet (run manage.py build_dataset)")
    with np.load(path) as data:
        fs, pre_s, post_s = (float(v) for v in data["meta"])
        return BeatTable(
            windows=data["windows"],
            rr=data["rr"],
            symbols=data["symbols"],
            records=data["records"],
            fs=fs,
            pre_s=pre_s,
            post_s=post_s,
            lead=str(data["lead"]),
        )


@dataclass
class Split:
    name: str  # "intra" or "inter"
    train: np.ndarray  # indices into the beat table
    val: np.ndarray
    test: np.ndarray
    description: str


def intra_patient_split(
    labels: np.ndarray, *, seed: int = 0, test_share: float = 0.2, val_share: float = 0.1
) -> Split:
    """Random beats, stratified by class (the original report's and most papers' protocol)."""
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for c in np.unique(labels[labels >= 0]):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_share))
        n_val = int(round(len(idx) * val_share))
        test.append(idx[:n_test])
        val.append(idx[n_test : n_test + n_val])
        train.append(idx[n_test + n_val :])
    return Split(
        "intra",
        np.sort(np.concatenate(train)),
        np.sort(np.concatenate(val)),
        np.sort(np.concatenate(test)),
        f"intra-patient: random beats stratified by class, seed {seed}, "
        f"{1 - test_share - val_share:.0%} train / {val_share:.0%} validation / "
        f"{test_share:.0%} test",
    )


def inter_patient_split(
    records: np.ndarray,
    labels: np.ndarray,
    *,
    validation_records: Sequence[str] = DS1_VALIDATION_RECORDS,
) -> Split:
    """de Chazal 2004: train on DS1 minus the validation records, test on every DS2 beat."""
    labelled = labels >= 0
    in_val = np.isin(records, list(validation_records))
    in_ds1 = np.isin(records, list(DS1_RECORDS))
    in_ds2 = np.isin(records, list(DS2_RECORDS))
    return Split(
        "inter",
        np.flatnonzero(labelled & in_ds1 & ~in_val),
        np.flatnonzero(labelled & in_val),
        np.flatnonzero(labelled & in_ds2),
        "inter-patient (de Chazal 2004): train DS1 minus validation records "
        f"{', '.join(validation_records)}; test DS2; paced records {', '.join(PACED_RECORDS)} "
        "excluded",
    )
