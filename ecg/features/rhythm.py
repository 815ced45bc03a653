"""The rhythm summary of a classified recording: what a reader wants to see at a glance.

Pure functions of beat times and beat classes; the result is a JSON-ready dict stored with the
recording and shown on its report page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecg.features.beat_states import CLASSIFIED, UNREADABLE, state_counts

# Classes that are ectopic (premature / abnormal origin) rather than conduction patterns: runs and
# per-hour counts are reported for these. L and R (bundle branch blocks) are a property of every
# beat of a patient, so "runs" of them mean nothing.
ECTOPIC_CLASSES = ("A", "V", "!")
RR_VALID_S = (0.2, 3.0)  # intervals outside this are detection gaps or artefacts, not rhythm
HR_SMOOTH_BEATS = 8  # min / max heart rate over a running median of this many intervals


def class_counts(labels: Sequence[str], classes: Sequence[str]) -> list[dict[str, Any]]:
    """Beats per class and percentage, in the model's class order."""
    labels = np.asarray(labels)
    total = max(len(labels), 1)
    out = []
    for code in classes:
        count = int(np.sum(labels == code))
        out.append({"code": code, "count": count, "percent": round(100.0 * count / total, 2)})
    return out


def rr_intervals(peaks: np.ndarray, fs: float, readable: np.ndarray | None = None) -> np.ndarray:
    """RR intervals (s) within ``RR_VALID_S``; with ``readable`` (one flag per beat), only the
    intervals between two readable beats: a gap over an unreadable stretch is no interval."""
    rr = np.diff(np.asarray(peaks, dtype=np.float64)) / fs
    if readable is not None:
        readable = np.asarray(readable, dtype=bool)
        rr = rr[readable[:-1] & readable[1:]]
    return rr[(rr >= RR_VALID_S[0]) & (rr <= RR_VALID_S[1])]


def heart_rate(
    peaks: np.ndarray, fs: float, readable: np.ndarray | None = None
) -> dict[str, float | None]:
    """Mean heart rate (beats / mean RR) and min / max of the running-median heart rate."""
    rr = rr_intervals(peaks, fs, readable)
    if rr.size == 0:
        return {"mean_bpm": None, "min_bpm": None, "max_bpm": None}
    if rr.size >= HR_SMOOTH_BEATS:
        windows = np.lib.stride_tricks.sliding_window_view(rr, HR_SMOOTH_BEATS)
        smooth = np.median(windows, axis=1)
    else:
        smooth = np.array([np.median(rr)])
    return {
        "mean_bpm": round(60.0 / float(rr.mean()), 1),
        "min_bpm": round(60.0 / float(smooth.max()), 1),
        "max_bpm": round(60.0 / float(smooth.min()), 1),
    }


def rr_irregularity(
    peaks: np.ndarray, fs: float, readable: np.ndarray | None = None
) -> dict[str, float | None]:
    """RR variability: SDNN, RMSSD and pNN50 (ms / %) and the coefficient of variation."""
    rr = rr_intervals(peaks, fs, readable)
    if rr.size < 3:
        return {"sdnn_ms": None, "rmssd_ms": None, "pnn50_percent": None, "cv": None}
    successive = np.diff(rr)
    return {
        "sdnn_ms": round(1000.0 * float(rr.std(ddof=1)), 1),
        "rmssd_ms": round(1000.0 * float(np.sqrt(np.mean(successive**2))), 1),
        "pnn50_percent": round(100.0 * float(np.mean(np.abs(successive) > 0.05)), 1),
        "cv": round(float(rr.std(ddof=1) / rr.mean()), 3),
    }


def runs_of(labels: Sequence[str], code: str) -> list[tuple[int, int]]:
    """(first beat index, length) of every maximal run of consecutive beats of class ``code``."""
    hits = (np.asarray(labels) == code).astype(np.int8)
    edges = np.diff(np.concatenate([[0], hits, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def ectopy(
    labels: Sequence[str], peaks: np.ndarray, fs: float, duration_s: float
) -> list[dict[str, Any]]:
    """Per ectopic class: beats per hour, singles, couplets, triplets, longer runs, longest run."""
    hours = max(duration_s / 3600.0, 1e-9)
    peaks = np.asarray(peaks)
    out = []
    for code in ECTOPIC_CLASSES:
        runs = runs_of(labels, code)
        total = sum(length for _, length in runs)
        longest = max(runs, key=lambda run: run[1]) if runs else None
        out.append(
            {
                "code": code,
                "beats": total,
                "per_hour": round(total / hours, 1),
                "singles": sum(1 for _, n in runs if n == 1),
                "couplets": sum(1 for _, n in runs if n == 2),
                "triplets": sum(1 for _, n in runs if n == 3),
                "runs_4_plus": sum(1 for _, n in runs if n >= 4),
                "longest_run": longest[1] if longest else 0,
                "longest_run_at_s": round(float(peaks[longest[0]]) / fs, 2) if longest else None,
            }
        )
    return out


def summarise(
    *,
    peaks: np.ndarray,
    labels: Sequence[str],
    fs: float,
    duration_s: float,
    classes: Sequence[str],
    states: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The report's summary for beats at ``peaks`` (samples at ``fs``) with class ``labels``.

    ``states`` (``ecg.features.beat_states``, one per beat; all "classified" when omitted)
    decide what counts: class counts and ectopic runs take classified beats only (an uncertain
    or unreadable beat breaks a run, it never joins one); heart rate and RR variability take
    the readable beats (classified or uncertain: an uncertain class is still a heartbeat).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) != len(labels):
        raise ValueError(f"{len(peaks)} beats but {len(labels)} labels")
    states_array = np.asarray(states if states is not None else [CLASSIFIED] * len(peaks))
    if states_array.shape != peaks.shape:
        raise ValueError(f"{len(peaks)} beats but {len(states_array)} states")
    shown = np.where(states_array == CLASSIFIED, np.asarray(labels, dtype=object), "")
    readable = states_array != UNREADABLE
    return {
        "beats": int(len(peaks)),
        "duration_s": round(float(duration_s), 2),
        "classes": class_counts(shown[states_array == CLASSIFIED].tolist(), classes),
        "states": state_counts(states_array),
        "heart_rate": heart_rate(peaks, fs, readable),
        "rr": rr_irregularity(peaks, fs, readable),
        "ectopy": ectopy(shown.tolist(), peaks, fs, duration_s),
    }
