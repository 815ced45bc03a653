"""Read a plot's amplitude (and time) scale from its axis tick labels (issue 19).

A plot made with the user's own tools (matplotlib, MATLAB, Excel, R) has no ECG-paper grid but
usually a left axis numbered in mV and a bottom axis in seconds. This module finds the left and
bottom axis lines and the text blobs beside them, and reads each blob as a number
(``label_reader``: glyphs matched against digit templates drawn from local fonts). A scale is
accepted only when >= 3 labels parse and their values are linear in their positions with one
consistent step; otherwise ``None`` and the caller keeps its amplitude prior.

Not handled: rotated labels, log axes, offset/exponent annotations ("1e-3"), labels in other
units (ADC counts give implausible amplitudes and are refused by the caller's mV check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ecg.imaging.label_reader import crop_to_ink, read_number

AXIS_SPAN = 0.4  # an axis line is a straight ink run over >= this share of the image side
MIN_LABELS = 3
STEP_TOLERANCE = 0.03  # relative spread allowed in the pixel distance between ticks
MV_RANGE = (0.1, 10.0)  # plausible peak-to-peak amplitude of a beat in mV
INK = 80  # grey level difference from the background of black text's ink pixels
FAINT_LINE = 16  # grey level difference of a light gridline (#D9D9D9 on white: 38)


@dataclass(frozen=True)
class AxisReading:
    """One axis: its label values, their positions (px along the axis) and the fit."""

    values: tuple[float, ...]
    positions: tuple[float, ...]
    step: float  # value between neighbouring labels
    units_per_px: float  # absolute value per pixel


@dataclass(frozen=True)
class AxisScale:
    """``y`` is in mV (per image pixel), ``x`` in seconds where it was read."""

    y: AxisReading
    x: AxisReading | None
    # The x labels were read as milliseconds (values in the hundreds or thousands): they may
    # also be sample numbers (wfdb's plot_items, plt.plot(beat)), which no label tells apart.
    x_in_ms: bool = False

    @property
    def mv_per_px(self) -> float:
        return self.y.units_per_px

    @property
    def s_per_px(self) -> float | None:
        return None if self.x is None else self.x.units_per_px


def _groups(profile: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True in ``profile`` merged across gaps shorter than ``gap``."""
    idx = np.nonzero(profile)[0]
    if idx.size == 0:
        return []
    out, start, prev = [], idx[0], idx[0]
    for i in idx[1:]:
        if i - prev > gap:
            out.append((start, prev + 1))
            start = i
        prev = i
    out.append((start, prev + 1))
    return out


def _fit(values: list[float], positions: list[float]) -> AxisReading | None:
    """Accept labels whose values rise with position in one consistent step.

    A label may be missing (merged with an axis title, unreadable): neighbouring labels may
    then differ by a whole number of steps, but pixels per step must agree everywhere.
    """
    if len(values) < MIN_LABELS:
        return None
    order = np.argsort(positions)
    v, p = np.asarray(values)[order], np.asarray(positions)[order]
    dv, dp = np.diff(v), np.diff(p)
    if np.any(dp <= 0) or np.any(dv <= 0):
        return None
    step = float(f"{dv.min():.6g}")  # 0.2, not 0.19999999999999996
    k = dv / step
    if np.any(np.abs(k - np.round(k)) > 1e-6):
        return None
    per_step = dp / np.round(k)
    if np.ptp(per_step) > STEP_TOLERANCE * np.median(per_step) + 1.5:
        return None
    slope = np.polyfit(p, v, 1)[0]
    residual = np.abs(np.polyval(np.polyfit(p, v, 1), p) - v).max()
    if residual > 0.1 * step:
        return None
    return AxisReading(tuple(v.tolist()), tuple(p.tolist()), step, abs(float(slope)))


def _longest_run_start(row: np.ndarray) -> tuple[int, int]:
    """Start and length of the longest run of True in a 1-D mask."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if starts.size == 0:
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k] - starts[k])


def _gridline_edges(faint: np.ndarray) -> tuple[int | None, int | None]:
    """Left edge and lowest line of a plot drawn with horizontal gridlines and no vertical axis
    line (an Excel chart's look): >= ``MIN_LABELS`` long horizontal lines (faint ink counts)
    whose longest runs start in the same column. A frame round the whole chart starts
    elsewhere (fewer rows), so it does not decide."""
    h, w = faint.shape
    starts, rows = [], []
    for r in np.flatnonzero(faint.sum(axis=1) >= AXIS_SPAN * w):
        start, length = _longest_run_start(faint[r])
        if length >= AXIS_SPAN * w:
            starts.append(start)
            rows.append(int(r))
    if len(starts) < MIN_LABELS:
        return None, None
    values, counts = np.unique(starts, return_counts=True)
    edge = int(values[int(np.argmax(counts))])
    near = [r for s, r in zip(starts, rows, strict=True) if abs(s - edge) <= 2]
    if len(near) < MIN_LABELS or edge < 2:
        return None, None
    lowest = max(near)
    return edge, lowest if lowest >= h // 2 else None


def _axis_lines(ink: np.ndarray) -> tuple[int | None, int | None]:
    """Column of the left axis line and row of the bottom axis line (None where absent)."""
    h, w = ink.shape
    col_runs = ink.sum(axis=0)
    row_runs = ink.sum(axis=1)
    left = int(np.argmax(col_runs[: w // 2])) if w >= 2 else None
    bottom = h // 2 + int(np.argmax(row_runs[h // 2 :])) if h >= 2 else None
    if left is not None and col_runs[left] < AXIS_SPAN * h:
        left = None
    if bottom is not None and row_runs[bottom] < AXIS_SPAN * w:
        bottom = None
    return left, bottom


def _label_blobs(region: np.ndarray, along_rows: bool) -> list[tuple[float, np.ndarray]]:
    """Text blobs of a strip beside an axis: (centre along the axis, blob mask)."""
    labels, n = ndimage.label(region, structure=np.ones((3, 3)))
    if n == 0:
        return []
    # Keep glyph-sized pieces (drop tick marks touching the axis and long lines).
    keep = np.zeros(n + 1, bool)
    for i, box in enumerate(ndimage.find_objects(labels)):
        bh, bw = box[0].stop - box[0].start, box[1].stop - box[1].start
        # A decimal point of a small antialiased font may keep a single pixel over the ink
        # threshold: glyph pieces of one pixel are kept too.
        keep[i + 1] = max(bh, bw) <= 60 and box[1].start > 0 if along_rows else bh <= 60
    text = keep[labels]
    text = _drop_titles(text, along_rows)
    heights = [
        b[0].stop - b[0].start for i, b in enumerate(ndimage.find_objects(labels)) if keep[i + 1]
    ]
    glyph_h = max(3, int(np.median(heights))) if heights else 6
    out = []
    profile = text.any(axis=1) if along_rows else text.any(axis=0)
    size = max(3, int(np.median([e - s for s, e in _groups(profile, 1)] or [6])))
    for s, e in _groups(profile, size // 2 if along_rows else size):
        if along_rows and e - s > 1.6 * size:
            continue  # a label merged with other text (a rotated axis title): skip it
        piece = text[s:e] if along_rows else text[:, s:e]
        # Across the axis: glyphs of a label sit close (a minus may stand apart by about a
        # glyph width); below the x labels, an axis title starts after a wider gap.
        if along_rows:
            other = _groups(piece.any(axis=0), 3 * size // 2)
        else:
            other = _groups(piece.any(axis=1), max(2, glyph_h // 3))
        if not other:
            continue
        # The group of text nearest the axis is the label.
        a, b = other[-1] if along_rows else other[0]
        blob = piece[:, a:b] if along_rows else piece[a:b]
        out.append(((s + e - 1) / 2, crop_to_ink(blob)))
    return out


def _drop_titles(text: np.ndarray, along_rows: bool) -> np.ndarray:
    """Remove an axis title from a label strip: text running along the axis for more than
    a few label heights without a break (a rotated y title such as "Amplitude (mV)", which
    sits beside several labels), and, below the x labels, every row band after the first
    (the x title under them). Stacked tick labels are separated by more than a third of
    their height; a title's letters are not."""
    if not text.any():
        return text
    if not along_rows:
        # The first band at least half as tall as the tallest (specks above it are no text).
        bands = _groups(text.any(axis=1), 2)
        glyph_h = max(e - s for s, e in bands)
        bands = _groups(text.any(axis=1), max(2, glyph_h // 3))
        a, b = next((s, e) for s, e in bands if e - s >= glyph_h / 2)
        out = np.zeros_like(text)
        out[a:b] = text[a:b]
        return out
    run_h = [e - s for s, e in _groups(text.any(axis=1), 1)]
    glyph_h = max(3, int(np.median(run_h)))
    out = text.copy()
    for a, b in _groups(text.any(axis=0), 1):  # column bands split by an empty column
        spans = _groups(text[:, a:b].any(axis=1), max(2, glyph_h // 3))
        if any(e - s > 3 * glyph_h for s, e in spans):
            out[:, a:b] = False
    return out


def read_axis_scale(
    image: Image.Image | np.ndarray, trace_span_px: float | None = None
) -> AxisScale | None:
    """Read the y scale (mV per pixel) and, where present, the x scale (s per pixel).

    ``trace_span_px`` is the trace's peak-to-peak height in pixels; when given, a y reading
    implying an amplitude outside ``MV_RANGE`` (not mV: ADC counts, µV) is refused.
    Returns None when the left axis cannot be read.
    """
    gray = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image, float)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    background = np.median(gray)
    diff = np.abs(gray - background)
    ink = diff > INK
    left, bottom = _axis_lines(ink)
    if left is None:
        # No left axis line: light horizontal gridlines may still mark the plot's left edge
        # (their shared start); the labels lie left of it as beside an axis line.
        left, grid_bottom = _gridline_edges(diff > FAINT_LINE)
        if left is None:
            return None
        # The lowest gridline is the plot's bottom edge (an ink row found without axis
        # lines may be the trace's own flat baseline).
        bottom = grid_bottom
    stop = bottom if bottom is not None else ink.shape[0]
    # Labels left of the axis: leave a gap for tick marks (they touch the axis line).
    region = _text_mask(diff[:stop, : max(0, left - 1)])
    region = _drop_touching(region)
    y_values, y_positions = [], []
    for centre, blob in _label_blobs(region, along_rows=True):
        value = read_number(blob)
        if value is not None:
            y_values.append(value)
            y_positions.append(-centre)  # up is positive
    y = _fit(y_values, y_positions)
    if y is None:
        return None
    if trace_span_px is not None:
        amplitude = trace_span_px * y.units_per_px
        if not MV_RANGE[0] <= amplitude <= MV_RANGE[1]:
            return None
    x = None
    if bottom is not None:
        region = _text_mask(diff[bottom + 2 :, max(0, (left or 0) - 40) :])
        region = _drop_touching(region, top=True)
        x_values, x_positions = [], []
        for centre, blob in _label_blobs(region, along_rows=False):
            value = read_number(blob)
            if value is not None:
                x_values.append(value)
                x_positions.append(centre)
        x = _fit(x_values, x_positions)
        if x is not None and max(abs(v) for v in x.values) > 60:
            # Values in the hundreds or thousands for a beat or strip are milliseconds.
            x = AxisReading(x.values, x.positions, x.step / 1000, x.units_per_px / 1000)
            return AxisScale(y=y, x=x, x_in_ms=True)
    return AxisScale(y=y, x=x)


def _text_mask(diff: np.ndarray) -> np.ndarray:
    """Label pixels of a strip beside an axis: the ink threshold scaled by the text's own
    contrast (its darkest pixel), so grey labels (Excel's #595959, MATLAB's 15% grey) are cut
    at the same share of their contrast as black ones; otherwise their antialiased decimal
    points fall under it. No pixel as dark as ``INK``: no text."""
    if diff.size == 0 or diff.max() <= INK:
        return np.zeros(diff.shape, bool)
    threshold = INK * float(diff.max()) / 255.0
    text = diff > threshold
    # A decimal point of a small font can fall between pixels and stay fainter than every
    # stroke (its coverage split over 2x2 pixels): add faint specks of at most 2x2 pixels
    # that touch no stroke (a stroke's own faint fringe is joined to it, so not added).
    faint, n = ndimage.label(diff > 0.5 * threshold, structure=np.ones((3, 3)))
    if n:
        boxes = ndimage.find_objects(faint)
        strong = np.bincount(faint[text], minlength=n + 1)
        for i, box in enumerate(boxes):
            small = box[0].stop - box[0].start <= 2 and box[1].stop - box[1].start <= 2
            if small and strong[i + 1] == 0:
                text[box] |= faint[box] == i + 1
    return text


def _drop_touching(region: np.ndarray, top: bool = False) -> np.ndarray:
    """Remove ink touching the axis side of a strip (tick marks)."""
    if region.size == 0:
        return region
    labels, _ = ndimage.label(region, structure=np.ones((3, 3)))
    edge = labels[0] if top else labels[:, -1]
    for i in np.unique(edge[edge > 0]):
        region[labels == i] = False
    return region
