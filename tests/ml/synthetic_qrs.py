"""Synthetic beats with a KNOWN QRS onset and offset, for testing and tuning ``qrs_bounds``.

Every wave is a sum of compact-support lobes (sin^2 bumps), so the QRS starts exactly where its
first lobe starts and ends where its last lobe ends, with the gradual take-off a real QRS has.
The lead is built at 500 Hz (LUDB's rate), with a P and a T wave, then sent through the serving
path (``prepare_signal`` to MODEL_FS) before the bounds are estimated.
"""

from __future__ import annotations

import numpy as np

from ecg.dsp.signal import MODEL_FS, prepare_signal
from ecg.features.beats import POST_S, PRE_S, extract_windows, window_bounds

FS_RAW = 500.0
# name -> lobes (start s from QRS onset, rise s, flat s, fall s, amplitude mV); a lobe rises as
# a half sin^2, may stay flat (a plateau), then falls. The QRS spans its lobes (true width).
SHAPES: dict[str, list[tuple[float, float, float, float, float]]] = {
    # qRs, 90 ms
    "narrow": [(0.0, 0.011, 0, 0.011, -0.1), (0.018, 0.022, 0, 0.023, 1.2),
               (0.058, 0.012, 0, 0.020, -0.3)],
    # qRS whose S returns slowly to the baseline (slurred J point), 110 ms
    "slurred_s": [(0.0, 0.010, 0, 0.010, -0.08), (0.016, 0.020, 0, 0.020, 1.0),
                  (0.052, 0.010, 0, 0.048, -0.45)],
    # broad notched R (LBBB in a lateral lead), 150 ms
    "wide_lbbb": [(0.0, 0.040, 0, 0.040, 1.0), (0.060, 0.045, 0, 0.045, 0.9)],
    # flat-topped broad R: no slope at the R peak for 50 ms, 150 ms
    "plateau_lbbb": [(0.0, 0.045, 0.050, 0.055, 1.1)],
    # rSR' (RBBB in V1), 130 ms
    "rsr_rbbb": [(0.0, 0.015, 0, 0.015, 0.3), (0.025, 0.020, 0, 0.025, -0.6),
                 (0.065, 0.030, 0, 0.035, 0.9)],
    # QS, 100 ms
    "inverted_qs": [(0.0, 0.050, 0, 0.050, -1.2)],
    # notched QS (LBBB in V1), 140 ms
    "wide_inverted": [(0.0, 0.035, 0, 0.035, -0.9), (0.055, 0.040, 0, 0.045, -0.8)],
    # low-voltage wide complex, 140 ms
    "small_wide": [(0.0, 0.035, 0, 0.040, 0.35), (0.060, 0.040, 0, 0.040, 0.3)],
}  # fmt: skip


def _lobe(t: np.ndarray, lobe: tuple[float, float, float, float, float]) -> np.ndarray:
    start, rise, flat, fall, amp = lobe
    x = np.zeros_like(t)
    up = (t >= start) & (t < start + rise)
    x[up] = np.sin(0.5 * np.pi * (t[up] - start) / rise) ** 2
    x[(t >= start + rise) & (t <= start + rise + flat)] = 1.0
    down_start = start + rise + flat
    down = (t > down_start) & (t <= down_start + fall)
    x[down] = np.cos(0.5 * np.pi * (t[down] - down_start) / fall) ** 2
    return amp * x


def true_width(shape: str) -> float:
    lobes = SHAPES[shape]
    return max(s + r + f + d for s, r, f, d, _ in lobes) - min(lobe[0] for lobe in lobes)


def lead_with_beats(
    beats: list[tuple[float, str]],
    *,
    seconds: float = 10.0,
    fs: float = FS_RAW,
    noise_mv: float = 0.01,
    seed: int = 0,
) -> np.ndarray:
    """A raw lead in mV at ``fs`` with a beat of shape ``shape`` (P, QRS, T) at each QRS onset."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = np.zeros_like(t)
    for onset, shape in beats:
        width = true_width(shape)
        x += _lobe(t, (onset - 0.20, 0.05, 0, 0.05, 0.12))  # P wave, PR segment 100 ms
        for start, rise, flat, fall, amp in SHAPES[shape]:
            x += _lobe(t, (onset + start, rise, flat, fall, amp))
        x += _lobe(t, (onset + width + 0.08, 0.10, 0, 0.08, 0.3))  # T wave, ST segment 80 ms
    x += noise_mv * rng.standard_normal(t.size)
    return x.astype(np.float32)


def synthetic_lead(
    shape: str, *, rr_s: float = 0.85, seconds: float = 10.0, noise_mv: float = 0.01, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(raw lead at FS_RAW in mV, QRS onsets in seconds) of a regular rhythm of one shape."""
    onsets = np.arange(0.6, seconds - 0.8, rr_s)
    raw = lead_with_beats(
        [(o, shape) for o in onsets], seconds=seconds, noise_mv=noise_mv, seed=seed
    )
    return raw, onsets


def synthetic_windows(shape: str, **kwargs) -> tuple[np.ndarray, int, float]:
    """(model windows at MODEL_FS around each beat's largest deflection, R index, true width)."""
    raw, onsets = synthetic_lead(shape, **kwargs)
    clean = prepare_signal(raw, FS_RAW, MODEL_FS)
    width = true_width(shape)
    peaks = []
    for onset in onsets:  # the R peak as refine_peaks picks it: the largest |deflection|
        lo, hi = int(onset * MODEL_FS), int((onset + width) * MODEL_FS)
        peaks.append(lo + int(np.argmax(np.abs(clean[lo:hi]))))
    windows, _ = extract_windows(clean, np.array(peaks), MODEL_FS, pre_s=PRE_S, post_s=POST_S)
    r_index, _ = window_bounds(MODEL_FS, PRE_S, 0.0)
    return windows, r_index, width
