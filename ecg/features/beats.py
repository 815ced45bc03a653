"""Cutting beats out of a lead and describing the rhythm around each beat (pure functions)."""

from __future__ import annotations

import numpy as np

from ecg.classes import BEAT_SYMBOLS, symbol_to_index

# Default beat window around the R peak: 250 ms before (P wave, PR segment) and 450 ms after
# (QRS and T wave). 0.7 s = 252 samples at 360 Hz.
PRE_S = 0.25
POST_S = 0.45
RR_FEATURE_NAMES = (
    "rr_prev_s",
    "rr_next_s",
    "rr_local_mean_s",
    "rr_prev_over_local",
    "rr_next_over_prev",
    "rr_prev_over_record_mean",
)


def window_bounds(fs: float, pre_s: float, post_s: float) -> tuple[int, int]:
    """Samples before and after the R peak for a window, at sampling rate ``fs``."""
    return int(round(pre_s * fs)), int(round(post_s * fs))


def extract_windows(
    signal: np.ndarray, peaks: np.ndarray, fs: float, *, pre_s: float, post_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Beat windows (n_beats, pre+post) around ``peaks`` and the indices of the peaks kept.

    Peaks too close to either end of the signal for a full window are dropped (their indices are
    absent from the second array), never padded with invented samples.
    """
    pre, post = window_bounds(fs, pre_s, post_s)
    peaks = np.asarray(peaks, dtype=np.int64)
    kept = np.flatnonzero((peaks - pre >= 0) & (peaks + post <= len(signal)))
    offsets = np.arange(-pre, post)
    windows = np.asarray(signal, dtype=np.float32)[peaks[kept, None] + offsets[None, :]]
    return windows, kept


def rr_features(peaks: np.ndarray, fs: float, *, reference: np.ndarray | None = None) -> np.ndarray:
    """Six rhythm features per beat (see ``RR_FEATURE_NAMES``), shape (n_beats, 6), float32.

    ``peaks`` must be every beat of the lead in time order (not only the classified ones):
    prematurity is measured against the neighbours, whatever their class. Missing neighbours
    at the edges are filled with the nearest interval. ``reference`` (one flag per beat, e.g.
    "in a readable segment") picks the intervals the record's mean RR is taken over: those
    between two flagged beats (``reference_rows``); None: every interval.
    """
    peaks = np.asarray(peaks, dtype=np.float64)
    n = peaks.size
    if n < 2:
        return np.ones((n, len(RR_FEATURE_NAMES)), dtype=np.float32)
    rr = np.diff(peaks) / fs  # rr[i] is the interval between beat i and i+1
    prev = np.concatenate([[rr[0]], rr])
    nxt = np.concatenate([rr, [rr[-1]]])
    # Mean of the (up to) ten intervals before each beat, via a cumulative sum.
    csum = np.concatenate([[0.0], np.cumsum(prev)])
    idx = np.arange(n)
    start = np.maximum(0, idx - 9)
    local = (csum[idx + 1] - csum[start]) / (idx + 1 - start)
    # Only intervals between two reference beats: noise's false detections would shorten it.
    rows = reference_rows(reference, n)
    both = rows[1:] & rows[:-1]
    record_mean = rr[both].mean() if both.any() else rr.mean()
    feats = np.stack([prev, nxt, local, prev / local, nxt / prev, prev / record_mean], axis=1)
    return feats.astype(np.float32)


MIN_REFERENCE_BEATS = 5  # fewer flagged beats than this: the record's reference uses them all


def reference_rows(reference: np.ndarray | None, n_beats: int) -> np.ndarray:
    """Which beats a record-level reference (median beat, median RR, mean RR, median QRS
    width) is taken over: the flagged ones (e.g. beats in readable segments, so noise cannot
    poison the clean beats' inputs), or every beat when there are no flags or too few flagged
    beats to describe the record."""
    if reference is None:
        return np.ones(n_beats, dtype=bool)
    reference = np.asarray(reference, dtype=bool)
    if reference.shape != (n_beats,):
        raise ValueError(f"{n_beats} beats but {reference.size} reference flags")
    return reference if reference.sum() >= MIN_REFERENCE_BEATS else np.ones(n_beats, dtype=bool)


def beat_annotations(
    ann_samples: np.ndarray, ann_symbols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Only the annotations that mark a beat (or a flutter wave), in time order."""
    symbols = np.asarray(ann_symbols)
    mask = np.isin(symbols, list(BEAT_SYMBOLS))
    return np.asarray(ann_samples, dtype=np.int64)[mask], symbols[mask]


def labels_for(symbols: np.ndarray, label_set: str = "six") -> np.ndarray:
    """Class index per symbol in ``label_set``; -1 for symbols outside it."""
    mapping = symbol_to_index(label_set)
    return np.array([mapping.get(str(s), -1) for s in symbols], dtype=np.int64)
