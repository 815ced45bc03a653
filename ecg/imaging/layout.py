"""Rows of an ECG printout: the horizontal bands of an image that each hold one trace.

A printed multi-lead ECG stacks rows of leads (3 rows of four 2.5-s leads and a 10-s lead II
rhythm strip below them, 6x2, 12x1, ...) with empty paper between the rows. The digitiser
follows one line per image, so such an image is split here first (issue 19):

1. background, ink and grid as the digitiser finds them (``ecg.imaging.digitise``: the pink
   grid, or paper that is not pink, and its rotation, undone); the trace is the ink far darker
   than the grid lines (halfway between the trace's core and the typical grid pixel), and
   straight lines across the image (a frame) are dropped as the digitiser drops them
   (``plot_lines``);
2. bands: runs of image rows holding trace ink, separated by at least ``MIN_GAP_MM`` of
   empty paper;
3. a band holds a trace when its ink runs across at least ``MIN_SEGMENT_SHARE`` of the image
   width without a break, nearly every column holds one thin run (text lines break between
   words; boxes hold two runs a column; filled bars are as tall as their band);
4. along each trace band: its extent (``full_width`` when it spans at least
   ``FULL_WIDTH_SHARE`` of the widest band) and its breaks, where one lead ends and the next
   begins: columns with no ink (a gap), separator marks (a thin vertical stroke across the
   trace with flat trace on both sides, as printers draw between
   leads; a QRS is a pair of strokes closer together than that) and lead names (small pieces
   of ink in the image rows the row owns, away from its ends): ``ecg.imaging.lead_changes``.

A row that spans the full width with no break is one lead across the page; the bottom row,
when it is one and the rows above it are split into leads at a shared place (or are each one
lead), is the rhythm strip of the standard layouts (``Layout.rhythm_row``). A row of leads
drawn as one continuous line with neither a mark, a gap nor a readable name between them is
not told apart from one lead (docs/digitise.md, "Printouts with several rows").

Works on a copy reduced to at most ``WORK_WIDTH`` columns; boxes are given in the original
image's pixels, in the frame turned by ``Layout.angle`` (``row_image`` crops there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from ecg.imaging.digitise import (
    FAINT_INK,
    PixelReading,
    _rgb_array,
    background_colour,
    estimate_rotation,
    grid_like,
    pixel_reading,
    red_mask,
)
from ecg.imaging.ecg_check import MIN_BACKGROUND_SHARE, background_share
from ecg.imaging.ink import INK_THRESHOLD, block_pooled, distance_from
from ecg.imaging.lead_changes import (
    MIN_GAP_COLUMNS,
    lead_changes,
    mark_extents,
    separator_marks,
    split_pieces,
)
from ecg.imaging.plot_lines import frame_columns, line_rows_cols

# Layout is found on a copy at most this wide (a 2,000 px printout halves): bands and
# breaks are millimetres wide, and every step is linear in the pixel count.
WORK_WIDTH = 1100
# Empty paper between two rows: at least this much (mm at the paper's 25 mm/s over the
# widest trace; see ``_px_per_mm``), and at least 2 working pixels.
MIN_GAP_MM = 1.0
# A trace band holds an unbroken run of inked columns at least this share of the image width
# (a 2.5-s lead of a 10-s page is a quarter; a printed word a few percent).
MIN_SEGMENT_SHARE = 0.1
# ... in which at least this share of the inked columns hold exactly one run (a trace; labels
# beside it add a few columns with two),
MIN_ONE_RUN_SHARE = 0.7
# ... and whose band is at least this many times as tall as its typical column's ink (a line
# that moves, not a filled bar).
MIN_HEIGHT_PER_LINE = 3.0
# A row spanning at least this share of the widest trace row spans the page.
FULL_WIDTH_SHARE = 0.85
# A rhythm strip below rows of leads: at least this many rows above it split into leads, at
# a place they share within this share of the image width (0.2 s of a 10-s page).
MIN_SPLIT_ROWS = 2
SHARED_BREAK_SHARE = 0.02
# A full-width row with no lead change found is looked at again where the standard layouts
# change lead (3x4: a quarter, a half, three quarters of the row; 6x2: a half), for a stroke
# like the marks the rows above show there (``_rows_rechecked``; False: not, as before
# attempt 7 of benchmarks/digitise_layout.py).
RECHECK_ROWS = True
STANDARD_CHANGES = (0.25, 0.5, 0.75)
# ... where a row's stroke reaches above and below its trace within this share of the marks
# the rows above show there (median).
MARK_ALIKE = 0.25
# Pixels sampled for the trace cut's levels: every this many.
SAMPLE_STRIDE = 7
# Without a grid, the image's width is taken as a 10-s page at 25 mm/s for the mm above.
PAGE_MM = 250.0


@dataclass(frozen=True)
class Row:
    """One trace band: ``box`` (left, top, right, bottom) of its ink in the original image's
    pixels (in the frame turned by ``Layout.angle``), ``slot`` the image rows it owns (to the
    middle of the empty paper on either side), ``breaks`` the columns where a lead ends
    (gaps, separator marks and lead names, original pixels)."""

    box: tuple[int, int, int, int]
    slot: tuple[int, int]
    full_width: bool
    breaks: tuple[int, ...]

    @property
    def single_trace(self) -> bool:
        """A full-width trace with no break: one lead across the page (a rhythm strip)."""
        return self.full_width and not self.breaks


@dataclass(frozen=True)
class Layout:
    rows: tuple[Row, ...]
    angle: float  # degrees the image was turned (as ``Image.rotate``) before finding rows
    size: tuple[int, int]  # the original image's width and height
    # The image's background, colour distance and red grid pixels at its own size, when the
    # rows were found on it unreduced (at most ``WORK_WIDTH`` wide, with a plain background):
    # the ECG check and the digitiser of a one-row image take them from here
    # (``check_ecg_image(image, reading=layout.reading)``) instead of computing them again.
    reading: PixelReading | None = field(default=None, compare=False, repr=False)

    @property
    def rhythm_row(self) -> int | None:
        """Index of the bottom row when it is a rhythm strip, else None: one trace across the
        page (where the standard layouts print it), below either rows of one lead each (12x1,
        or short strips) or at least ``MIN_SPLIT_ROWS`` rows split into leads at a shared
        place (3x4, 6x2). Only the bottom row, and only below such rows: a row of two or four
        leads whose changes were all missed (a lead name touching a QRS, a mark beside one)
        must not be read as one lead."""
        if len(self.rows) < 2 or not self.rows[-1].single_trace:
            return None
        above = self.rows[:-1]
        if not any(row.breaks for row in above):  # one lead a row, full width or not
            return len(self.rows) - 1
        split = [row for row in above if row.breaks]
        if len(split) < MIN_SPLIT_ROWS:
            return None
        tolerance = SHARED_BREAK_SHARE * self.size[0]
        first = np.array(split[0].breaks, dtype=float)
        shared = all(
            np.min(np.abs(first[:, None] - np.array(row.breaks, dtype=float)[None, :])) <= tolerance
            for row in split[1:]
        )
        return len(self.rows) - 1 if shared else None


def find_rows(image: Image.Image) -> Layout:
    """The trace rows of ``image`` (see the module docstring); none for an image without a
    plain background (a photo, noise) or without a trace band."""
    # Bytes until the image is small: a float copy of a 2,000 x 1,500 px page costs more than
    # finding its rows.
    pixels = _rgb_bytes(image)
    h0, w0 = pixels.shape[:2]
    # The check's background share (``ecg_check``), on every fourth pixel each way (it takes
    # every second of what it is given): a photo or noise has no rows to find.
    if background_share(pixels[::4, ::4].astype(np.float32)) < MIN_BACKGROUND_SHARE:
        return Layout(rows=(), angle=0.0, size=(w0, h0))
    factor = int(np.ceil(w0 / WORK_WIDTH))
    reading = None
    if factor > 1:
        bg = background_colour(pixels)
        pixels = block_pooled(pixels, factor, dark_ink=float(bg.mean()) > 127.5)
        rgb = pixels.astype(np.float32)
        red = red_mask(rgb)
        distance = distance_from(rgb, bg)
    else:
        # The digitiser's own first reading (``pixel_reading``), handed on with the layout.
        # Its background is the bytes' median in float32 (the same values: halves of whole
        # numbers), kept in float64 here as the bytes' median gave it.
        reading = pixel_reading(pixels.astype(np.float32))
        rgb, red, distance = reading.rgb, reading.red, reading.distance
        bg = reading.background.astype(np.float64)
    faint = distance > FAINT_INK
    pink = grid_like(red)
    gridded = pink or grid_like(faint)
    # The grid's rotation (the digitiser's estimate; its stricter gain is for telling a grid
    # from a red trace, which ``grid_like`` has done here).
    angle = estimate_rotation(_thinned(red if pink else faint)) if gridded else 0.0
    ink = _trace_ink(rgb, bg, distance, gridded=gridded)
    if angle:
        # The mask is turned, not the picture: a thin steep stroke resampled by the turn
        # fades under the cut and breaks into dashes (a false gap between leads).
        turned = Image.fromarray(ink.astype(np.uint8) * 255).rotate(
            angle, resample=Image.Resampling.BILINEAR, fillcolor=0
        )
        ink = np.asarray(turned) > 64
    # Straight lines across the image (a frame, axes) go; a vertical one only where it meets a
    # horizontal one, as in the digitiser: a steep QRS stroke is a long vertical line too.
    rows, cols = line_rows_cols(ink)
    ink[:, frame_columns(ink, rows, cols)] = False
    ink[rows, :] = False
    rows = _trace_rows(ink, 1.0 / factor)
    if RECHECK_ROWS:
        rows = _rows_rechecked(rows, ink, factor)
    return Layout(rows=tuple(rows), angle=float(angle), size=(w0, h0), reading=reading)


def _rows_rechecked(rows: list[Row], ink: np.ndarray, factor: int) -> list[Row]:
    """``rows`` with lead changes found again in full-width rows without any, where the
    standard layouts change lead (``STANDARD_CHANGES`` of a row): the leads of a printout are
    simultaneous, so a separator mark that stands beside a QRS in one row does in every row,
    ``separator_marks`` misses it everywhere, and a 3x4 or 6x2 page without a rhythm strip
    passed for rows of one lead each, its bottom row read as a recording of two or four leads
    stitched into one (the image property tests; LUDB 6x2 pages turned by 2 degrees in the
    layout benchmark). A place is a lead change where at least ``MIN_SPLIT_ROWS`` rows above
    the bottom one show a thin stroke there (``mark_extents``); a row gets that change where
    its stroke reaches as far above and below its trace as theirs (within ``MARK_ALIKE``), and
    as far above as below: a rhythm strip under them holds a QRS at that moment, whose
    strokes do not."""
    if len(rows) <= MIN_SPLIT_ROWS:
        return rows  # no place can be shown by MIN_SPLIT_ROWS rows above the bottom one
    px_mm = _px_per_mm(ink.shape[1])
    places, reaches = [], []
    for row in rows:
        left, top, right, bottom = (v // factor for v in row.box)
        columns = [int(round(left + f * (right - left))) for f in STANDARD_CHANGES]
        band = split_pieces(ink[top:bottom], px_mm)[0]
        found = mark_extents(band, columns, _line_width(band), px_mm) if row.full_width else {}
        places.append(columns)
        # A mark is drawn across the trace, as far above it as below; a QRS stroke reaches
        # from its R wave to its S wave (with leads alike, every row's QRS is alike too).
        reaches.append({k: found[c] for k, c in enumerate(columns)
                        if c in found and abs(found[c][0] - found[c][1])
                        <= MARK_ALIKE * max(found[c])})  # fmt: skip
    marks = {}
    for k in range(len(STANDARD_CHANGES)):
        seen = np.array([reach[k] for reach in reaches[:-1] if k in reach])
        if len(seen) >= MIN_SPLIT_ROWS:
            marks[k] = np.median(seen, axis=0)
    out = []
    for row, columns, reach in zip(rows, places, reaches, strict=True):
        alike = [columns[k] for k, mark in marks.items() if k in reach
                 and np.all(np.abs(np.array(reach[k]) - mark) <= MARK_ALIKE * mark)]  # fmt: skip
        if row.breaks or not row.full_width or not alike:
            out.append(row)
        else:
            out.append(replace(row, breaks=tuple(c * factor for c in alike)))
    return out


def _line_width(band: np.ndarray) -> float:
    """A trace band's typical line width: ink per column over its runs (a column's one run, or
    a label's two)."""
    counts = band.sum(axis=0)
    inked = counts > 0
    if not inked.any():
        return 1.0
    runs = (np.diff(band.astype(np.int8), axis=0) == 1).sum(axis=0) + band[0]
    return float(np.median(counts[inked] / np.maximum(runs[inked], 1)))


def _rgb_bytes(image: Image.Image) -> np.ndarray:
    """RGB bytes as the digitiser reads them (``_rgb_array``: transparency on white, 16-bit
    greys stretched), without its float copy for plain RGB and greyscale images."""
    if image.mode == "RGB":
        return np.asarray(image)
    if image.mode == "L":
        return np.asarray(image.convert("RGB"))
    return _rgb_array(image).astype(np.uint8)


def row_image(image: Image.Image, layout: Layout, index: int) -> Image.Image:
    """Row ``index`` of ``layout`` cut from ``image``: the whole width, the image rows its slot
    owns (its paper and grid above and below the trace included), turned as the layout was."""
    rgb = image.convert("RGB")
    if layout.angle:
        fill = tuple(int(v) for v in background_colour(np.asarray(rgb, dtype=np.float32)))
        rgb = rgb.rotate(layout.angle, resample=Image.Resampling.BILINEAR, fillcolor=fill)
    top, bottom = layout.rows[index].slot
    return rgb.crop((0, top, rgb.size[0], bottom))


def _trace_ink(rgb: np.ndarray, bg: np.ndarray, distance: np.ndarray, *, gridded: bool):
    """Trace pixels: on a grid, farther in brightness from the paper than halfway between the
    trace's core and the typical grid pixel (the digitiser's cut, here on brightness for every
    paper colour); without one, the digitiser's ink. ``distance``: ``distance_from`` the
    background."""
    if not gridded:
        return distance > INK_THRESHOLD
    lum = np.abs(rgb.mean(axis=2) - float(bg.mean()))
    # Both levels from every SAMPLE_STRIDE-th pixel: as good as all of them, and the
    # percentile's partial sort of a whole page cost more than the rest of this step.
    every = lum.ravel()[::SAMPLE_STRIDE]
    faint = every[distance.ravel()[::SAMPLE_STRIDE] > FAINT_INK]
    grid_level = float(np.median(faint)) if faint.size else 0.0
    core = float(np.percentile(every, 99.9))
    return lum > 0.5 * (core + grid_level)


def _thinned(mask: np.ndarray, limit: int = 40_000) -> np.ndarray:
    """``mask`` keeping about ``limit`` of its pixels, drawn at random with a fixed seed: the
    rotation estimate draws its own subsample of a large mask without replacement, which
    costs more than scoring the angles. (A regular pattern of kept pixels was tried: its own
    lattice lines up at some angles and turned rotated pages wrongly.)"""
    ys, xs = np.nonzero(mask)
    if ys.size <= limit:
        return mask
    pick = np.random.default_rng(0).random(ys.size) < limit / ys.size
    out = np.zeros_like(mask)
    out[ys[pick], xs[pick]] = True
    return out


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and one-past-ends of the runs of True in a 1-D array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _px_per_mm(width: int) -> float:
    return width / PAGE_MM


def _trace_rows(ink: np.ndarray, scale: float) -> list[Row]:
    """Trace bands of a working-size ink mask, as ``Row`` in original pixels."""
    h, w = ink.shape
    px_mm = _px_per_mm(w)
    occupied = ink.sum(axis=1) > 0
    starts, stops = _runs(occupied)
    if starts.size == 0:
        return []
    # Merge bands separated by less than the least gap between rows.
    min_gap = max(2, int(round(MIN_GAP_MM * px_mm)))
    keep = np.concatenate([[True], (starts[1:] - stops[:-1]) >= min_gap])
    band_starts = starts[keep]
    band_stops = np.concatenate([stops[np.flatnonzero(keep)[1:] - 1], [stops[-1]]])
    found = [
        (int(top), int(bottom), traced)
        for top, bottom in zip(band_starts, band_stops, strict=True)
        if (traced := _band_trace(ink[top:bottom], px_mm)) is not None
    ]
    if not found:
        return []
    widest = max(right - left for _t, _b, (left, right, _br) in found)
    rows = []
    for k, (top, bottom, (left, right, marks)) in enumerate(found):
        above = found[k - 1][1] if k else 0
        below = found[k + 1][0] if k + 1 < len(found) else h
        slot = ((above + top) // 2 if k else 0, (bottom + below) // 2 if k + 1 < len(found) else h)
        # Lead names stand above (or below) the trace, often beyond its band: found in the
        # image rows the row owns.
        names = split_pieces(ink[slot[0] : slot[1]], px_mm)[1]
        breaks = lead_changes([*marks, *names], left, right, px_mm)
        rows.append(
            Row(
                box=tuple(int(round(v / scale)) for v in (left, top, right, bottom)),
                slot=(int(round(slot[0] / scale)), int(round(slot[1] / scale))),
                full_width=(right - left) >= FULL_WIDTH_SHARE * widest,
                breaks=tuple(int(round(b / scale)) for b in breaks),
            )
        )
    return rows


def _band_trace(band: np.ndarray, px_mm: float) -> tuple[int, int, list[int]] | None:
    """(first column, one past the last, gaps and separator marks) of a band holding a trace,
    else None."""
    height, w = band.shape
    band = split_pieces(band, px_mm)[0]
    counts = band.sum(axis=0)
    inked = counts > 0
    starts, stops = _runs(inked)
    if starts.size == 0 or (stops - starts).max() < MIN_SEGMENT_SHARE * w:
        return None
    # Runs per column: a trace holds one; text two or more; a box's edges two.
    runs = (np.diff(band.astype(np.int8), axis=0) == 1).sum(axis=0) + band[0]
    one_run = float(np.mean(runs[inked] == 1))
    line = float(np.median(counts[inked] / np.maximum(runs[inked], 1)))
    if one_run < MIN_ONE_RUN_SHARE or height < MIN_HEIGHT_PER_LINE * line:
        return None
    left, right = int(starts[0]), int(stops[-1])
    breaks = [int((a + b) // 2) for a, b in zip(stops[:-1], starts[1:], strict=True)
              if b - a >= MIN_GAP_COLUMNS]  # fmt: skip
    breaks += separator_marks(band, left, right, line, px_mm)
    return left, right, breaks
