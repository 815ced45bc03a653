"""Signal processing shared by training and serving. Every function takes the sampling rate."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import signal as sps

MODEL_FS = 360.0  # the rate every model in this project is trained at (MIT-BIH's own)
BAND_HZ = (0.5, 40.0)  # removes baseline wander below and mains / muscle noise above
FILTER_BLOCK = 1 << 18  # samples (12 min at 360 Hz): longer leads are filtered block by block


@lru_cache(maxsize=16)
def _bandpass_sos(fs: float, low: float, high: float) -> np.ndarray:
    return sps.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")


def bandpass(x: np.ndarray, fs: float, band: tuple[float, float] = BAND_HZ) -> np.ndarray:
    """Zero-phase band-pass filter (keeps the R peak where the annotation says it is)."""
    if np.ndim(x) == 1 and np.shape(x)[0] > FILTER_BLOCK:
        # A long lead (a 24-hour recording): the same values, in bounded memory.
        high = min(band[1], 0.45 * fs)
        return sosfiltfilt_blocks(_bandpass_sos(float(fs), band[0], high), x, FILTER_BLOCK)
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] < 16:
        return x.astype(np.float32)
    high = min(band[1], 0.45 * fs)
    sos = _bandpass_sos(float(fs), band[0], high)
    return sps.sosfiltfilt(sos, x, axis=-1).astype(np.float32)


def _filtfilt_edge(sos: np.ndarray) -> int:
    """Samples ``scipy.signal.sosfiltfilt`` adds at each end (its default ``padlen``)."""
    taps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * taps


def sosfiltfilt_blocks(sos: np.ndarray, x: np.ndarray, block: int) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x).astype(np.float32)`` for a 1-D ``x``, bit for bit,
    with at most ``block`` float64 samples in memory besides the float32 result.

    scipy holds about four float64 copies of the whole lead (1 GB for one lead of 24 hours at
    360 Hz). Here the forward pass runs block by block and keeps only the filter state at each
    block's start; the backward pass then walks the blocks from the end, recomputing each
    block's forward output from its saved state. ``sosfilt`` carries its state sample by sample,
    so a block continued from a saved state computes exactly what one long call computes.
    """
    n, edge = len(x), _filtfilt_edge(sos)
    if n <= edge:
        raise ValueError(f"the signal must be longer than {edge} samples")
    extended = _odd_extension(x, edge)
    starts = list(range(0, n + 2 * edge, block))
    spans = [(start, min(start + block, n + 2 * edge)) for start in starts]
    zi = sps.sosfilt_zi(sos)
    states, state = [], zi * extended(0, 1)[0]
    for lo, hi in spans:
        states.append(state)
        forward, state = sps.sosfilt(sos, extended(lo, hi), zi=state)
    state = zi * forward[-1]
    out = np.empty(n, dtype=np.float32)
    for (lo, hi), saved in zip(reversed(spans), reversed(states), strict=True):
        forward = sps.sosfilt(sos, extended(lo, hi), zi=saved)[0]
        backward, state = sps.sosfilt(sos, forward[::-1], zi=state)
        keep_lo, keep_hi = max(lo, edge), min(hi, edge + n)  # the part that is not padding
        if keep_hi > keep_lo:
            out[keep_lo - edge : keep_hi - edge] = backward[::-1][keep_lo - lo : keep_hi - lo]
    return out


def _odd_extension(x: np.ndarray, edge: int) -> Callable[[int, int], np.ndarray]:
    """Slices [lo, hi) of ``x`` extended by ``edge`` samples at each end, float64, as scipy's
    ``odd_ext`` computes them, without building the extended copy."""
    n = len(x)
    left = 2 * np.float64(x[0]) - np.asarray(x[edge:0:-1], dtype=np.float64)
    right = 2 * np.float64(x[-1]) - np.asarray(x[-2 : -(edge + 2) : -1], dtype=np.float64)

    def extended(lo: int, hi: int) -> np.ndarray:
        middle = np.asarray(x[max(lo - edge, 0) : max(min(hi - edge, n), 0)], dtype=np.float64)
        tail = right[max(lo - edge - n, 0) : max(hi - edge - n, 0)]
        return np.concatenate([left[max(lo, 0) : min(hi, edge)], middle, tail])

    return extended


def resample(x: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """``x`` at ``target_fs``: sample k of the result is the signal at time ``k / target_fs``,
    so positions scaled by ``target_fs / fs`` (``rescale_samples``) land on the same wave at
    any rate. A no-op when the rates already match.

    Polyphase resampling needs a ratio of small integers: ``up / down`` approximates the rate
    ratio with ``down <= RESAMPLE_MAX_DENOMINATOR`` (exact for 250, 500, 1000, 128 Hz...). When
    it is not exact (359.71 Hz -> 1001/1000), the polyphase result runs at ``fs * up / down``,
    up to 0.1 % off: over 30 minutes that drifted beats by 0.35 s off their windows. That
    residual is then removed by cubic interpolation at the exact times (RESAMPLE_INTERPOLATION).
    """
    if abs(fs - target_fs) < 1e-6:
        return np.asarray(x, dtype=np.float32)
    from fractions import Fraction

    ratio = Fraction(target_fs / fs).limit_denominator(RESAMPLE_MAX_DENOMINATOR)
    up, down = ratio.numerator, ratio.denominator
    polyphase = sps.resample_poly(x, up, down)
    # The rate the polyphase output actually has, relative to the one asked for.
    residual = (fs * up / down) / target_fs
    if abs(residual - 1.0) < 1e-12:
        return polyphase.astype(np.float32)
    n_out = int(np.ceil(np.shape(x)[-1] * target_fs / fs))  # resample_poly's length convention
    return _interpolate_at(polyphase, residual, n_out)


RESAMPLE_MAX_DENOMINATOR = 1000  # polyphase filters stay short (20 * max(up, down) taps)
RESAMPLE_BLOCK = 1 << 16  # output samples interpolated at a time (bounded index arrays)


def _interpolate_at(y: np.ndarray, step: float, n_out: int) -> np.ndarray:
    """``y`` read at positions ``k * step`` for k < n_out, by Keys' cubic convolution (a = -1/2).

    Here ``step`` is within 0.1 % of 1 and ``y`` is at the model rate, so the interpolated
    content is far below Nyquist: at 40 Hz (the band-pass's upper edge) and 360 Hz the
    worst-case gain (half a sample off the grid) is 0.995. Positions past the last sample
    read the last sample (the polyphase output's edge).
    """
    y = np.asarray(y, dtype=np.float64)
    last = len(y) - 1
    out = np.empty(n_out, dtype=np.float32)
    for lo in range(0, n_out, RESAMPLE_BLOCK):
        position = np.arange(lo, min(lo + RESAMPLE_BLOCK, n_out), dtype=np.float64) * step
        base = np.floor(position).astype(np.int64)
        t = position - base
        t2, t3 = t * t, t * t * t
        weights = (
            -0.5 * t3 + t2 - 0.5 * t,
            1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t,
            0.5 * t3 - 0.5 * t2,
        )
        value = np.zeros(len(position), dtype=np.float64)
        for offset, weight in zip((-1, 0, 1, 2), weights, strict=True):
            value += weight * y[np.clip(base + offset, 0, last)]
        out[lo : lo + len(position)] = value
    return out


def rescale_samples(samples: np.ndarray, fs: float, target_fs: float) -> np.ndarray:
    """Sample indices (e.g. annotated R peaks) moved to another sampling rate."""
    return np.round(np.asarray(samples) * (target_fs / fs)).astype(np.int64)


def prepare_signal(x: np.ndarray, fs: float, target_fs: float = MODEL_FS) -> np.ndarray:
    """The one preprocessing path for a raw lead: resample to the model rate, then band-pass."""
    return bandpass(resample(x, fs, target_fs), target_fs)
