"""Premature atrial beats from PTB-XL's PAC records (issue 17: SVEB on new patients).

MIT-BIH DS1's training records hold about 700 premature atrial beats from a handful of
patients, and PTB-XL labels whole records, so the mixed table has had no PTB-XL ``A`` beat: a
record with a PAC statement keeps only its dominant beats (``ptbxl_beats.dominant_beats``).
Such a record says that at least one premature atrial beat occurs in its ten seconds. This
module labels it by timing and shape, the way a reader finds it on the strip: a beat that comes
early (RR before under ``PREMATURE_RR_RATIO`` x the record's median RR) and keeps the dominant
QRS shape (correlation with the median beat >= ``MIN_CORRELATION``) is ``A``.

Which records: a PAC statement and no other ectopy or atrial arrhythmia statement (a PVC,
bigeminy or run could be the early beat), none of the statements that change every QRS
(pacing, pre-excitation: ``ptbxl.EXCLUDED``), and no conducted-beat label, since the records
with one (CLBBB / CRBBB with PACs) are already in the main PTB-XL table, whose record context
would then count their dominant beats twice. Every other detected beat of the record stays in
the table as ``Q`` (no class): it is never trained or scored, but the record context of the
``A`` beats (``context.record_context_features``: median RR, median beat) is computed over the
whole record, as in serving.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ecg.dsp.detection import DetectionError
from ecg.dsp.signal import MODEL_FS
from ecg.features.beats import window_bounds
from ecg.io.ptbxl import (
    EXCLUDED,
    conducted_beat_label,
    load_ptbxl_record,
    load_ptbxl_table,
    ptbxl_splits,
)
from ecg.io.records import RecordError
from ecg.training.dataset import STORE_PRE_S
from ecg.training.ptbxl_beats import (
    MIN_CORRELATION,
    PREMATURE_RR_RATIO,
    PtbxlBeats,
    cached_beats,
    map_records,
    record_beats,
    table_of_records,
    timing_and_shape,
)

# statements under which the early beat need not be atrial
OTHER_ECTOPY = frozenset({"PVC", "BIGU", "TRIGU", "AFIB", "AFLT", "SVTAC", "PSVT"})
ATRIAL = "A"
CONTEXT_ONLY = "Q"  # a six-class label of -1: in the table for the record context only
CACHE_TEMPLATE = "build/mixed/ptbxl_atrial_{split}_{lead}.npz"


def atrial_records(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` whose early, normally shaped beats are taken as premature atrial."""
    codes = table["scp_codes"].map(set)
    keep = codes.map(
        lambda c: (
            "PAC" in c
            and not c & OTHER_ECTOPY
            and not c & EXCLUDED
            and conducted_beat_label(c) is None
        )
    )
    return table[keep.astype(bool)]


def premature_atrial_mask(
    windows: np.ndarray,
    rr_prev_s: np.ndarray,
    fs: float,
    r_index: int,
    *,
    premature_ratio: float = PREMATURE_RR_RATIO,
    min_correlation: float = MIN_CORRELATION,
) -> np.ndarray:
    """Boolean mask of a record's beats that come early and keep the dominant QRS shape: the
    two tests of ``dominant_beats``, the timing one read the other way."""
    if len(windows) == 0:
        return np.zeros(0, dtype=bool)
    rr_ratio, correlation = timing_and_shape(windows, rr_prev_s, fs, r_index)
    return (rr_ratio < premature_ratio) & (correlation >= min_correlation)


def _one_record(args: tuple[str, int, str]) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Worker: (ecg_id, windows, rr, symbols); windows empty when unreadable or no A beat."""
    data_dir, ecg_id, lead = args
    empty = np.zeros((0, 0), np.float32)
    try:
        record = load_ptbxl_record(data_dir, ecg_id, lead=lead)
        windows, rr = record_beats(record.signal, record.fs)
    except (RecordError, DetectionError):
        return ecg_id, empty, empty, np.zeros(0, "<U2")
    if len(windows) < 3:  # too few beats for a median beat or a median RR
        return ecg_id, empty, empty, np.zeros(0, "<U2")
    r_index, _ = window_bounds(MODEL_FS, STORE_PRE_S, 0.0)
    atrial = premature_atrial_mask(windows, rr[:, 0], MODEL_FS, r_index)
    symbols = np.where(atrial, ATRIAL, CONTEXT_ONLY).astype("<U2")
    if not atrial.any():
        return ecg_id, empty, empty, np.zeros(0, "<U2")
    return ecg_id, windows, rr, symbols


def atrial_beats_for_records(
    data_dir: str | Path,
    table: pd.DataFrame,
    *,
    lead: str = "II",
    workers: int = 1,
) -> PtbxlBeats:
    """The beat table of ``atrial_records(table)`` on ``lead``: ``A`` beats and ``Q`` context."""
    chosen = atrial_records(table)
    jobs = [(str(data_dir), int(ecg_id), lead) for ecg_id in chosen.index]
    results = map_records(_one_record, jobs, workers=workers, chunksize=16)
    parts = [
        (windows, rr, symbols, f"ptbxl{ecg_id}", int(chosen.at[ecg_id, "patient_id"]))
        for ecg_id, windows, rr, symbols in results
        if len(windows)
    ]
    beats, patients = table_of_records(parts, lead)
    atrial = int((beats.symbols == ATRIAL).sum())
    failed = len(results) - len(parts)
    return PtbxlBeats(beats, patients, {}, {ATRIAL: len(parts), "beats": atrial}, failed)


def build_ptbxl_atrial_beats(
    data_dir: str | Path,
    split: str,
    *,
    lead: str = "II",
    cache: str | Path | None = None,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> PtbxlBeats:
    """``atrial_beats_for_records`` of one PTB-XL split, cached under ``build/mixed/``."""
    path = Path(cache or CACHE_TEMPLATE.format(split=split, lead=lead.lower()))

    def make() -> PtbxlBeats:
        if progress:
            progress(f"PTB-XL {split} premature atrial beats, lead {lead}")
        rows = ptbxl_splits(load_ptbxl_table(data_dir))[split]
        return atrial_beats_for_records(data_dir, rows, lead=lead, workers=workers)

    return cached_beats(path, make)
