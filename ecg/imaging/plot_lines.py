"""Straight lines in a plot image (axes, frames, gridlines) and the trace pixels on them.

The digitiser's third step (``ecg.imaging.digitise``): find rows and columns holding a line
over most of the image, tell a frame's sides from a QRS stroke, and remove the lines' own
pixels while keeping a trace that crosses them in stronger ink.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ecg.imaging.ink import distance_from

# A grid or axis line spans at least this share of the image along its direction.
LINE_SPAN = 0.5
# A pixel on a removed line stays when it is at least this much stronger ink than the line
# (more colourful, or farther from the background): a trace crossing the line (``line_pixels``).
LINE_KEEP_MARGIN = 48.0
# A line whose colour channels lie within this of each other is grey or black (JPEG leaves a
# grey line's channels within about 20 of each other).
GREY_CHROMA = 24.0
# A coloured run's pixels must show the plot's grey lines at least this often for its bar to
# be theirs (a trace covering a gridline), not its own colour (a coloured band).
COVERED_LINE_SHARE = 0.1


def _longest_run(mask: np.ndarray, axis: int) -> np.ndarray:
    """Longest run of True along ``axis`` for every row (axis=1) or column (axis=0)."""
    m = mask if axis == 1 else mask.T
    m = m.astype(np.int32)
    padded = np.pad(m, ((0, 0), (1, 1)))
    d = np.diff(padded, axis=1)
    out = np.zeros(m.shape[0], dtype=np.int64)
    rows_s, cols_s = np.nonzero(d == 1)
    rows_e, cols_e = np.nonzero(d == -1)
    if rows_s.size:
        lengths = cols_e - cols_s  # starts and ends pair up in row-major order
        np.maximum.at(out, rows_s, lengths)
    return out


def line_rows_cols(mask: np.ndarray, span: float = LINE_SPAN) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns holding a straight line of ``mask`` over ``span`` of the image.

    Neighbouring rows are merged (a max over 3) so a line a fraction of a degree off
    horizontal still counts as one.
    """
    h, w = mask.shape
    rows_merged = ndimage.maximum_filter1d(mask, 3, axis=0)
    cols_merged = ndimage.maximum_filter1d(mask, 3, axis=1)
    # Only rows (columns) holding enough pixels at all can hold such a run: test those.
    rows = np.zeros(h, dtype=bool)
    cand = np.flatnonzero(rows_merged.sum(axis=1) > span * w)
    if cand.size:
        rows[cand] = _longest_run(rows_merged[cand], axis=1) > span * w
    cols = np.zeros(w, dtype=bool)
    cand = np.flatnonzero(cols_merged.sum(axis=0) > span * h)
    if cand.size:
        cols[cand] = _longest_run(cols_merged[:, cand], axis=0) > span * h
    return rows, cols


def frame_columns(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The vertical line columns whose ends touch (within 3 px) a horizontal line row."""
    line_rows = np.flatnonzero(rows)
    out = np.zeros_like(cols)
    if line_rows.size == 0:
        return out
    merged = ndimage.maximum_filter1d(mask, 3, axis=1)
    for c in np.flatnonzero(cols):
        rows_c = np.flatnonzero(merged[:, c])
        if rows_c.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(rows_c) > 1)
        starts = np.concatenate([[rows_c[0]], rows_c[breaks + 1]])
        stops = np.concatenate([rows_c[breaks], [rows_c[-1]]])
        k = int(np.argmax(stops - starts))  # the column's longest run: the line itself
        ends = np.array([starts[k], stops[k]])
        out[c] = bool(np.any(np.abs(ends[:, None] - line_rows[None, :]) <= 3))
    return out


def _runs_of(flags: np.ndarray) -> list[tuple[int, int]]:
    """Start and one-past-end of each run of True in a 1-D flag array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _line_colours(
    rgb: np.ndarray, mask: np.ndarray, band: tuple[slice, slice], across: int
) -> np.ndarray:
    """Median colour of each line in a run of flagged rows (``across`` 1) or columns (0): its
    rows (columns) holding at least half as much ink as the fullest; a run may join two lines
    (a gridline beside the axis) or a line and a trace stroke along it."""
    ink = mask[band]
    counts = ink.sum(axis=across)
    colours = []
    for k in np.flatnonzero(counts >= 0.5 * counts.max()):
        line = ink[k] if across == 1 else ink[:, k]
        pixels = rgb[band][k] if across == 1 else rgb[band][:, k]
        colours.append(np.median(pixels[line], axis=0))
    return np.array(colours, dtype=np.float32).reshape(-1, 3)


def _grey(colours: np.ndarray) -> np.ndarray:
    return (colours.max(axis=1) - colours.min(axis=1)) < GREY_CHROMA


def _bar_colours(colours: np.ndarray, plot_greys: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The colours that set a run's bar: its grey or black lines when it has any (plots draw
    gridlines and frames grey or black, and a coloured trace lying along one, a flat baseline
    on the 0 mV gridline, must not raise the bar to its own colour); else, where the trace
    covers such a line nearly all along, the plot's grey lines (``plot_greys``) if at least
    ``COVERED_LINE_SHARE`` of the run's ink (``ink``: its pixels' colours) shows one of them;
    else its own colours (a coloured band or frame, removed as before)."""
    grey = _grey(colours)
    if grey.any():
        return colours[grey]
    if plot_greys.size and ink.size:
        near = np.abs(ink[:, None, :] - plot_greys[None, :, :]).max(axis=2) < LINE_KEEP_MARGIN
        if near.any(axis=1).mean() >= COVERED_LINE_SHARE:
            return plot_greys
    return colours


def line_pixels(
    rgb: np.ndarray, background: np.ndarray, mask: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """The pixels of ``mask`` that belong to the straight lines on ``rows`` and ``cols``.

    Not every pixel of those rows and columns: one at least ``LINE_KEEP_MARGIN`` more colourful
    than its run's lines (``_bar_colours``), or that much farther from the background, is a
    trace crossing them and stays. Removing whole rows and columns cut a blue trace at every
    grey gridline under it (wfdb's ``plot_items`` with ECG grids, spreadsheet charts: a gap
    every few millimetres and a trace follower jumping between the pieces). A vertical run
    counts only lines coloured like a horizontal one (a plot draws its vertical gridlines and
    frame sides like its horizontal ones): a coloured QRS stroke reaching from one horizontal
    gridline to another, or running along a vertical one, is not a line. A line's own
    anti-aliased edges are weaker than its core on both counts, so they still go; a trace of
    the lines' own colour still goes with them, as before.
    """
    remove = np.zeros_like(mask)
    row_runs = [(slice(lo, hi), slice(None)) for lo, hi in _runs_of(rows)]
    col_runs = [(slice(None), slice(lo, hi)) for lo, hi in _runs_of(cols)]
    if not (row_runs or col_runs):
        return remove
    row_colours = [_line_colours(rgb, mask, band, 1) for band in row_runs]
    known = np.concatenate(row_colours) if row_colours else np.zeros((0, 3), np.float32)
    plot_greys = known[_grey(known)]
    row_bars = [
        _bar_colours(colours, plot_greys, rgb[band][mask[band]])
        for band, colours in zip(row_runs, row_colours, strict=True)
    ]
    known = np.concatenate(row_bars) if row_bars else known
    col_bars = []
    for band in col_runs:
        colours = _line_colours(rgb, mask, band, 0)
        near = np.abs(colours[:, None, :] - known[None, :, :]).max(axis=2) < LINE_KEEP_MARGIN
        matched = colours[near.any(axis=1)]
        ink = rgb[band][mask[band]]
        col_bars.append(_bar_colours(matched, plot_greys, ink) if matched.size else matched)
    for band, colours in zip(row_runs + col_runs, row_bars + col_bars, strict=True):
        ink = mask[band]
        if colours.size == 0 or not ink.any():
            continue
        line_strength = float(distance_from(colours, background).max())
        line_chroma = float((colours.max(axis=1) - colours.min(axis=1)).max())
        pixels = rgb[band]
        chroma = pixels.max(axis=2) - pixels.min(axis=2)
        stronger = (chroma >= line_chroma + LINE_KEEP_MARGIN) | (
            distance_from(pixels, background) >= line_strength + LINE_KEEP_MARGIN
        )
        remove[band] |= ink & ~stronger
    return remove
