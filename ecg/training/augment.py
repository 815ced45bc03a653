"""ECG-aware augmentation of beat windows (in mV), applied before rendering.

Changes the recording conditions, never the physiology's direction: amplitude gain, a slow
baseline drift, sensor noise and a small shift of the R peak. Time is never reversed (a
horizontal flip would turn a P wave into a post-QRS wave).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentParams:
    gain: tuple[float, float] = (0.85, 1.2)  # electrode placement and skin contact vary
    wander_mv: float = 0.1  # peak amplitude of a slow drift across the window
    noise_mv: float = 0.02  # standard deviation of white noise
    max_shift_s: float = 0.02  # R-peak jitter of a detector versus the reference annotation


def random_shifts(n: int, fs: float, rng: np.random.Generator, params: AugmentParams) -> np.ndarray:
    """Per-beat time shift in samples for ``BeatTable.crop`` (a crop offset, not a flip)."""
    limit = int(round(params.max_shift_s * fs))
    return rng.integers(-limit, limit + 1, size=n)


def augment_windows(
    windows: np.ndarray, fs: float, rng: np.random.Generator, params: AugmentParams | None = None
) -> np.ndarray:
    """Gain, baseline drift and noise on a batch of windows (n, samples); same time order."""
    params = params or AugmentParams()
    windows = np.asarray(windows, dtype=np.float32)
    n, length = windows.shape
    gain = rng.uniform(*params.gain, size=(n, 1))
    t = np.arange(length, dtype=np.float32)[None, :] / fs
    freq = rng.uniform(0.1, 0.5, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    amp = rng.uniform(0, params.wander_mv, size=(n, 1))
    drift = amp * np.sin(2 * np.pi * freq * t + phase)
    noise = rng.normal(0.0, params.noise_mv, size=windows.shape)
    return (windows * gain + drift + noise).astype(np.float32)


def band_limit(windows: np.ndarray, fs: float, limit_fs: float = 100.0) -> np.ndarray:
    """Windows (n, samples) at ``fs`` sent down to ``limit_fs`` and back up, as PTB-XL's 100 Hz
    records reach the model: nothing is left above ``limit_fs / 2``, the rest is unchanged.

    Training applies it to a share of the beats so a 360 Hz MIT-BIH beat can look like a 100 Hz
    PTB-XL beat: the spectrogram's 0-50 Hz band is otherwise empty near 50 Hz for one source
    only, a cue for the source rather than the rhythm.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(float(limit_fs) / float(fs)).limit_denominator(1000)
    windows = np.asarray(windows, dtype=np.float64)
    low = resample_poly(windows, ratio.numerator, ratio.denominator, axis=1)
    back = resample_poly(low, ratio.denominator, ratio.numerator, axis=1)
    return back[:, : windows.shape[1]].astype(np.float32)
