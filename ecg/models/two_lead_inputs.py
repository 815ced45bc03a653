"""The inputs of a two-channel model (issue 17): each beat's primary lead and second lead.

A two-lead bundle (metadata ``channels: 2``) reads a beat as one image with two channels: the
primary lead (MLII / II) and a second lead (V1 / V5) cut at the SAME peaks, each through the
one-lead preparation (``ModelBundle.beat_windows``); the "rr" input comes from the primary.
Where the second lead may not be used -- a one-lead upload, a lead the model was not trained
on, a beat whose second-lead segment failed its screen, a window that exists on the primary
only -- the beat gets its primary in both channels, the fallback the model was trained with
(``ecg.training.two_lead``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def two_lead_windows(
    bundle: Any,
    primary: np.ndarray,
    second: np.ndarray | None,
    fs: float,
    peaks: np.ndarray,
    *,
    readable: np.ndarray | None = None,
    use_second: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(kept peak indices, windows (n, 2, samples) at the model rate, "rr" input or None).

    ``second`` None: the primary in both channels for every beat; ``use_second`` (one flag per
    peak, None: all): the beats whose second-lead window may be used."""
    kept, w1, rr = bundle.beat_windows(primary, fs, peaks, readable=readable)
    w2 = w1.copy()
    if second is not None and len(kept):
        kept2, w_other, _ = bundle.beat_windows(second, fs, peaks, readable=readable)
        where = np.full(len(peaks), -1, dtype=np.int64)
        where[kept2] = np.arange(len(kept2))
        rows = where[kept]
        if use_second is not None:
            rows[~np.asarray(use_second, dtype=bool)[kept]] = -1
        w2[rows >= 0] = w_other[rows[rows >= 0]]
    return kept, np.stack([w1, w2], axis=1), rr
