"""2-D representations of beat windows. Used unchanged by training, export and serving.

Each function is pure and vectorised over a batch of windows in mV and returns uint8 images of
shape (n_beats, size, size). Parameters are stored in each model's metadata so serving draws
exactly what the model was trained on.

* ``beat_image``: the waveform as a white line on black, drawn on a FIXED millivolt scale
  (``mv_range``, top to bottom) after removing the window's median, so amplitude and QRS width
  in milliseconds survive the imaging (per-beat min-max scaling would throw them away). With
  ``amplitude="normalised_ptp"`` every window is first scaled to ``ptp_mv`` peak to peak: the
  scale-free single-beat model, for beats whose amplitude is unknown (a plot without a grid,
  digitised to an assumed amplitude); the default ``"fixed_mv"`` keeps the millivolts.
* ``spectrogram``: STFT log-magnitude of the window, frequency up (0 Hz at the bottom row), on a
  fixed dB scale relative to 1 mV.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import signal as sps

BEAT_IMAGE_DEFAULTS = {"size": 64, "mv_range": [-1.5, 2.5]}
# How a beat image treats amplitude (the "amplitude" parameter, stored in the model metadata
# so serving draws what training drew). Absent means "fixed_mv", as every model before it.
AMPLITUDE_MODES = ("fixed_mv", "normalised_ptp")
# normalised_ptp: the peak-to-peak amplitude every window is scaled to, the digitiser's
# assumed amplitude (ecg.imaging.digitise.ASSUMED_BEAT_PTP_MV, the DS1 training median).
NORMALISED_PTP_MV = 2.0
# Windows flatter than this (mV peak to peak) are not scaled up: noise, not a beat.
MIN_PTP_MV = 1e-3
SPECTROGRAM_DEFAULTS = {
    "size": 64,
    "segment_s": 0.18,
    "hop_s": 0.011,
    "fmax_hz": 50.0,
    "db_range": [-70.0, 0.0],
}


def beat_image(
    windows: np.ndarray,
    fs: float,
    *,
    size: int,
    mv_range: list[float] | tuple[float, float],
    amplitude: str = "fixed_mv",
    ptp_mv: float = NORMALISED_PTP_MV,
) -> np.ndarray:
    """Draw each window as a 1-pixel-plus line image, vectorised (no plotting library).

    ``amplitude``: "fixed_mv" draws the millivolts; "normalised_ptp" scales each window to
    ``ptp_mv`` peak to peak first, so the image does not depend on the amplitude scale.
    """
    if amplitude not in AMPLITUDE_MODES:
        raise ValueError(f"unknown amplitude {amplitude!r}; choose one of {AMPLITUDE_MODES}")
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
    batch, n = windows.shape
    centred = windows - np.median(windows, axis=1, keepdims=True)
    if amplitude == "normalised_ptp":
        ptp = np.ptp(centred, axis=1, keepdims=True)
        gain = np.where(ptp > MIN_PTP_MV, float(ptp_mv) / np.maximum(ptp, MIN_PTP_MV), 1.0)
        centred = (centred * gain).astype(np.float32)
    # Resample every window onto size*4 points plus one, so each column owns 5 points and
    # shares its last with the next column: consecutive columns always connect.
    fine = size * 4 + 1
    src = np.linspace(0.0, n - 1.0, fine)
    lo_i = np.floor(src).astype(np.int64)
    hi_i = np.minimum(lo_i + 1, n - 1)
    frac = (src - lo_i).astype(np.float32)
    dense = centred[:, lo_i] * (1 - frac) + centred[:, hi_i] * frac  # (B, fine)
    low_mv, high_mv = float(mv_range[0]), float(mv_range[1])
    rows = (high_mv - dense) / (high_mv - low_mv) * (size - 1)
    rows = np.clip(rows, 0, size - 1)
    idx = np.arange(size)[:, None] * 4 + np.arange(5)[None, :]  # (size, 5)
    per_col = rows[:, idx]  # (B, size, 5)
    top = np.floor(per_col.min(axis=2))
    bottom = np.ceil(per_col.max(axis=2))
    grid = np.arange(size, dtype=np.float32)[None, :, None]  # row index
    mask = (grid >= top[:, None, :]) & (grid <= bottom[:, None, :])
    del batch
    return (mask * 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _interp_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Linear interpolation as a matrix (n_out, n_in), so a batch resizes with one einsum."""
    pos = np.linspace(0.0, n_in - 1.0, n_out)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    m = np.zeros((n_out, n_in), dtype=np.float32)
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m


@lru_cache(maxsize=8)
def _dft_matrix(nperseg: int, nfft: int, fs: float, fmax_hz: float) -> np.ndarray:
    """Hann-windowed real DFT of one segment, only for the bins kept (<= ``fmax_hz``):
    columns [cos | sin], scaled like ``scipy.signal.stft`` (by the window's sum)."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    keep = np.flatnonzero(freqs <= fmax_hz)
    window = sps.get_window("hann", nperseg)
    angle = -2.0 * np.pi * np.arange(nperseg)[:, None] * keep[None, :] / nfft
    scale = (window / window.sum())[:, None]
    return np.concatenate([np.cos(angle) * scale, np.sin(angle) * scale], axis=1).astype(np.float32)


# Windows drawn at once by ``spectrogram``: a block's segments and spectra (about 3 MB for 64
# beats) stay in the CPU caches, while 512 at once spill to memory: 34 against 55 us of CPU per
# beat (2,048 beats, one BLAS thread). No block is smaller than this (a short rest joins the
# block before it): OpenBLAS computes a product of a few rows (one window's 47 segments) by
# another kernel, up to one grey level off; from 64 windows on, the pixels are those of one
# call on the whole batch (tested), so the model sees what it saw before.
SPECTROGRAM_BLOCK = 64


def spectrogram(
    windows: np.ndarray,
    fs: float,
    *,
    size: int,
    segment_s: float,
    hop_s: float,
    fmax_hz: float,
    db_range: list[float] | tuple[float, float],
) -> np.ndarray:
    """STFT log-magnitude image of each window (frequency up, time right), fixed dB scale.

    Same values as ``scipy.signal.stft`` (Hann window, no padding; see the tests) computed as
    one matrix product over all segments of a block of windows, and only for the bins up to
    ``fmax_hz``: about three times faster, which keeps batch classification above 2,000 beats/s.
    """
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
    params = {"size": size, "segment_s": segment_s, "hop_s": hop_s, "fmax_hz": fmax_hz,
              "db_range": db_range}  # fmt: skip
    n_blocks = max(1, len(windows) // SPECTROGRAM_BLOCK)
    if n_blocks == 1:
        return _spectrogram_block(windows, fs, **params)
    out = np.empty((len(windows), size, size), dtype=np.uint8)
    for number in range(n_blocks):
        lo = number * SPECTROGRAM_BLOCK
        hi = len(windows) if number == n_blocks - 1 else lo + SPECTROGRAM_BLOCK
        out[lo:hi] = _spectrogram_block(windows[lo:hi], fs, **params)
    return out


def _spectrogram_block(
    windows: np.ndarray,
    fs: float,
    *,
    size: int,
    segment_s: float,
    hop_s: float,
    fmax_hz: float,
    db_range: list[float] | tuple[float, float],
) -> np.ndarray:
    """``spectrogram`` of a few float32 windows at once (one matrix product)."""
    windows = windows - windows.mean(axis=1, keepdims=True)
    nperseg = max(8, int(round(segment_s * fs)))
    hop = max(1, int(round(hop_s * fs)))
    nfft = max(256, 1 << (nperseg - 1).bit_length())
    n_frames = (windows.shape[1] - nperseg) // hop + 1
    segments = windows[:, np.arange(n_frames)[:, None] * hop + np.arange(nperseg)[None, :]]
    dft = _dft_matrix(nperseg, nfft, float(fs), float(fmax_hz))
    n_bins = dft.shape[1] // 2
    spec = segments.reshape(-1, nperseg) @ dft  # (B * T, 2F): real and imaginary parts
    magnitude = np.hypot(spec[:, :n_bins], spec[:, n_bins:])
    db = 20.0 * np.log10(magnitude + 1e-6)  # dB re 1 mV
    db = db.reshape(len(windows), n_frames, n_bins).transpose(0, 2, 1)  # (B, F, T)
    low_db, high_db = float(db_range[0]), float(db_range[1])
    scaled = (np.clip(db, low_db, high_db) - low_db) / (high_db - low_db)
    rows = _interp_matrix(scaled.shape[1], size)
    cols = _interp_matrix(scaled.shape[2], size)
    resized = rows @ scaled.astype(np.float32) @ cols.T  # (B, size, size)
    image = np.flip(resized, axis=1)  # low frequencies at the bottom, as in the literature
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


REPRESENTATIONS: dict[str, tuple[Callable[..., np.ndarray], dict]] = {
    "beat_image": (beat_image, BEAT_IMAGE_DEFAULTS),
    "spectrogram": (spectrogram, SPECTROGRAM_DEFAULTS),
}


def render(kind: str, windows: np.ndarray, fs: float, params: dict | None = None) -> np.ndarray:
    """Render windows with the named representation and its parameters (defaults filled in)."""
    try:
        function, defaults = REPRESENTATIONS[kind]
    except KeyError:
        raise ValueError(
            f"unknown representation {kind!r}; choose one of {sorted(REPRESENTATIONS)}"
        ) from None
    merged = {**defaults, **(params or {})}
    return function(windows, fs, **merged)
