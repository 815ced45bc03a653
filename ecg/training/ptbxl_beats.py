"""PTB-XL beat table: detected beats of labelled PTB-XL records, in the MIT-BIH table's format.

PTB-XL labels whole ten-second records (``ecg.io.ptbxl.conducted_beat_label``). This module
turns a split's labelled records into beats: each record's lead is put through the serving path
(``prepare_signal`` to ``MODEL_FS``, ``detect_beats``, ``extract_windows``, ``rr_features``) and
every detected beat gets the record's label. A record with PVC / PAC statements holds at least
one ectopic beat somewhere, so only its dominant beats are kept (``dominant_beats``).

The result is a ``dataset.BeatTable`` (wide windows in mV at ``MODEL_FS``, RR features, labels
as MIT-BIH symbols N / L / R, record name ``ptbxl<ecg_id>`` per beat) plus the patient of each
beat, so training can concatenate it with the MIT-BIH table. ``build_ptbxl_beats`` caches it
under ``build/`` like ``build_dataset`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from ecg.dsp.detection import DetectionError, detect_beats
from ecg.dsp.signal import MODEL_FS, prepare_signal
from ecg.features.beats import POST_S, PRE_S, extract_windows, rr_features, window_bounds
from ecg.io.ptbxl import (
    conducted_beat_label,
    has_ectopy,
    load_ptbxl_record,
    load_ptbxl_table,
    ptbxl_splits,
)
from ecg.io.records import RecordError
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, BeatTable

# The dominant-beat test (records with PVC / PAC statements). A beat is a candidate ectopic
# beat, and dropped, when it comes early OR looks different from the record's median beat.
# 0.85 x median RR: a sinus rhythm varies by a few percent over ten seconds, a premature beat
# by 15% or more (the AAMI / de Chazal prematurity features use the same order of ratio).
PREMATURE_RR_RATIO = 0.85
# Correlation below 0.9 with the median beat over the model window: conducted beats of one
# record correlate above 0.95 on clean signals; a PVC's QRS and T change sign or width.
MIN_CORRELATION = 0.9
CACHE_TEMPLATE = "build/ptbxl_beats_{split}_{lead}.npz"


@dataclass
class PtbxlBeats:
    """A split's beats: the MIT-BIH-compatible table plus what the table does not carry."""

    table: BeatTable
    patients: np.ndarray  # (n,) int64 PTB-XL patient_id of each beat
    ectopic_dropped: dict[str, int]  # beats dropped by the dominant-beat test, per label
    records_used: dict[str, int]  # records that gave at least one beat, per label
    records_failed: int  # records whose lead could not be read or held no detectable beat


def dominant_beats(
    windows: np.ndarray,
    rr_prev_s: np.ndarray,
    fs: float,
    r_index: int,
    *,
    premature_ratio: float = PREMATURE_RR_RATIO,
    min_correlation: float = MIN_CORRELATION,
) -> np.ndarray:
    """Boolean mask of a record's dominant beats: not premature and shaped like the median beat.

    ``windows``: every detected beat of ONE record (n, samples), R peak at ``r_index``;
    ``rr_prev_s``: the RR interval before each beat. A beat fails the test when its RR before is
    under ``premature_ratio`` x the record's median RR, or when its correlation with the record's
    median beat (the model window, ``PRE_S`` before to ``POST_S`` after the R peak) is under
    ``min_correlation``. The median beat is the dominant beat as long as most beats are
    conducted, which the record's label (a conducted rhythm with some ectopy) implies.
    """
    if len(windows) == 0:
        return np.zeros(0, dtype=bool)
    rr_ratio, correlation = timing_and_shape(windows, rr_prev_s, fs, r_index)
    return (rr_ratio >= premature_ratio) & (correlation >= min_correlation)


def timing_and_shape(
    windows: np.ndarray, rr_prev_s: np.ndarray, fs: float, r_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per beat of ONE record: (RR before / the record's median RR, correlation with the
    record's median beat over the model window). ``windows`` must hold at least one beat."""
    windows = np.asarray(windows, dtype=np.float64)
    pre, post = window_bounds(fs, PRE_S, POST_S)
    lo, hi = max(0, r_index - pre), min(windows.shape[1], r_index + post)
    part = windows[:, lo:hi]
    centred = part - part.mean(axis=1, keepdims=True)
    template = np.median(part, axis=0)
    template = template - template.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(template)
    correlation = (centred @ template) / np.maximum(norms, 1e-12)
    rr_prev = np.asarray(rr_prev_s, dtype=np.float64)
    return rr_prev / max(float(np.median(rr_prev)), 1e-12), correlation


def record_beats(
    signal: np.ndarray, fs: float, *, model_fs: float = MODEL_FS
) -> tuple[np.ndarray, np.ndarray]:
    """(wide windows at ``model_fs``, RR features) of every beat detected on one raw lead.

    The lead is resampled and band-passed once (``prepare_signal``) and beats are detected on
    that signal at the model rate: XQRS at 100 Hz has only 10 ms resolution for its R peaks.
    """
    clean = prepare_signal(signal, fs, model_fs)
    peaks = detect_beats(clean, model_fs)
    rr = rr_features(peaks, model_fs)
    windows, kept = extract_windows(clean, peaks, model_fs, pre_s=STORE_PRE_S, post_s=STORE_POST_S)
    return windows, rr[kept]


def _one_record(args: tuple[str, int, str, str, bool]) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Worker: (ecg_id, windows, rr, beats dropped as ectopic); windows empty on failure."""
    data_dir, ecg_id, lead, label, ectopy = args
    empty = np.zeros((0, 0), np.float32)
    try:
        record = load_ptbxl_record(data_dir, ecg_id, lead=lead)
        windows, rr = record_beats(record.signal, record.fs)
    except (RecordError, DetectionError):
        return ecg_id, empty, empty, -1
    if len(windows) < 3:  # too few beats for a median beat or a median RR
        return ecg_id, empty, empty, -1
    dropped = 0
    if ectopy:
        r_index, _ = window_bounds(MODEL_FS, STORE_PRE_S, 0.0)
        keep = dominant_beats(windows, rr[:, 0], MODEL_FS, r_index)
        dropped = int((~keep).sum())
        windows, rr = windows[keep], rr[keep]
    return ecg_id, windows, rr, dropped


def labelled_records(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` the rule labels, with columns ``label`` and ``ectopy`` added."""
    labels = table["scp_codes"].map(conducted_beat_label)
    chosen = table[labels.notna()].copy()
    chosen["label"] = labels[labels.notna()]
    chosen["ectopy"] = chosen["scp_codes"].map(has_ectopy)
    return chosen


def beats_for_records(
    data_dir: str | Path,
    table: pd.DataFrame,
    *,
    lead: str = "II",
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> PtbxlBeats:
    """The beat table of the labelled records among ``table``'s rows (one split, say)."""
    chosen = labelled_records(table)
    jobs = [
        (str(data_dir), int(ecg_id), lead, str(row.label), bool(row.ectopy))
        for ecg_id, row in chosen.iterrows()
    ]
    results = map_records(_one_record, jobs, workers=workers, chunksize=64)
    parts, dropped, used, failed = [], {}, {}, 0
    for i, (ecg_id, windows, rr, n_dropped) in enumerate(results, 1):
        label = chosen.at[ecg_id, "label"]
        if n_dropped < 0:
            failed += 1
            continue
        dropped[label] = dropped.get(label, 0) + n_dropped
        if len(windows):
            used[label] = used.get(label, 0) + 1
            patient = int(chosen.at[ecg_id, "patient_id"])
            symbols = np.full(len(windows), label, "<U2")
            parts.append((windows, rr, symbols, f"ptbxl{ecg_id}", patient))
        if progress and i % 1000 == 0:
            progress(f"[{i}/{len(results)}] records")
    table_out, patients = table_of_records(parts, lead)
    return PtbxlBeats(table_out, patients, dropped, used, failed)


RecordPart = tuple[np.ndarray, np.ndarray, np.ndarray, str, int]


def map_records(worker: Callable, jobs: list, *, workers: int, chunksize: int) -> list:
    """``worker`` over ``jobs``, in ``workers`` spawned processes when more than one."""
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            return pool.map(worker, jobs, chunksize=chunksize)
    return [worker(job) for job in jobs]


def table_of_records(parts: list[RecordPart], lead: str) -> tuple[BeatTable, np.ndarray]:
    """One BeatTable (and each beat's patient) from per-record parts: (wide windows, RR
    features, symbol per beat, record name, patient id)."""
    width = sum(window_bounds(MODEL_FS, STORE_PRE_S, STORE_POST_S))
    n = [len(p[0]) for p in parts]

    def joined(i: int, empty: np.ndarray) -> np.ndarray:
        return np.concatenate([p[i] for p in parts]) if parts else empty

    table = BeatTable(
        windows=joined(0, np.zeros((0, width))).astype(np.float32),
        rr=joined(1, np.zeros((0, 6))).astype(np.float32),
        symbols=joined(2, np.zeros(0, "<U2")).astype("<U2"),
        records=np.repeat([p[3] for p in parts], n).astype("<U12"),
        fs=MODEL_FS,
        pre_s=STORE_PRE_S,
        post_s=STORE_POST_S,
        lead=lead,
    )
    return table, np.repeat([p[4] for p in parts], n).astype(np.int64)


def cached_beats(path: str | Path, make: Callable[[], PtbxlBeats]) -> PtbxlBeats:
    """The beats saved at ``path``, or ``make()``'s, saved there first."""
    if Path(path).is_file():
        return load_ptbxl_beats(path)
    beats = make()
    save_ptbxl_beats(beats, path)
    return beats


def save_ptbxl_beats(beats: PtbxlBeats, path: str | Path) -> Path:
    """One ``.npz``: ``dataset.load_beat_table`` reads it as a BeatTable; ``load_ptbxl_beats``
    reads the patients and counts too."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    t = beats.table
    np.savez(
        tmp,
        windows=t.windows,
        rr=t.rr,
        symbols=t.symbols,
        records=t.records,
        meta=np.array([t.fs, t.pre_s, t.post_s]),
        lead=np.array(t.lead),
        patients=beats.patients,
        counts=np.array(
            repr(
                {
                    "ectopic_dropped": beats.ectopic_dropped,
                    "records_used": beats.records_used,
                    "records_failed": beats.records_failed,
                }
            )
        ),
    )
    tmp.replace(path)  # never leave a half-written cache behind
    return path


def load_ptbxl_beats(path: str | Path) -> PtbxlBeats:
    import ast

    from ecg.training.dataset import load_beat_table

    table = load_beat_table(path)
    with np.load(path) as data:
        patients = data["patients"]
        counts = ast.literal_eval(str(data["counts"]))
    return PtbxlBeats(
        table,
        patients,
        counts["ectopic_dropped"],
        counts["records_used"],
        counts["records_failed"],
    )


def build_ptbxl_beats(
    data_dir: str | Path,
    split: str,
    *,
    lead: str = "II",
    cache: str | Path | None = None,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> PtbxlBeats:
    """The beat table of one PTB-XL split (``train`` folds 1-8, ``validation`` 9, ``test`` 10),
    read from ``cache`` (default ``build/ptbxl_beats_<split>_<lead>.npz``) when it exists."""
    path = Path(cache or CACHE_TEMPLATE.format(split=split, lead=lead.lower()))

    def make() -> PtbxlBeats:
        splits = ptbxl_splits(load_ptbxl_table(data_dir))
        if split not in splits:
            raise ValueError(f"unknown split {split!r} (splits: {', '.join(splits)})")
        return beats_for_records(
            data_dir, splits[split], lead=lead, workers=workers, progress=progress
        )

    return cached_beats(path, make)
