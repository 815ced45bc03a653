"""A page photographed at an angle, squared from its grid before its rows are read (issue 19).

A phone held a little off square over a printout sees the page as a trapezium: the far part's
millimetres are fewer pixels. ``perspective.column_scales`` reads a single strip turned to one
side; on a whole page that is not enough: the rhythm strip, cut from the bottom of a turned
page, is also sloped and sheared, and a page tilted towards its top changes scale from row to
row (``benchmarks/digitise_photo_printout.py``: photographed printouts turned by 3-8 % read at
10 s with an aligned correlation of 0.2-0.5, without a warning).

A perspective maps straight lines to straight lines and the grid says how: the spacing of its
5 mm lines, measured in tiles over the page, changes linearly with the place. With the page's
vanishing line ``m(x, y) = 1 + q1 x + q2 y`` (image coordinates about the centre), the period of
the vertical lines goes as ``1 + 2 q1 x + q2 y`` and that of the horizontal lines as
``1 + q1 x + 2 q2 y`` to first order (foreshortening is twice as strong along the direction the
page recedes in). ``page_perspective`` fits both planes, and serves only when the two families
tell the same ``q`` and every tile lies on its plane; ``squared`` maps the image by
``(x, y) / m(x, y)`` (Hartley & Zisserman's affine rectification), then stretches the time
axis to the amplitude axis's millimetres. What is left is a rotation, which the row finder
and the digitiser undo as for a scan.

Strips shorter than ``MIN_TILES`` tiles are left to ``perspective.column_scales``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from ecg.imaging.digitise import (
    FAINT_INK,
    background_colour,
    grid_like,
    grid_scale,
    paper_grid_angle,
    paper_grid_weight,
    red_excess,
    red_mask,
)
from ecg.imaging.ink import block_pooled, distance_from
from ecg.imaging.perspective import local_period

# The grid is measured on the image reduced (darkest pixel per block) to at most this width.
WORK_WIDTH = 1100
# A tile is TILE_SQUARES 5 mm squares each way; a page at least MIN_TILES tiles each way with
# a period read in at least MIN_MEASURED of them.
TILE_SQUARES = 5.0
MIN_TILES = 3
MIN_MEASURED = 9
# Every measured tile's period within MAX_RESIDUAL (relative) of its family's fitted plane: a
# flat scan's tiles agree within about 0.3 %, a perspective's fit leaves them within 0.3 % too;
# a curled or creased page does not lie on a plane.
MAX_RESIDUAL = 0.02
# Tiles off their plane (a period taken at a neighbouring peak where the trace crowds the grid)
# are left out of a second fit, at most this share of them.
MAX_OUTLIERS = 0.2
# The fitted period's largest change across the page: under MIN_CHANGE the page is taken as
# square (left as it is), over MAX_CHANGE it is not a photo this reads.
MIN_CHANGE = 0.02
MAX_CHANGE = 0.4
# The two families' estimates of each component of q agree within AGREEMENT of the larger one,
# or within NOISE_CHANGE of the page's half-extent (what tile noise gives a flat page).
AGREEMENT = 0.35
NOISE_CHANGE = 0.005
# The squared page may grow by at most this much each way.
MAX_GROWTH = 1.6
NOTE = (
    "photo at an angle: the page squared from its grid first (its millimetres changed by "
    "{change:.0f} % across it)"
)


@dataclass(frozen=True)
class PagePerspective:
    """How a page photographed at an angle is squared (``squared``).

    ``q``: the vanishing line's gradient (q1, q2) per full-resolution pixel, about the image's
    centre; ``x_stretch``: the time axis's stretch that gives both axes the same millimetres at
    the centre; ``change``: the grid period's largest relative change across the page."""

    q: tuple[float, float]
    x_stretch: float
    change: float


def _plane(xs: np.ndarray, ys: np.ndarray, periods: np.ndarray) -> np.ndarray | None:
    """Least-squares plane ``c0 + c1 x + c2 y`` through the periods, refitted once without the
    tiles over ``MAX_RESIDUAL`` from it (a tile whose period was taken at a neighbouring peak,
    where the trace crowds the grid); None when over ``MAX_OUTLIERS`` of the tiles are such,
    or the plane leaves any kept tile off."""
    a = np.column_stack([np.ones_like(xs), xs, ys])
    keep = np.ones(xs.size, dtype=bool)
    for _ in range(2):
        c, *_ = np.linalg.lstsq(a[keep], periods[keep], rcond=None)
        fitted = a @ c
        if np.any(fitted <= 0):
            return None
        off = np.abs(periods / fitted - 1) > MAX_RESIDUAL
        if not off[keep].any():
            return c
        keep = ~off
        if keep.sum() < max(MIN_MEASURED, (1 - MAX_OUTLIERS) * xs.size):
            return None
    return None


def _agree(a: float, b: float, half_extent: float) -> bool:
    return abs(a - b) <= max(AGREEMENT * max(abs(a), abs(b)), NOISE_CHANGE / half_extent)


def _tile_periods(grid: np.ndarray, tile: int, guess) -> list[tuple[float, float, float, float]]:
    """(x, y about the centre, period of the vertical lines, of the horizontal lines) of each
    tile where both are read near ``guess(x, y)`` (a pair, px per 5 mm)."""
    h, w = grid.shape
    nx, ny = w // tile, h // tile
    x0, y0 = (w - nx * tile) // 2, (h - ny * tile) // 2  # tiles centred on the page
    out = []
    for j in range(ny):
        for i in range(nx):
            top, left = y0 + j * tile, x0 + i * tile
            x, y = left + tile / 2 - w / 2, top + tile / 2 - h / 2
            gx, gy = guess(x, y)
            block = grid[top : top + tile, left : left + tile].astype(np.float64)
            px = local_period(ndimage.uniform_filter1d(block.mean(axis=0), 3), gx)
            py = local_period(ndimage.uniform_filter1d(block.mean(axis=1), 3), gy)
            if px is not None and py is not None:
                out.append((x, y, px, py))
    return out


def _fitted_planes(grid: np.ndarray, tile: int, guess) -> tuple[np.ndarray, np.ndarray] | None:
    rows = _tile_periods(grid, tile, guess)
    if len(rows) < MIN_MEASURED:
        return None
    xs, ys, pxs, pys = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    if np.unique(xs).size < MIN_TILES or np.unique(ys).size < MIN_TILES:
        return None
    cx, cy = _plane(xs, ys, pxs), _plane(xs, ys, pys)
    return None if cx is None or cy is None else (cx, cy)


def page_perspective(grid: np.ndarray, px_per_mm: float) -> PagePerspective | None:
    """The perspective of a page from its grid-line weight ``grid`` (any orientation within a
    few degrees) and the grid's ``px_per_mm`` at the page's middle, in ``grid``'s pixels; None
    when the page is square, too small to measure, or its grid changes otherwise than by a
    perspective."""
    h, w = grid.shape
    big = 5.0 * px_per_mm
    tile = int(round(TILE_SQUARES * big))
    if tile <= 0 or w // tile < MIN_TILES or h // tile < MIN_TILES:
        return None
    planes = _fitted_planes(grid, tile, lambda x, y: (big, big))
    if planes is None:
        return None
    # Read again near the first fit's period at each tile: turned by 10 %, the far tiles'
    # periods lie outside the search window about the middle's.
    first_x, first_y = planes
    planes = _fitted_planes(grid, tile, lambda x, y: (first_x @ (1, x, y), first_y @ (1, x, y)))
    if planes is None:
        return None
    cx, cy = planes
    # Along the direction the page recedes in the period changes twice as fast (module doc).
    q1_x, q1_y = cx[1] / (2 * cx[0]), cy[1] / cy[0]
    q2_x, q2_y = cx[2] / cx[0], cy[2] / (2 * cy[0])
    if not (_agree(q1_x, q1_y, w / 2) and _agree(q2_x, q2_y, h / 2)):
        return None
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]])
    change = 0.0
    for c in (cx, cy):
        at = c[0] + corners @ c[1:]
        if np.any(at <= 0):
            return None
        change = max(change, float(at.max() / at.min() - 1))
    if not MIN_CHANGE <= change <= MAX_CHANGE:
        return None
    q = ((q1_x + q1_y) / 2, (q2_x + q2_y) / 2)
    return PagePerspective(q=(float(q[0]), float(q[1])), x_stretch=float(cy[0] / cx[0]),
                           change=change)  # fmt: skip


def _squaring_matrix(size: tuple[int, int], p: PagePerspective) -> tuple[np.ndarray, tuple]:
    """The map from the photo's pixels to the squared page's (3 x 3, homogeneous) and the
    squared page's size."""
    w, h = size
    centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]], dtype=np.float64)
    vanish = np.array([[1, 0, 0], [0, 1, 0], [p.q[0], p.q[1], 1]], dtype=np.float64)
    stretch = np.diag([p.x_stretch, 1.0, 1.0])
    m = stretch @ vanish @ centre
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=np.float64).T
    x, y = (m @ corners)[:2] / (m @ corners)[2]
    # The largest upright rectangle inside the mapped photo (corners: top left, top right,
    # bottom left, bottom right): no filled area, whose edge against the paper the row finder
    # and the digitiser would read as ink; a printout's margins lose a few millimetres.
    lo = np.array([max(x[0], x[2]), max(y[0], y[1])])
    hi = np.array([min(x[1], x[3]), min(y[2], y[3])])
    shift = np.array([[1, 0, -lo[0]], [0, 1, -lo[1]], [0, 0, 1]], dtype=np.float64)
    out = (int(np.floor(hi[0] - lo[0])), int(np.floor(hi[1] - lo[1])))
    return shift @ m, out


def squared(image: Image.Image, p: PagePerspective, fill: tuple[int, int, int]) -> Image.Image:
    """``image`` (RGB) mapped to the squared page, cropped to the photo (``fill`` for a pixel
    that rounding puts outside it)."""
    m, out = _squaring_matrix(image.size, p)
    back = np.linalg.inv(m)  # PIL maps each output pixel back to the input
    back = back / back[2, 2]
    return image.transform(out, Image.Transform.PERSPECTIVE, back.ravel()[:8].tolist(),
                           Image.Resampling.BICUBIC, fillcolor=fill)  # fmt: skip


def _middles(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """The middle third of ``a`` each way, then its middle half. Over a whole page turned by
    5 % the 5 mm lines' places drift by a millimetre or more: the profile's heavier fifth line
    is lost there (1 mm lines read as 5 mm, grey paper's grid not found), not in the middle;
    the half has more lines where the third has too few."""
    h, w = a.shape[:2]
    return a[h // 3 : h - h // 3, w // 3 : w - w // 3], a[h // 4 : h - h // 4, w // 4 : w - w // 4]


def _grid_reading(rgb: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The page's grid-line weight as the digitiser reads it (the red excess of pink paper's
    lines, or the faint lines of paper that is not pink) and its px per mm read in the page's
    middle; None without a grid."""
    red = red_mask(rgb)
    if grid_like(red):
        weight = np.where(red, red_excess(rgb), 0.0)
        smooth = 3
    else:
        distance = distance_from(rgb, background)
        if not grid_like(distance > FAINT_INK):
            return None
        weight = paper_grid_weight(distance)
        # Not pink paper's own test where it passes (its smoothing kept); where it does not
        # (a photographed grey page, its faint lines turned and blurred), the faint lines in
        # every row and column are enough: only a grid whose two line families change
        # together as a perspective's do is squared (``page_perspective``).
        found = next(filter(None, (paper_grid_angle(m, background) for m in _middles(rgb))), None)
        smooth = 3 if found is None else found[1]
    for middle in _middles(weight):
        px_per_mm, _notes = grid_scale(middle, smooth=smooth)
        if px_per_mm is not None:
            return weight, px_per_mm
    return None


def square_page(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """``image`` squared when its grid shows a page photographed at an angle, with a note;
    else ``image`` itself (the same object) and no note."""
    if image.mode != "RGB":
        return image, []
    pixels = np.asarray(image)
    factor = max(1, int(np.ceil(image.width / WORK_WIDTH)))
    background = background_colour(pixels)
    if factor > 1:
        pixels = block_pooled(pixels, factor, dark_ink=float(background.mean()) > 127.5)
    reading = _grid_reading(pixels.astype(np.float32), background.astype(np.float32))
    if reading is None:
        return image, []
    weight, px_per_mm = reading
    # The middle's reading may take 5 mm lines for 1 mm ones (a photo's 1 mm lines washed out):
    # the tiles are then five times too large; the planes' checks reject a wrong scale.
    found = page_perspective(weight, px_per_mm) or page_perspective(weight, px_per_mm / 5.0)
    if found is None:
        return image, []
    p = PagePerspective(q=(found.q[0] / factor, found.q[1] / factor),
                        x_stretch=found.x_stretch, change=found.change)  # fmt: skip
    _m, out = _squaring_matrix(image.size, p)
    if not (0 < out[0] <= MAX_GROWTH * image.width and 0 < out[1] <= MAX_GROWTH * image.height):
        return image, []
    fill = tuple(int(round(v)) for v in background)
    return squared(image, p, fill), [NOTE.format(change=100 * p.change)]
