"""A mixed MIT-BIH + PTB-XL beat table: several leads, sampled so no source or class swamps it.

Issue 17, points 3 and 6. MIT-BIH gives many beats of few patients (DS1: two LBBB patients);
PTB-XL gives ten beats each of thousands of patients (``ptbxl_beats``). This module

- samples PTB-XL records of a split (every CLBBB / CRBBB record, a random share of the many
  NORM records) and builds their beat table on one lead (``ptbxl_lead_table``, cached);
- tags each beat's record with its lead (``tag_lead``) so the record context
  (``context.rhythm_inputs_by_record``) describes each lead of a recording against itself,
  never against another lead of the same recording;
- concatenates tables (``concat_tables``) and caps the beats any one record gives
  (``cap_per_group``), so one long MIT-BIH record or PTB-XL's thousands of normal records
  cannot fill a class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecg.features.beats import window_bounds
from ecg.features.context import feature_names, rhythm_inputs
from ecg.io.ptbxl import load_ptbxl_table, ptbxl_splits
from ecg.training.dataset import BeatTable
from ecg.training.ptbxl_beats import (
    PtbxlBeats,
    beats_for_records,
    cached_beats,
    labelled_records,
)

LEAD_SEPARATOR = "@"
MIXED_CACHE = "build/mixed/ptbxl_{split}_{lead}_n{n_norm}.npz"


def sample_records(
    table: pd.DataFrame, n_norm: int | None, *, seed: int = 0, n_blocks: int | None = None
) -> pd.DataFrame:
    """The rows of ``table`` to build beats from: every record the rule labels L or R, and
    ``n_norm`` random records labelled N (all of them when ``n_norm`` is None). NORM records
    outnumber the blocks 16 to 1; beyond a few hundred patients more of them add little.
    ``n_blocks`` (a set-up check's small subset) keeps at most that many random records of each
    block label."""
    chosen = labelled_records(table)
    parts = []
    for label, rows in chosen.groupby("label"):
        limit = n_norm if label == "N" else n_blocks
        if limit is not None and limit < len(rows):
            rows = rows.sample(n=limit, random_state=seed)
        parts.append(rows.index)
    keep = chosen.index[:0].append(parts) if parts else chosen.index[:0]
    return table.loc[keep.sort_values()]


def ptbxl_lead_table(
    data_dir: str | Path,
    split: str,
    lead: str,
    *,
    n_norm: int | None,
    n_blocks: int | None = None,
    seed: int = 0,
    workers: int = 1,
    cache: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> PtbxlBeats:
    """Beats of one PTB-XL split on one lead from ``sample_records``, cached under build/."""
    path = Path(
        cache
        or MIXED_CACHE.format(split=split, lead=lead.lower(), n_norm=n_norm if n_norm else "all")
    )

    def make() -> PtbxlBeats:
        rows = sample_records(
            ptbxl_splits(load_ptbxl_table(data_dir))[split], n_norm, seed=seed, n_blocks=n_blocks
        )
        return beats_for_records(data_dir, rows, lead=lead, workers=workers, progress=progress)

    return cached_beats(path, make)


def tag_lead(table: BeatTable, lead: str) -> BeatTable:
    """The same beats with each record name suffixed ``@<lead>``: two leads of one recording
    become two "records", so each lead's record context is computed against that lead."""
    records = np.char.add(np.char.add(table.records.astype(str), LEAD_SEPARATOR), lead.lower())
    return BeatTable(
        table.windows,
        table.rr,
        table.symbols,
        records,
        table.fs,
        table.pre_s,
        table.post_s,
        table.lead,
    )


def record_of(tagged: np.ndarray) -> np.ndarray:
    """Record names without the lead tag (patients and recordings for the bootstrap)."""
    return np.array([str(r).split(LEAD_SEPARATOR)[0] for r in tagged])


def concat_tables(tables: Sequence[BeatTable], lead: str = "mixed") -> BeatTable:
    """One table of several (same sampling rate and stored window); ``lead`` names the mix."""
    first = tables[0]
    for t in tables[1:]:
        if (t.fs, t.pre_s, t.post_s) != (first.fs, first.pre_s, first.post_s):
            raise ValueError("tables differ in sampling rate or stored window")
    return BeatTable(
        windows=np.concatenate([t.windows for t in tables]).astype(np.float32),
        rr=np.concatenate([t.rr for t in tables]).astype(np.float32),
        symbols=np.concatenate([t.symbols.astype("<U2") for t in tables]),
        records=np.concatenate([t.records.astype(str) for t in tables]),
        fs=first.fs,
        pre_s=first.pre_s,
        post_s=first.post_s,
        lead=lead,
    )


def cap_per_group(index: np.ndarray, keys: np.ndarray, cap: int, *, seed: int = 0) -> np.ndarray:
    """``index`` with at most ``cap`` beats per key (``keys``: one per row of the table), drawn
    at random, sorted. With key = class + record, a record's thousands of normal beats are cut to
    ``cap`` while its rare beats stay; with key = class + source, one source cannot fill a class.
    """
    rng = np.random.default_rng(seed)
    index = np.asarray(index)
    _, group = np.unique(np.asarray(keys)[index], return_inverse=True)
    kept = []
    for g in range(group.max() + 1 if len(group) else 0):
        rows = np.flatnonzero(group == g)
        if len(rows) > cap:
            rows = rng.choice(rows, size=cap, replace=False)
        kept.append(index[rows])
    return np.sort(np.concatenate(kept)) if kept else index[:0]


class MixedTable(BeatTable):
    """A BeatTable of many short recordings: the record context is computed per record through
    one sort instead of one scan of the whole table per record (thousands of PTB-XL records)."""

    def rhythm_inputs(self, pre_s: float, post_s: float, feature_set: str) -> np.ndarray:
        r_index, _ = window_bounds(self.fs, pre_s, 0.0)
        windows = self.crop(pre_s, post_s)
        out = np.zeros((len(self), len(feature_names(feature_set))), dtype=np.float32)
        order = np.argsort(self.records, kind="stable")
        _, starts = np.unique(self.records[order], return_index=True)
        for rows in np.split(order, starts[1:]):
            out[rows] = rhythm_inputs(self.rr[rows], windows[rows], self.fs, r_index, feature_set)
        return out


def as_mixed(table: BeatTable) -> MixedTable:
    return MixedTable(
        table.windows,
        table.rr,
        table.symbols,
        table.records,
        table.fs,
        table.pre_s,
        table.post_s,
        table.lead,
    )
