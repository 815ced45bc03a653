"""A second XQRS run for a short lead of small QRS complexes: measured, OFF (``FALLBACK_P99_MV``).

A short stretch (a 10-s ECG) gives XQRS too few beats to learn its thresholds, so it starts from
its defaults, a QRS threshold of 0.13 mV: a lead whose QRS is small (lead II of some bundle
branch blocks on PTB-XL: 0.2 mV at its 99th percentile) then gets no beat at all. When a run
learned nothing and found no beat (or under one per ``SPARSE_S``), ``rerun_unlearned`` runs it
again on the lead scaled up to ``FALLBACK_P99_MV`` at its 99th percentile of |x| and keeps the
rerun's beats when it found more; with ``FALLBACK_CONFIRM``, only those the quality module's
independent energy detector (Pan-Tompkins) also finds within the EC57 window, two detectors
agreeing as the bSQI asks.

Off, as ``benchmarks/detection_short_records.py`` left it: three versions raised F1 on short
DS1 excerpts (0.90 -> 0.96) but each cost more than its rule's 0.1 point of +P (record 101's
noisy V1 above all), so none shipped (docs/calibration.md). An upload whose preferred lead gets
no beat is analysed on a readable lead instead (``ecg.lead_choice``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.dsp.quality import energy_detector

FALLBACK_P99_MV: float | None = None  # None: off
FALLBACK_CONFIRM = True  # the study's version 2 on
SPARSE_S: float | None = None  # None: only a run with no beat at all (version 3); v1-2: 3.0


def rerun_unlearned(
    detector: Any, clean: np.ndarray, fs: float, peaks: np.ndarray, tolerance: int
) -> np.ndarray:
    """``peaks`` of the finished XQRS ``detector`` on ``clean``, or a scaled-up rerun's beats
    when the fallback is on and the run learned nothing and found (almost) nothing;
    ``tolerance``: the confirmation's window in samples."""
    sparse = peaks.size == 0 if SPARSE_S is None else peaks.size < (clean.size / fs) / SPARSE_S
    if FALLBACK_P99_MV is None or detector.learned_init_params or not sparse:
        return peaks
    level = float(np.percentile(np.abs(clean), 99))
    if not 0 < level < FALLBACK_P99_MV:
        return peaks
    again = type(detector)(sig=clean.astype(np.float64) * (FALLBACK_P99_MV / level), fs=fs)
    again.detect(verbose=False)
    rerun = np.asarray(again.qrs_inds, dtype=np.int64)
    if FALLBACK_CONFIRM and rerun.size:
        rerun = rerun[_near(rerun, energy_detector(clean, fs), tolerance)]
    return rerun if rerun.size > peaks.size else peaks


def _near(peaks: np.ndarray, others: np.ndarray, tolerance: int) -> np.ndarray:
    """Whether each of ``peaks`` has one of ``others`` (sorted) within ``tolerance`` samples."""
    if others.size == 0:
        return np.zeros(peaks.size, dtype=bool)
    at = np.searchsorted(others, peaks)
    before = others[np.clip(at - 1, 0, others.size - 1)]
    after = others[np.clip(at, 0, others.size - 1)]
    return np.minimum(np.abs(peaks - before), np.abs(after - peaks)) <= tolerance
