"""Two-lead beat tables: both leads of each beat, cut at the SAME R peaks (issue 17 study).

The shipped model reads one lead per call and lead fusion (``ecg.features.lead_fusion``)
classifies each beat twice. A two-lead model reads the primary lead (MLII / II) and the second
lead (V1 / V5) of a beat as two channels of one image, in one call. Its tables must be
beat-aligned: the cached PTB-XL tables ``build/mixed/ptbxl_*_ii_*`` and ``*_v1_*`` are not (each
lead detected its own beats: about one record in ten has a different beat count), while
MIT-BIH's ``mitdb_ds1_second_lead.npz`` is (windows cut at the reference annotations, the same
ones as MLII's). This module

- cuts both leads of a recording at the peaks detected on the primary lead
  (``aligned_windows``; the same detector and preparation as ``ptbxl_beats.record_beats``), and
  builds PTB-XL II + V1 tables that way (``ptbxl_two_lead_table``, cached under
  ``build/two_lead/``);
- pairs the MIT-BIH MLII table with its aligned second-lead table (``mitdb_two_lead``);
- gives the ONE-LEAD FALLBACK: a beat without a trained second lead gets its primary lead in
  both channels (``duplicate_primary``). Chosen over a zero channel plus a flag because it keeps
  the model's inputs ("image", "rr") as they are, needs no input the serving path does not
  already build, and a duplicated lead is a real ECG the network can still read with its first
  channel; training shows it such beats (every MIT-BIH record without V1 / V5, and a share of
  PTB-XL records) so it learns to lean on channel one when both are the same;
- builds the serving-side input of a recording from the app's peaks (``two_lead_inputs``): the
  same ``ModelBundle.beat_windows`` preparation on each lead.
"""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from ecg.dsp.detection import DetectionError, detect_beats
from ecg.dsp.signal import MODEL_FS, prepare_signal
from ecg.features.beats import extract_windows, rr_features, window_bounds
from ecg.io.records import RecordError
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, BeatTable
from ecg.training.mixed import MixedTable, record_of

# the cache of a PTB-XL split's aligned II + V1 table
TWO_LEAD_CACHE = "build/two_lead/ptbxl_{split}_ii_v1_n{n_norm}.npz"


class TwoLeadTable(MixedTable):
    """A beat table (the primary lead's windows, RR and record context) with a second lead's
    windows of the same beats (``second``, same shape as ``windows``) and per beat whether that
    second lead is real (``has_second``; False: the primary duplicated)."""

    def __init__(
        self,
        windows: np.ndarray,
        rr: np.ndarray,
        symbols: np.ndarray,
        records: np.ndarray,
        fs: float,
        pre_s: float,
        post_s: float,
        lead: str,
        second: np.ndarray,
        has_second: np.ndarray,
    ) -> None:
        super().__init__(windows, rr, symbols, records, fs, pre_s, post_s, lead)
        if second.shape != windows.shape or len(has_second) != len(windows):
            raise ValueError(
                f"second lead {second.shape} does not match the primary {windows.shape}"
            )
        self.second = second
        self.has_second = np.asarray(has_second, dtype=bool)

    def subset(self, index: np.ndarray) -> TwoLeadTable:
        return TwoLeadTable(
            self.windows[index],
            self.rr[index],
            self.symbols[index],
            self.records[index],
            self.fs,
            self.pre_s,
            self.post_s,
            self.lead,
            self.second[index],
            self.has_second[index],
        )

    def channels(self) -> list[BeatTable]:
        """[primary, second]: two tables sharing this one's arrays (the RR, record context and
        labels are the primary's; only the windows differ)."""

        def table(windows: np.ndarray, lead: str) -> BeatTable:
            return BeatTable(
                windows, self.rr, self.symbols, self.records, self.fs, self.pre_s, self.post_s, lead
            )

        primary, second = table(self.windows, self.lead), table(self.second, "second")
        return [primary, second]


def duplicate_primary(table: BeatTable) -> TwoLeadTable:
    """The one-lead fallback: every beat's primary lead in both channels."""
    return TwoLeadTable(
        table.windows,
        table.rr,
        table.symbols,
        table.records,
        table.fs,
        table.pre_s,
        table.post_s,
        table.lead,
        table.windows.copy(),
        np.zeros(len(table), bool),
    )


def concat_two_lead(tables: list[TwoLeadTable], lead: str = "two-lead") -> TwoLeadTable:
    first = tables[0]
    for t in tables[1:]:
        if (t.fs, t.pre_s, t.post_s) != (first.fs, first.pre_s, first.post_s):
            raise ValueError("tables differ in sampling rate or stored window")
    return TwoLeadTable(
        np.concatenate([t.windows for t in tables]).astype(np.float32),
        np.concatenate([t.rr for t in tables]).astype(np.float32),
        np.concatenate([t.symbols.astype("<U2") for t in tables]),
        np.concatenate([t.records.astype(str) for t in tables]),
        first.fs,
        first.pre_s,
        first.post_s,
        lead,
        np.concatenate([t.second for t in tables]).astype(np.float32),
        np.concatenate([t.has_second for t in tables]),
    )


def aligned_windows(
    primary: np.ndarray, second: np.ndarray, fs: float, *, model_fs: float = MODEL_FS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(primary windows, second windows, RR features) of every beat detected on the PRIMARY
    lead, both leads cut at those same peaks (wide stored windows at ``model_fs``). The leads
    are prepared as ``ptbxl_beats.record_beats`` prepares one (resampled, band-passed)."""
    if len(primary) != len(second):
        raise ValueError(f"leads differ in length ({len(primary)} and {len(second)} samples)")
    clean = prepare_signal(primary, fs, model_fs)
    other = prepare_signal(second, fs, model_fs)
    peaks = detect_beats(clean, model_fs)
    rr = rr_features(peaks, model_fs)
    w1, kept = extract_windows(clean, peaks, model_fs, pre_s=STORE_PRE_S, post_s=STORE_POST_S)
    w2, kept2 = extract_windows(other, peaks, model_fs, pre_s=STORE_PRE_S, post_s=STORE_POST_S)
    if not np.array_equal(kept, kept2):  # same length, same peaks: cannot differ
        raise ValueError("the leads kept different beats")
    return w1, w2, rr[kept]


def _one_record(args: tuple[str, int, str, str, bool]) -> tuple[int, Any, Any, Any]:
    """Worker: (ecg_id, II windows, V1 windows, rr); empty arrays when the record fails."""
    from ecg.io.ptbxl import load_ptbxl_record
    from ecg.training.ptbxl_beats import dominant_beats

    data_dir, ecg_id, lead, second_lead, ectopy = args
    empty = np.zeros((0, 0), np.float32)
    try:
        one = load_ptbxl_record(data_dir, ecg_id, lead=lead)
        two = load_ptbxl_record(data_dir, ecg_id, lead=second_lead)
        w1, w2, rr = aligned_windows(one.signal, two.signal, one.fs)
    except (RecordError, DetectionError, ValueError):
        return ecg_id, empty, empty, empty
    if len(w1) < 3:
        return ecg_id, empty, empty, empty
    if ectopy:  # the dominant-beat test on the primary lead, as ``ptbxl_beats`` does
        r_index, _ = window_bounds(MODEL_FS, STORE_PRE_S, 0.0)
        keep = dominant_beats(w1, rr[:, 0], MODEL_FS, r_index)
        w1, w2, rr = w1[keep], w2[keep], rr[keep]
    return ecg_id, w1, w2, rr


def ptbxl_two_lead_table(
    data_dir: str | Path,
    split: str,
    *,
    n_norm: int | None,
    n_blocks: int | None = None,
    seed: int = 0,
    workers: int = 1,
    lead: str = "II",
    second_lead: str = "V1",
    cache: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TwoLeadTable, np.ndarray]:
    """(aligned II + V1 table, patient of each beat) of the PTB-XL records ``mixed`` samples
    for ``split`` (the same records as the shipped model's one-lead tables), cached."""
    from ecg.io.ptbxl import load_ptbxl_table, ptbxl_splits
    from ecg.training.mixed import sample_records
    from ecg.training.ptbxl_beats import labelled_records

    path = Path(cache or TWO_LEAD_CACHE.format(split=split, n_norm=n_norm if n_norm else "all"))
    if path.is_file():
        return load_two_lead(path)
    rows = sample_records(
        ptbxl_splits(load_ptbxl_table(data_dir))[split], n_norm, seed=seed, n_blocks=n_blocks
    )
    chosen = labelled_records(rows)
    jobs = [
        (str(data_dir), int(ecg_id), lead, second_lead, bool(row.ectopy))
        for ecg_id, row in chosen.iterrows()
    ]
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            results = pool.map(_one_record, jobs, chunksize=32)
    else:
        results = [_one_record(job) for job in jobs]
    parts = [r for r in results if len(r[1])]
    if progress:
        progress(f"PTB-XL {split}: {len(parts)} of {len(jobs)} records gave beats")
    n = [len(p[1]) for p in parts]
    width = sum(window_bounds(MODEL_FS, STORE_PRE_S, STORE_POST_S))
    stack = (lambda i: np.concatenate([p[i] for p in parts])) if parts else None
    table = TwoLeadTable(
        stack(1) if stack else np.zeros((0, width), np.float32),
        stack(3) if stack else np.zeros((0, 6), np.float32),
        np.repeat([str(chosen.at[p[0], "label"]) for p in parts], n).astype("<U2"),
        np.repeat([f"ptbxl{p[0]}" for p in parts], n).astype("<U12"),
        MODEL_FS,
        STORE_PRE_S,
        STORE_POST_S,
        lead,
        stack(2) if stack else np.zeros((0, width), np.float32),
        np.ones(sum(n), bool),
    )
    patients = np.repeat([int(chosen.at[p[0], "patient_id"]) for p in parts], n).astype(np.int64)
    save_two_lead(table, path, patients=patients)
    return table, patients


def save_two_lead(table: TwoLeadTable, path: str | Path, **extra: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        windows=table.windows,
        second=table.second,
        has_second=table.has_second,
        rr=table.rr,
        symbols=table.symbols,
        records=table.records,
        meta=np.array([table.fs, table.pre_s, table.post_s]),
        lead=np.array(table.lead),
        **extra,
    )
    return path


def load_two_lead(path: str | Path) -> tuple[TwoLeadTable, np.ndarray]:
    """(table, patients: empty when none were saved)."""
    with np.load(path) as d:
        fs, pre_s, post_s = (float(v) for v in d["meta"])
        table = TwoLeadTable(
            d["windows"],
            d["rr"],
            d["symbols"],
            d["records"],
            fs,
            pre_s,
            post_s,
            str(d["lead"]),
            d["second"],
            d["has_second"],
        )
        patients = d["patients"] if "patients" in d else np.zeros(0, np.int64)
    return table, patients


def mitdb_two_lead(mlii: BeatTable, second: BeatTable) -> TwoLeadTable:
    """MIT-BIH MLII beats with their second lead where ``second`` (the V1 / V5 table cut at the
    same reference annotations) holds the record, else the MLII duplicated. Raises if a record's
    second-lead beats are not the MLII beats (count, symbols, RR)."""
    out_second = mlii.windows.copy()
    has = np.zeros(len(mlii), bool)
    for name in np.unique(second.records):
        a = np.flatnonzero(mlii.records == name)
        b = np.flatnonzero(second.records == name)
        same = len(a) == len(b) and np.array_equal(mlii.symbols[a], second.symbols[b])
        if not same or not np.allclose(mlii.rr[a], second.rr[b]):
            raise ValueError(f"record {name}: the second lead's beats are not the MLII beats")
        out_second[a] = second.windows[b]
        has[a] = True
    return TwoLeadTable(
        mlii.windows,
        mlii.rr,
        mlii.symbols,
        mlii.records,
        mlii.fs,
        mlii.pre_s,
        mlii.post_s,
        mlii.lead,
        out_second,
        has,
    )


def with_one_lead_copies(
    table: TwoLeadTable, share: float, *, seed: int = 0, tag: str = "@one"
) -> TwoLeadTable:
    """``table`` plus, for a random ``share`` of its two-lead records, a copy of their beats
    with the primary in both channels (record names suffixed ``tag``), so training shows the
    one-lead fallback on that source too."""
    records = np.unique(table.records[table.has_second])
    rng = np.random.default_rng(seed)
    picked = rng.choice(records, size=int(round(share * len(records))), replace=False)
    rows = np.flatnonzero(np.isin(table.records, picked))
    if not len(rows):
        return table
    copy = duplicate_primary(table.subset(rows))
    copy.records = np.char.add(copy.records.astype(str), tag)
    return concat_two_lead([table, copy], lead=table.lead)


def two_lead_inputs(
    bundle: Any,
    primary: np.ndarray,
    second: np.ndarray | None,
    fs: float,
    peaks: np.ndarray,
    *,
    readable: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Serving side: (kept peak indices, uint8 images (n, H, W, 2), "rr" input) of a recording
    at the app's ``peaks``: ``ecg.models.two_lead_inputs.two_lead_windows`` (the app's own
    inputs), drawn. ``second`` None (a one-lead upload, or a second lead the model was not
    trained on): the primary in both channels."""
    from ecg.models.two_lead_inputs import two_lead_windows

    kept, windows, rr = two_lead_windows(bundle, primary, second, fs, peaks, readable=readable)
    images = np.stack([bundle.render(windows[:, c]) for c in (0, 1)], axis=-1)
    return kept, images, rr


def record_names(table: BeatTable) -> np.ndarray:
    """Record names without lead or copy tags."""
    return np.array([r.split("@")[0] for r in record_of(table.records)])
