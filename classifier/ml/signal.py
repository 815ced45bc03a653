"""Signal processing shared by training and serving. Every function takes the sampling rate."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps

MODEL_FS = 360.0  # the rate every model in this project is trained at (MIT-BIH's own)
BAND_HZ = (0.5, 40.0)  # removes baseline wander below and mains / muscle noise above


@lru_cache(maxsize=16)
def _bandpass_sos(fs: float, low: float, high: float) -> np.ndarray:
    return sps.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")


def bandpass(x: np.ndarray, fs: float, band: tuple[float, float] = BAND_HZ) -> np.ndarray:
    """Zero-phase band-pass filter (keeps the R peak where the annotation says it is)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] < 16:
        return x.astype(np.float32)
    high = min(band[1], 0.45 * fs)
    sos = _bandpass_sos(float(fs), band[0], high)
    return sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)


def resample(x: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """Polyphase resampling to ``target_fs`` (a no-op when the rates already match)."""
    if abs(fs - target_fs) < 1e-6:
        return np.asarray(x, dtype=np.float32)
    from fractions import Fraction

    ratio = Fraction(target_fs / fs).limit_denominator(1000)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def rescale_samples(samples: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """Sample indices (e.g. annotated R peaks) moved to another sampling rate."""
    return np.round(np.asarray(samples) * (target_fs / fs)).astype(np.int64)


def prepare_signal(x: np.ndarray, fs: float, target_fs: float = MODEL_FS) -> np.ndarray:
    """The one preprocessing path for a raw lead: resample to the model rate, then band-pass."""
    return bandpass(resample(x, fs, target_fs), target_fs)
