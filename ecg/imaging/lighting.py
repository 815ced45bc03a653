"""Uneven light evened out before an image is read: photos of ECG paper (issue 19).

A phone photo of a printout is lit unevenly: a shadow across it, a lamp to one side, darker
corners. Every later step measures ink as the distance from ONE background colour
(``ink.INK_THRESHOLD``, 48 of 255), so paper in a shadow a fifth darker than the rest is
already ink: the grid is lost there, or the shadow's edge is followed as if it were the trace.

The paper's brightness at each place is estimated the way document scanners flatten a page
(a flat-field correction): the image is reduced by keeping each block's brightest value, and
a grey closing over ``CLOSING_BLOCKS`` blocks removes what is darker than the paper and
narrow (the trace, grid lines, labels), keeping the light's slow changes. The image is then
divided by that estimate and multiplied by the lit paper's colour.

Only light paper whose estimated brightness varies by more than ``MIN_SPREAD`` is changed,
and only when the estimate keeps one hue (light changes how bright paper looks, hardly its
colour; a photo or a colour gradient changes both). Every other image is returned as it is
(the same object), so an evenly lit image reads exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

# The estimate is made on the image reduced to at most this many pixels on its long side.
WORK_SIDE = 256
# The grey closing's size, in reduced pixels: a dark mark narrower than this many blocks (a
# trace, a grid line, a letter) is not taken for the light.
CLOSING_BLOCKS = 7
# Evened only when the estimated paper brightness (mean of R, G, B, 0-255) spans more than
# this between its 2nd and 98th percentiles: half the ink threshold, the paper then reaching
# half way to ink. Printed and plotted images with even light span a few units.
MIN_SPREAD = 24.0
# Light paper: the image's median brightness at least this (white-on-black plots are left).
MIN_PAPER_BRIGHTNESS = 128.0
# One hue: each chromaticity channel (a channel over the mean of the three) of the estimate
# spans at most this between its 5th and 95th percentiles.
MAX_HUE_SPREAD = 0.08
NOTE = "uneven lighting evened out (the paper's brightness varied as in a photo)"


@dataclass(frozen=True)
class Lighting:
    """An image with its light evened, or the same image when it needed nothing."""

    image: Image.Image
    evened: bool
    spread: float  # the paper's estimated brightness, 98th minus 2nd percentile (0-255)

    @property
    def notes(self) -> list[str]:
        return [NOTE] if self.evened else []


def _block_max(rgb: np.ndarray, factor: int) -> np.ndarray:
    """``rgb`` reduced ``factor`` times each way, each block's brightest value per channel."""
    h, w = (rgb.shape[0] // factor) * factor, (rgb.shape[1] // factor) * factor
    if factor == 1:
        return rgb[:h, :w]
    rows = np.maximum.reduce([rgb[i:h:factor] for i in range(factor)])
    return np.maximum.reduce([rows[:, j:w:factor] for j in range(factor)])


def paper_estimate(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """The paper's colour at each place of ``rgb`` (uint8 or float, H x W x 3) on the reduced
    grid, float32, and the reduction factor."""
    factor = max(1, int(np.ceil(max(rgb.shape[:2]) / WORK_SIDE)))
    # Every second pixel is plenty where blocks are large (a 1 mm grid is 4 px or more apart,
    # so paper still falls in every block), and halves the cost on a large scan.
    step = 2 if factor >= 4 else 1
    factor = factor // step * step
    small = _block_max(np.asarray(rgb)[::step, ::step], factor // step).astype(np.float32)
    size = (CLOSING_BLOCKS, CLOSING_BLOCKS, 1)
    return ndimage.grey_closing(small, size=size, mode="nearest"), factor


def _one_hue(paper: np.ndarray) -> bool:
    chroma = paper / np.maximum(paper.mean(axis=-1, keepdims=True), 1.0)
    low, high = np.percentile(chroma.reshape(-1, 3), [5, 95], axis=0)
    return bool(np.all(high - low <= MAX_HUE_SPREAD))


def even_lighting(image: Image.Image) -> Lighting:
    """``image`` (RGB) with uneven light on light paper evened out (see the module docstring);
    the same image object when its light is even, its paper dark, or its estimate not one hue."""
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    if rgb.shape[0] < 2 or rgb.shape[1] < 2:
        return Lighting(image, False, 0.0)
    paper, factor = paper_estimate(rgb)
    brightness = paper.mean(axis=-1)
    low, high = np.percentile(brightness, [2, 98])
    spread = float(high - low)
    light = float(np.median(rgb[::4, ::4].mean(axis=-1))) >= MIN_PAPER_BRIGHTNESS
    if spread <= MIN_SPREAD or not light or not _one_hue(paper):
        return Lighting(image, False, spread)
    # The lit paper's colour: the estimate's bright end, per channel.
    lit = np.percentile(paper.reshape(-1, 3), 95, axis=0).astype(np.float32)
    full = np.stack(
        [
            np.asarray(
                Image.fromarray(paper[..., c]).resize(
                    (rgb.shape[1], rgb.shape[0]), Image.Resampling.BILINEAR
                )
            )
            for c in range(3)
        ],
        axis=-1,
    )
    evened = rgb.astype(np.float32) * (lit / np.maximum(full, 1.0))
    out = Image.fromarray(np.clip(np.round(evened), 0, 255).astype(np.uint8))
    return Lighting(out, True, spread)
