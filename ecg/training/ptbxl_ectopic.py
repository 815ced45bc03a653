"""Premature beats from PTB-XL's PAC and PVC records (issue 17, point 2: SVEB and VEB).

PTB-XL labels whole records, so a record with a PAC or PVC statement gives the mixed table only
its dominant beats (``ptbxl_beats.dominant_beats``). The statement says that at least one such
beat occurs in its ten seconds; issue 17 allows its ectopic beats "where a documented test
(prematurity plus morphology against the record's dominant beat) picks them". This module is
that test, one row of ``KINDS`` per class, read the way a reader finds the beat on the strip:

- ``A`` (PAC records): early (RR before under ``PREMATURE_RR_RATIO`` x the record's median RR)
  and keeping the dominant QRS shape (correlation with the median beat >= ``MIN_CORRELATION``);
- ``V`` (PVC records): early and NOT keeping the dominant shape.

Which records: the kind's statement and no other ectopy or atrial arrhythmia statement (another
kind of early beat could be the one found), none of the statements that change every QRS
(pacing, pre-excitation: ``ptbxl.EXCLUDED``), and no conducted-beat label, since the records
with one (CLBBB / CRBBB with ectopy) are already in the main PTB-XL table, whose record context
would then count their dominant beats twice. Every other detected beat of the record stays in
the table as ``Q`` (no class): it is never trained or scored, but the record context of the
early beats (``context.record_context_features``: median RR, median beat) is computed over the
whole record, as in serving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class EctopicKind:
    """One class of early beat: its symbol, the record statement that promises it, and whether
    it keeps the dominant QRS shape (atrial) or not (ventricular)."""

    symbol: str
    statement: str
    dominant_shape: bool


KINDS = {
    "A": EctopicKind("A", "PAC", dominant_shape=True),
    "V": EctopicKind("V", "PVC", dominant_shape=False),
}
# statements under which an early beat may be of another kind than the record's
ECTOPY_STATEMENTS = frozenset({"PAC", "PVC", "BIGU", "TRIGU", "AFIB", "AFLT", "SVTAC", "PSVT"})
CONTEXT_ONLY = "Q"  # a six-class label of -1: in the table for the record context only
CACHE_TEMPLATE = "build/mixed/ptbxl_ectopic_{symbol}_{split}_{lead}.npz"


def ectopic_records(table: pd.DataFrame, kind: EctopicKind) -> pd.DataFrame:
    """The rows of ``table`` whose early beats are taken as ``kind``."""
    others = ECTOPY_STATEMENTS - {kind.statement}
    codes = table["scp_codes"].map(set)
    keep = codes.map(
        lambda c: (
            kind.statement in c
            and not c & others
            and not c & EXCLUDED
            and conducted_beat_label(c) is None
        )
    )
    return table[keep.astype(bool)]


def premature_mask(
    windows: np.ndarray,
    rr_prev_s: np.ndarray,
    fs: float,
    r_index: int,
    kind: EctopicKind,
    *,
    premature_ratio: float = PREMATURE_RR_RATIO,
    min_correlation: float = MIN_CORRELATION,
) -> np.ndarray:
    """Boolean mask of a record's beats that come early and keep (``A``) or leave (``V``) the
    dominant QRS shape: the two tests of ``dominant_beats``, the timing one read the other way."""
    if len(windows) == 0:
        return np.zeros(0, dtype=bool)
    rr_ratio, correlation = timing_and_shape(windows, rr_prev_s, fs, r_index)
    shaped = correlation >= min_correlation
    return (rr_ratio < premature_ratio) & (shaped if kind.dominant_shape else ~shaped)


def _one_record(
    args: tuple[str, int, str, str],
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Worker: (ecg_id, windows, rr, symbols); windows empty when unreadable or no early beat."""
    data_dir, ecg_id, lead, symbol = args
    nothing = (ecg_id, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), np.zeros(0))
    try:
        record = load_ptbxl_record(data_dir, ecg_id, lead=lead)
        windows, rr = record_beats(record.signal, record.fs)
    except (RecordError, DetectionError):
        return nothing
    if len(windows) < 3:  # too few beats for a median beat or a median RR
        return nothing
    r_index, _ = window_bounds(MODEL_FS, STORE_PRE_S, 0.0)
    early = premature_mask(windows, rr[:, 0], MODEL_FS, r_index, KINDS[symbol])
    if not early.any():
        return nothing
    return ecg_id, windows, rr, np.where(early, symbol, CONTEXT_ONLY).astype("<U2")


def ectopic_beats_for_records(
    data_dir: str | Path,
    table: pd.DataFrame,
    kind: EctopicKind,
    *,
    lead: str = "II",
    workers: int = 1,
) -> PtbxlBeats:
    """The beat table of ``ectopic_records(table, kind)`` on ``lead``: the early beats labelled
    ``kind.symbol``, every other beat of those records ``Q`` (context)."""
    chosen = ectopic_records(table, kind)
    jobs = [(str(data_dir), int(ecg_id), lead, kind.symbol) for ecg_id in chosen.index]
    results = map_records(_one_record, jobs, workers=workers, chunksize=16)
    parts = [
        (windows, rr, symbols, f"ptbxl{ecg_id}", int(chosen.at[ecg_id, "patient_id"]))
        for ecg_id, windows, rr, symbols in results
        if len(windows)
    ]
    beats, patients = table_of_records(parts, lead)
    early = int((beats.symbols == kind.symbol).sum())
    failed = len(results) - len(parts)
    return PtbxlBeats(beats, patients, {}, {kind.symbol: len(parts), "beats": early}, failed)


def build_ptbxl_ectopic_beats(
    data_dir: str | Path,
    split: str,
    kind: EctopicKind,
    *,
    lead: str = "II",
    cache: str | Path | None = None,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> PtbxlBeats:
    """``ectopic_beats_for_records`` of one PTB-XL split, cached under ``build/mixed/``."""
    path = Path(cache or CACHE_TEMPLATE.format(symbol=kind.symbol, split=split, lead=lead.lower()))

    def make() -> PtbxlBeats:
        if progress:
            progress(f"PTB-XL {split} early {kind.symbol} beats ({kind.statement}), lead {lead}")
        rows = ptbxl_splits(load_ptbxl_table(data_dir))[split]
        return ectopic_beats_for_records(data_dir, rows, kind, lead=lead, workers=workers)

    return cached_beats(path, make)
