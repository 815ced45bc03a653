"""Turning an image file (an upload, or a training image from a class folder) into model input.

The same function serves the ``Dataset/train``-style folder source in training and the web upload:
an image written by ``export_beat_images`` comes back bit-identical: no train/serve skew.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# A beat image is a thin line on a flat background: nearly every pixel sits at one extreme.
# A spectral image is dense, with most pixels in between. This share of "background" pixels
# (within 10% of the most common extreme) separates the two; documented in the README.
LINE_BACKGROUND_SHARE = 0.70


def to_grayscale_array(image: Image.Image) -> np.ndarray:
    """8-bit grayscale array of any Pillow image (palette, RGBA and 16-bit images included)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        span = arr.max() - arr.min()
        scaled = (arr - arr.min()) / span * 255 if span else np.zeros_like(arr)
        return scaled.astype(np.uint8)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def background_share(gray: np.ndarray) -> float:
    """Share of pixels within 10% of whichever extreme (black or white) is more common."""
    dark = float(np.mean(gray <= 25))
    light = float(np.mean(gray >= 230))
    return max(dark, light)


def detect_image_kind(gray: np.ndarray) -> str:
    """``beat_image`` for line drawings, ``spectrogram`` for dense time-frequency images."""
    return "beat_image" if background_share(gray) >= LINE_BACKGROUND_SHARE else "spectrogram"


def prepare_image(gray: np.ndarray, *, size: int, kind: str) -> np.ndarray:
    """Grayscale array -> (size, size) uint8 model input for the given representation.

    Beat images are normalised to a light line on a dark background (an uploaded plot with a
    white background is inverted), then resized. Spectral images are only resized: their
    brightness is the energy and must not be inverted.
    """
    gray = np.asarray(gray, dtype=np.uint8)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale array, got shape {gray.shape}")
    if kind == "beat_image" and float(np.mean(gray >= 230)) > float(np.mean(gray <= 25)):
        gray = 255 - gray
    if gray.shape != (size, size):
        resample = Image.Resampling.BOX if min(gray.shape) > size else Image.Resampling.BILINEAR
        gray = np.asarray(Image.fromarray(gray).resize((size, size), resample), dtype=np.uint8)
    return gray


def load_image_for_model(image: Image.Image, *, size: int, kind: str) -> np.ndarray:
    """Pillow image -> model input; the one path for training folders and uploads."""
    return prepare_image(to_grayscale_array(image), size=size, kind=kind)
