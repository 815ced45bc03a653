"""A photo taken at an angle: the grid's scale changing along a strip (issue 19).

A strip photographed with the phone turned a little to one side is foreshortened: its far end's
millimetres are fewer pixels, in time and in amplitude alike. The digitiser reads one scale for
the whole strip, so the near end's beats come too slowly and stand too tall, the far end's too
fast and too short (``benchmarks/digitise_photo_blur.py``: a strip whose left edge is 10 %
shorter read at a wrong duration in 23-82 % of photos). The grid says how the scale changes:
the spacing of its 5 mm lines, measured in windows along the strip, changes smoothly with the
column under such a perspective (nearly linearly). ``column_scales`` measures it; the digitiser
then reads each column at its own scale.

Only a change along the strip (a turn about the vertical axis) is read; a tilt towards the top
or bottom (lines converging upwards) changes the scale with the row, which a trace crossing
the rows cannot be read back from, and is left.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Windows along the strip, each WINDOW_SQUARES 5 mm squares wide, at least MIN_WINDOWS and at
# most MAX_WINDOWS of them (the strip at least MIN_HEIGHT_SQUARES tall).
WINDOW_SQUARES = 4.0
MIN_WINDOWS, MAX_WINDOWS = 5, 12
MIN_HEIGHT_SQUARES = 3.0
SEARCH = 0.15  # a window's 5 mm period is looked for within this of the whole grid's
# The fitted period's change from one end of the strip to the other: under MIN_CHANGE the strip
# is taken as flat (a flat scan's windows agree within about 0.5 %); over MAX_CHANGE it is not
# a perspective this reads.
MIN_CHANGE = 0.02
MAX_CHANGE = 0.3
MAX_RESIDUAL = 0.01  # every window's period within this (relative) of the fitted curve
# The period is fitted by a parabola along the strip: a perspective's scale is not quite linear
# in the column (1 / (1 + g x) squared), and at a 10 % turn a line left windows 1 % off.
FIT_DEGREE = 2


def local_period(profile: np.ndarray, guess: float) -> float | None:
    """The period (px, sub-pixel) of a line profile near ``guess``: its autocorrelation's
    highest peak within ``SEARCH`` of it, or None."""
    x = np.asarray(profile, dtype=np.float64)
    x = x - x.mean()
    n = x.size
    if not np.any(x):
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    lo, hi = int(np.floor((1 - SEARCH) * guess)), int(np.ceil((1 + SEARCH) * guess)) + 1
    if lo < 2 or hi + 1 >= n:
        return None
    j = lo + int(np.argmax(ac[lo:hi]))
    if not (ac[j] > 0 and ac[j] >= ac[j - 1] and ac[j] >= ac[j + 1]):
        return None
    a, b, c = ac[j - 1], ac[j], ac[j + 1]
    den = a - 2 * b + c
    return float(j + (0.5 * (a - c) / den if den else 0.0))


def column_scales(grid: np.ndarray, px_per_mm: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixels per millimetre at each column of ``grid`` (an image of grid-line weight, upright),
    along x (time) and along y (amplitude), when the grid's 5 mm spacing changes smoothly along
    the strip by ``MIN_CHANGE`` to ``MAX_CHANGE``; None when it is flat, too small to measure,
    or changes otherwise."""
    h, w = grid.shape
    big = 5.0 * px_per_mm
    windows = min(MAX_WINDOWS, int(w // (WINDOW_SQUARES * big)))
    if windows < MIN_WINDOWS or h < MIN_HEIGHT_SQUARES * big:
        return None
    width = w // windows
    centres, along_x, along_y = [], [], []
    for k in range(windows):
        window = grid[:, k * width : (k + 1) * width].astype(np.float64)
        px = local_period(ndimage.uniform_filter1d(window.mean(axis=0), 3), big)
        py = local_period(ndimage.uniform_filter1d(window.mean(axis=1), 3), big)
        if px is None or py is None:
            return None
        centres.append((k + 0.5) * width)
        along_x.append(px)
        along_y.append(py)
    cols = np.arange(w, dtype=np.float64)
    fitted = []
    for periods in (along_x, along_y):
        fit = np.polynomial.Polynomial.fit(centres, periods, FIT_DEGREE)
        if np.max(np.abs(np.asarray(periods) / fit(np.asarray(centres)) - 1)) > MAX_RESIDUAL:
            return None
        fitted.append(fit(cols) / 5.0)
    ends = [abs(f[-1] / f[0] - 1) for f in fitted]
    if max(ends) < MIN_CHANGE or max(ends) > MAX_CHANGE or min(f.min() for f in fitted) <= 0:
        return None
    return fitted[0], fitted[1]
