"""Is an image in the app's own spectrogram format, or a spectral image made by other code?

The app's format (``representations.spectrogram`` with the shipped model's parameters; see
docs/digitise.md): 64x64, one grey channel, STFT of a 0.7 s window at 360 Hz (Hann 0.18 s,
hop 11 ms, 0-50 Hz, fixed -70..0 dB re 1 mV), low frequencies at the bottom. Because the image
is a bilinear resize of a (frequency bins x frames) array, every genuine image lies, up to
rounding, in the linear space spanned by that resize; a different window, hop, frequency
range or size does not. Other colour maps fail the grey test, a flipped image the
orientation test (an ECG's energy sits at low frequencies).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from ecg.imaging.representations import (
    BEAT_IMAGE_DEFAULTS,
    SPECTROGRAM_DEFAULTS,
    _interp_matrix,
    render,
)

WINDOW_S = 0.7
MODEL_FS = 360.0
# RMS distance (grey levels) from the resize space allowed: rounding to uint8 alone gives
# about 0.3; PNG is lossless, JPEG is not accepted as our format.
MAX_RESIDUAL = 1.0


@dataclass(frozen=True)
class FormatCheck:
    ok: bool
    reason: str


def _shape(params: dict, fs: float, window_s: float) -> tuple[int, int]:
    n = int(round(window_s * fs))
    nperseg = max(8, int(round(params["segment_s"] * fs)))
    hop = max(1, int(round(params["hop_s"] * fs)))
    nfft = max(256, 1 << (nperseg - 1).bit_length())
    n_bins = int(np.sum(np.fft.rfftfreq(nfft, 1.0 / fs) <= params["fmax_hz"]))
    return n_bins, (n - nperseg) // hop + 1


@lru_cache(maxsize=4)
def _projectors(size: int, n_bins: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    rows = _interp_matrix(n_bins, size).astype(np.float64)
    cols = _interp_matrix(n_frames, size).astype(np.float64)
    # Orthogonal projectors onto the column spaces of the two resize matrices.
    return rows @ np.linalg.pinv(rows), cols @ np.linalg.pinv(cols)


def check_spectrogram_format(
    image: Image.Image,
    params: dict | None = None,
    fs: float = MODEL_FS,
    window_s: float = WINDOW_S,
) -> FormatCheck:
    """Whether ``image`` is a spectrogram drawn by this app with ``params`` (the model's)."""
    params = {**SPECTROGRAM_DEFAULTS, **(params or {})}
    size = int(params["size"])
    if image.size != (size, size):
        return FormatCheck(
            False, f"not in our format: {image.size[0]}x{image.size[1]}, not {size}x{size}"
        )
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    if np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max() > 2:
        return FormatCheck(False, "not in our format: a colour map (ours is grey)")
    grey = rgb.mean(axis=2)
    p_rows, p_cols = _projectors(size, *_shape(params, fs, window_s))
    flipped = grey[::-1]  # the app draws low frequencies at the bottom
    residual = flipped - p_rows @ flipped @ p_cols
    rms = float(np.sqrt(np.mean(residual**2)))
    if rms > MAX_RESIDUAL:
        return FormatCheck(
            False,
            f"not in our format: another window, hop, frequency range or resize "
            f"(residual {rms:.1f} grey levels)",
        )
    quarter = size // 4
    if grey[:quarter].mean() > grey[-quarter:].mean():
        return FormatCheck(
            False, "not in our format: high frequencies brighter than low (flipped?)"
        )
    return FormatCheck(True, "our spectrogram format")


def check_beat_image_format(image: Image.Image, params: dict | None = None) -> FormatCheck:
    """Whether ``image`` looks drawn by ``representations.beat_image`` with ``params``.

    That renderer draws ``size`` x ``size`` pixels, pure black (0) and pure white (255) only,
    a white line on black with exactly one unbroken vertical run per column (the line through
    that column's samples). A lossless grey PNG/BMP of it passes; JPEG (grey levels), colour,
    another size, black-on-white or a plot with axes or text (several runs in a column) fails.
    It does not require neighbouring columns' runs to touch, so a line drawn at another
    amplitude scale may pass: the fast path then classifies it as today.
    """
    params = {**BEAT_IMAGE_DEFAULTS, **(params or {})}
    size = int(params["size"])
    if image.size != (size, size):
        return FormatCheck(False, f"not our beat image: {image.size[0]}x{image.size[1]}")
    if image.mode not in ("L", "1", "RGB", "P"):
        return FormatCheck(False, f"not our beat image: mode {image.mode}")
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    if np.any(rgb.max(axis=2) != rgb.min(axis=2)):
        return FormatCheck(False, "not our beat image: colour")
    grey = rgb[:, :, 0]
    if not np.all((grey == 0) | (grey == 255)):
        return FormatCheck(False, "not our beat image: grey levels between black and white")
    ink = grey == 255
    starts = np.sum(
        np.diff(np.vstack([np.zeros((1, size), bool), ink]).astype(np.int8), axis=0) == 1, axis=0
    )
    if not np.all(starts == 1):
        return FormatCheck(False, "not our beat image: not one white run in every column")
    return FormatCheck(True, "our beat-image format")


def example_beat_window(fs: float = MODEL_FS) -> np.ndarray:
    """A synthetic normal beat (P, QRS, T as Gaussians, mV) in the app's beat window: 0.25 s
    before to 0.45 s after its R peak. Not a patient's beat: an example of the formats only."""
    t = np.arange(int(round(WINDOW_S * fs))) / fs - 0.25
    waves = ((-0.18, 0.025, 0.12), (-0.02, 0.01, -0.1), (0.0, 0.012, 1.2), (0.025, 0.01, -0.25),
             (0.25, 0.05, 0.3))  # fmt: skip
    return sum(h * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, h in waves).astype(np.float32)


def example_image(kind: str, params: dict | None = None, fs: float = MODEL_FS) -> Image.Image:
    """``example_beat_window`` drawn in the app's own ``kind`` format (beat_image or
    spectrogram), with the serving model's drawing ``params`` when given."""
    pixels = render(kind, example_beat_window(fs)[None], fs, params)[0]
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8))  # 2-D uint8: one grey channel
