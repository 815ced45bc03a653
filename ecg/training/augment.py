"""ECG-aware augmentation of beat windows (in mV), applied before rendering.

Changes the recording conditions, never the physiology's direction: amplitude gain, a slow
baseline drift, sensor noise, a small shift of the R peak and, where a model asks for it, a
small stretch of time about the R peak (wider or narrower waves, as from patient to patient).
Time is never reversed (a horizontal flip would turn a P wave into a post-QRS wave).
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
    stretch: tuple[float, float] = (1.0, 1.0)  # time scale about the R peak; (1, 1): none


def stretch_windows(
    windows: np.ndarray, r_index: int, rng: np.random.Generator, params: AugmentParams
) -> np.ndarray:
    """Each window resampled in time about its R peak (column ``r_index``) by a factor drawn
    from ``params.stretch`` (above 1 widens the waves); linear interpolation, same length, the
    R peak stays put. Apply it to the wide stored windows before cropping, so a narrowing never
    pulls in samples from beyond the window. Draws nothing when the range is (1, 1)."""
    if params.stretch == (1.0, 1.0):
        return windows
    windows = np.asarray(windows, dtype=np.float32)
    n, length = windows.shape
    factors = rng.uniform(*params.stretch, size=(n, 1))
    source = r_index + (np.arange(length)[None, :] - r_index) / factors
    source = np.clip(source, 0, length - 1)
    left = np.floor(source).astype(np.int64)
    right = np.minimum(left + 1, length - 1)
    frac = (source - left).astype(np.float32)
    rows = np.arange(n)[:, None]
    return windows[rows, left] * (1 - frac) + windows[rows, right] * frac


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
