"""Read one tick label (a binary text blob) as a number, by matching each glyph against digit
templates drawn once from fonts installed locally (DejaVu, Liberation; nothing is fetched).

Minus signs (the ASCII hyphen and the Unicode minus) and decimal points are told by shape and
position on the line, not by templates. ``axis_scale`` finds the labels; this module only reads
them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

# Fonts whose digits are used as templates; only those present are used.
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
GLYPH_SHAPE = (20, 14)  # rows, cols of a normalised glyph
MAX_GLYPH_SCORE = 0.35  # mean absolute difference to the best template, above: unreadable


def _normalise(mask: np.ndarray) -> np.ndarray:
    img = Image.fromarray((mask * 255).astype(np.uint8))
    img = img.resize((GLYPH_SHAPE[1], GLYPH_SHAPE[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def crop_to_ink(mask: np.ndarray) -> np.ndarray:
    """The bounding box of a binary mask's ink."""
    rows, cols = np.nonzero(mask)
    return mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def _holes(mask: np.ndarray) -> tuple[int, float]:
    """Number of enclosed holes and their centre height (0 top, 1 bottom): tells 0 from 6/9,
    which differ in few pixels at small sizes but not in where their loop sits."""
    holes = ndimage.binary_fill_holes(mask) & ~mask
    labels, n = ndimage.label(holes)
    if n == 0:
        return 0, 0.5
    rows = np.nonzero(holes)[0]
    return n, float((rows.mean() + 0.5) / mask.shape[0])


@functools.cache
def _templates() -> tuple[tuple[str, np.ndarray, float, tuple[int, float]], ...]:
    """Digit templates (character, normalised glyph, width/height) from local fonts."""
    out = []
    for path in FONT_PATHS:
        if not Path(path).exists():
            continue
        for size in (10, 12, 14, 17, 20, 28):
            font = ImageFont.truetype(path, size)
            for ch in "0123456789":
                img = Image.new("L", (size * 2, size * 2), 0)
                ImageDraw.Draw(img).text((size // 2, size // 4), ch, fill=255, font=font)
                mask = crop_to_ink(np.asarray(img) > 110)
                out.append((ch, _normalise(mask), mask.shape[1] / mask.shape[0], _holes(mask)))
    return tuple(out)


def _read_glyph(mask: np.ndarray, line_height: float, line_bottom: float, top: float) -> str | None:
    """One glyph: '.', '-', a digit, or None when nothing matches well."""
    h, w = mask.shape
    if h <= 0.3 * line_height and w <= 0.3 * line_height + 1:
        # Small blob: a decimal point sits on the baseline; a short bar above it is a minus
        # (an ASCII hyphen in a small font is no wider than a point is tall).
        if top + h >= line_bottom - 0.25 * line_height:
            return "."
        return "-" if w > h else None
    if h <= 0.3 * line_height and w > h:
        return "-"  # hyphen or Unicode minus: a flat bar
    glyph, aspect, (n_holes, hole_y) = _normalise(mask), w / h, _holes(mask)
    chars, stack, t_aspect, t_holes, t_hole_y = _template_arrays()
    # All templates at once (one NumPy pass: a Python loop over them cost ~50 ms a plot).
    scores = np.abs(stack - glyph[None]).mean(axis=(1, 2)) + 0.2 * np.abs(aspect - t_aspect)
    scores += 0.05 * np.abs(n_holes - t_holes) + 0.5 * np.abs(hole_y - t_hole_y)
    i = int(np.argmin(scores))
    return chars[i] if scores[i] <= MAX_GLYPH_SCORE else None


@functools.cache
def _template_arrays() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = _templates()
    return (
        [ch for ch, *_ in t],
        np.stack([g for _, g, _, _ in t]),
        np.array([a for _, _, a, _ in t]),
        np.array([h[0] for *_, h in t], dtype=float),
        np.array([h[1] for *_, h in t]),
    )


def _split_touching(mask: np.ndarray, line_height: float) -> list[np.ndarray]:
    """Split digits that touch at small sizes ("00" drawn as one blob) into equal widths.

    Touching digits meet at full-height strokes, so no thin column marks the cut; a digit
    is about 0.7 of its height wide in the template fonts.
    """
    h, w = mask.shape
    if h <= 0.5 * line_height or w <= 0.95 * h:
        return [mask]
    k = max(2, int(round(w / (0.7 * h))))
    edges = np.linspace(0, w, k + 1).round().astype(int)
    pieces = [mask[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [p for p in pieces if p.any()]


def read_number(mask: np.ndarray) -> float | None:
    """A text blob (binary, one line of a tick label) into a number, or None."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0 or n > 8:
        return None
    boxes = ndimage.find_objects(labels)
    rows = np.nonzero(mask.any(axis=1))[0]
    line_top, line_bottom = rows.min(), rows.max() + 1
    line_height = float(line_bottom - line_top)
    text = ""
    for i, box in sorted(enumerate(boxes), key=lambda b: b[1][1].start):
        for glyph in _split_touching(labels[box] == i + 1, line_height):
            ch = _read_glyph(crop_to_ink(glyph), line_height, line_bottom, box[0].start)
            if ch is None:
                return None
            text += ch
    try:
        return float(text)
    except ValueError:
        return None
