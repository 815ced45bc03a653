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
colour; a photo or a colour gradient changes both). A warm lamp's colour cast on light paper
is taken out as well (``REMOVE_CAST``). Every other image is returned as it is (the same
object), so an evenly lit image reads exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ecg.imaging.ink import block_pooled

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
# A warm light's colour cast (a lamp) is taken out too (``REMOVE_CAST``): on white or grey
# paper it gives the paper itself the red excess of a pink grid line, so the whole page reads as
# grid and the grid, or a plot's trace, is lost (benchmarks/digitise_photo_cast.py). A lamp's
# cast leans yellow: light paper whose median colour has green over blue by at least
# ``MIN_CAST_LEAN`` (of 255) is made neutral, each channel scaled to the colour's mean. Pink
# paper leans red with green and blue alike, and is left; a cool cast did no harm and is left
# (taking it out cost pink paper beats their grid in CAST_RULE v1). Chosen by CAST_RULE v2.
REMOVE_CAST = True
MIN_CAST_LEAN = 12.0
CAST_NOTE = "the light's colour cast taken out (the paper was tinted as in a photo)"
# A photo showing the desk or table around the page is refused (``crop_refusal``): the desk is
# not told apart from the page (red-brown wood reads as grid lines, a dark table as ink), and
# such photos were read at a wrong scale without a warning (benchmarks/digitise_photo_crop.py).
# The surroundings: where the reduced image is off the lit paper's hue by more than
# MAX_HUE_SPREAD, or darker than MIN_PAGE_BRIGHTNESS of its brightness (a shadow on the page is
# lighter), at least SURROUNDINGS_BLOCKS reduced pixels thick, touching the image's edge; a
# photo is refused when they are at least MIN_SURROUNDINGS of it and the page at least
# MIN_PAGE_SHARE (a quarter: a photo of a 10-s strip, ten times as wide as tall, with as many
# pixels of desk on every side leaves the page about a third of the frame).
MIN_PAGE_BRIGHTNESS = 0.4
SURROUNDINGS_BLOCKS = 3
MIN_SURROUNDINGS = 0.01
MIN_PAGE_SHARE = 0.25
NOT_CROPPED = (
    "the photo shows more than the paper (a desk or table around the page), which cannot be "
    "told apart from it: crop the photo to the paper and upload it again"
)


@dataclass(frozen=True)
class Lighting:
    """An image with its light evened, or the same image when it needed nothing."""

    image: Image.Image
    evened: bool
    spread: float  # the paper's estimated brightness, 98th minus 2nd percentile (0-255)
    surroundings: float = 0.0  # share of the image around the page (a desk: ``crop_refusal``)
    cast_removed: bool = False  # the light's colour cast taken out (``REMOVE_CAST``)

    @property
    def notes(self) -> list[str]:
        return [NOTE] * self.evened + [CAST_NOTE] * self.cast_removed


def reduced(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """``rgb`` (uint8 or float, H x W x 3) reduced to at most ``WORK_SIDE`` pixels on its long
    side, each block's brightest value per channel (float32), and the reduction factor."""
    factor = max(1, int(np.ceil(max(rgb.shape[:2]) / WORK_SIDE)))
    # Every second pixel is plenty where blocks are large (a 1 mm grid is 4 px or more apart,
    # so paper still falls in every block), and halves the cost on a large scan.
    step = 2 if factor >= 4 else 1
    factor = factor // step * step
    small = block_pooled(np.asarray(rgb)[::step, ::step], factor // step, dark_ink=False)
    return small.astype(np.float32), factor


def paper_estimate(small: np.ndarray) -> np.ndarray:
    """The paper's colour at each place of a ``reduced`` image: a grey closing removes what is
    darker than the paper and narrower than ``CLOSING_BLOCKS``."""
    return ndimage.grey_closing(small, size=(CLOSING_BLOCKS, CLOSING_BLOCKS, 1), mode="nearest")


def surroundings(small: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """Pixels of a ``reduced`` image that are not the page: off the lit paper's hue (``lit``)
    or far darker than any shadow on it (a desk, a table), at least ``SURROUNDINGS_BLOCKS``
    thick (a trace or a line is thinner), in regions that touch the image's edge. Read before
    the closing, which fills a thin band of desk along an edge with the paper beside it."""
    chroma = small / np.maximum(small.mean(axis=-1, keepdims=True), 1.0)
    lit_chroma = lit / max(float(lit.mean()), 1.0)
    off = np.abs(chroma - lit_chroma).max(axis=-1) > MAX_HUE_SPREAD
    off |= small.mean(axis=-1) < MIN_PAGE_BRIGHTNESS * float(lit.mean())
    off = ndimage.binary_opening(off, structure=np.ones((SURROUNDINGS_BLOCKS,) * 2, bool))
    labels, _ = ndimage.label(off)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def _light_centre(rgb: np.ndarray) -> bool:
    """Whether the middle of the image (half its width and height, where a photo's page lies)
    holds light paper: a tenth of it at least ``MIN_PAPER_BRIGHTNESS``. A photo with much desk
    passes (its median does not); a white-on-black plot does not (its trace is thinner)."""
    h, w = rgb.shape[:2]
    centre = rgb[h // 4 : h - h // 4 : 2, w // 4 : w - w // 4 : 2]
    return float(np.percentile(centre.mean(axis=-1), 90)) >= MIN_PAPER_BRIGHTNESS


def _surroundings_share(small: np.ndarray, lit: np.ndarray, factor: int) -> float:
    """Share of the image around the page (``surroundings``); 0 for an image of at most
    ``WORK_SIDE`` px (no photo of a page: a thick line there could pass for a desk) and for
    one whose page would be under ``MIN_PAGE_SHARE`` of it (no page at all)."""
    if factor < 2:
        return 0.0
    share = float(surroundings(small, lit).mean())
    return share if share <= 1 - MIN_PAGE_SHARE else 0.0


def crop_refusal(lighting: Lighting) -> str | None:
    """Why a photo is refused when it shows a desk or table around the page (``NOT_CROPPED``),
    else None."""
    return NOT_CROPPED if lighting.surroundings >= MIN_SURROUNDINGS else None


def _one_hue(paper: np.ndarray) -> bool:
    chroma = paper / np.maximum(paper.mean(axis=-1, keepdims=True), 1.0)
    low, high = np.percentile(chroma.reshape(-1, 3), [5, 95], axis=0)
    return bool(np.all(high - low <= MAX_HUE_SPREAD))


def leans_warm(colour: np.ndarray) -> bool:
    """Whether light paper's colour (R, G, B) has a warm light's cast: green over blue by at
    least ``MIN_CAST_LEAN`` (white, grey and pink paper have them alike)."""
    return bool(float(colour[1]) - float(colour[2]) >= MIN_CAST_LEAN)


def even_lighting(image: Image.Image) -> Lighting:
    """``image`` (RGB) with uneven light on light paper evened out and a warm light's colour
    cast taken out (see the module docstring and ``REMOVE_CAST``); the same image object when
    its paper is dark or needs neither."""
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    if rgb.shape[0] < 2 or rgb.shape[1] < 2:
        return Lighting(image, False, 0.0)
    small, factor = reduced(rgb)
    paper = paper_estimate(small)
    brightness = paper.mean(axis=-1)
    low, high = np.percentile(brightness, [2, 98])
    spread = float(high - low)
    light = float(np.median(rgb[::4, ::4].mean(axis=-1))) >= MIN_PAPER_BRIGHTNESS
    # The lit paper's colour: the estimate's bright end, per channel.
    lit = np.percentile(paper.reshape(-1, 3), 95, axis=0).astype(np.float32)
    around = _surroundings_share(small, lit, factor) if _light_centre(rgb) else 0.0
    even = spread > MIN_SPREAD and light and _one_hue(paper)
    # The paper's colour for the cast: the median pixel (the block maxima of ``lit`` are raised
    # by noise and clipped at 255 in the brightest channel, which hid part of the cast).
    colour = np.median(rgb[::4, ::4].reshape(-1, 3), axis=0).astype(np.float32)
    cast = REMOVE_CAST and light and leans_warm(colour)
    if not even and not cast:
        return Lighting(image, False, spread, surroundings=around)
    gain = float(colour.mean()) / np.maximum(colour, 1.0) if cast else np.ones(3, np.float32)
    if not even:
        out = rgb.astype(np.float32) * gain
        return Lighting(_image(out), False, spread, surroundings=around, cast_removed=True)
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
    evened = rgb.astype(np.float32) * (lit / np.maximum(full, 1.0)) * gain
    return Lighting(_image(evened), True, spread, surroundings=around, cast_removed=bool(cast))


def _image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))
