"""Digitising an ECG image: from a picture of a trace (a plot, a strip, ECG paper) to a 1-D signal.

Long on purpose: the steps hand each other pixel masks and scales; read in order, they explain
each other.

The steps, each a small function below:

1. background and ink: the background colour is the image's median colour; ink is every pixel
   far from it (so black-on-white, white-on-black and coloured lines are all ink);
2. grid: pink/red pixels present in nearly every row and column are ECG paper; so are faint
   pixels of another colour (grey, blue, green paper; a greyscale scan or photocopy of pink
   paper) when they also form one line period on both axes with every fifth line heavier
   (the 1 mm / 5 mm paper; a plot's gridlines and text pages do not). Its rotation (within
   +-5 degrees, the angle with the sharpest row and column projections) is undone, its period
   gives pixels per millimetre, and the trace is cut from it by brightness (pink paper) or by
   distance from the background (other paper);
3. lines, ticks and labels: any remaining straight line that spans most of the image (axes,
   grey grid lines, frames) is removed, all but the pixels of a trace crossing it (stronger
   ink: more colourful or farther from the background), and small connected pieces (tick
   labels, titles) are dropped; what is left is the trace;
4. the trace is followed column by column: each column's value is the centre of its trace
   pixels, or the run's tip at a local peak (a steep QRS fills a whole column run), with
   continuity deciding between several runs; gaps are interpolated;
5. tilt without a grid: a strip whose ink is tilted by 0.5-5 degrees (the angle with the
   sharpest row projection: the baseline is the densest row once upright) is turned back by
   that angle and traced again, kept only if it traces as cleanly.

Scale: on a grid, 25 mm/s and 10 mm/mV (the paper standard). Without one, the documented
assumptions: a plot with one or two large deflections is a single beat spanning
``BEAT_SPAN_S`` (0.7 s, the length of the app's beat window: 0.25 s before to 0.45 s after
the R wave, which ``beat_window`` cuts around the first large deflection);
a plot with three or more is a strip of ``STRIP_ASSUMED_S`` seconds (the standard rhythm
strip); the amplitude is then unknown and the signal is normalised (median 0, peak-to-peak 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.signal import find_peaks

from ecg.imaging import grid_plausibility, perspective
from ecg.imaging.axis_scale import AxisScale, read_axis_scale
from ecg.imaging.ink import INK_THRESHOLD, distance_from
from ecg.imaging.plot_lines import LINE_SPAN, frame_columns, line_pixels, line_rows_cols

# Larger images are reduced first: a 4000 px scan has no more ECG detail than 2600 columns,
# and every step below is linear in the pixel count.
MAX_WIDTH = 2600
# On paper that is not pink, the trace's level is this percentile of the distance from the
# paper: a 1-px trace at 12 px/mm is under half a percent of the pixels, so at the 99.5th the
# 5 mm lines stood for it, were cut away as trace, and the grid was lost (99.5 before).
TRACE_PERCENTILE = 99.9
# Without a grid, ink this cluttered (the share off the followed line: ecg_check's MAX_CLUTTER)
# is tried again without its lighter marks (``_darker_ink``), when the trace's core is at least
# DARKER_INK_MIN_GAP darker (0-255) than the typical ink pixel: an unread grid beside a trace.
GRIDLESS_CLUTTER = 0.3
DARKER_INK_MIN_GAP = 64.0
# The retry is kept only if it follows at least this share of the first pass's quality (the
# grid's lines inflate the first pass's coverage: every column holds ink).
DARKER_INK_MIN_QUALITY = 0.95
# A wide image whose grid is turned is turned upright before its reduction (False: after it,
# as version 2 of benchmarks/digitise_wide_scans.py did; its arm sets it).
TURN_AT_FULL_RESOLUTION = True
FULL_RESOLUTION_NOTE = "grid read at the image's full resolution, before it was reduced"
# The grid period's cross-checks (``_finer_period``, a period's verdict needing MIN_FOLDS folds,
# the known axis over lines a whole multiple apart). False reads grids as before them, as the
# "before" arm of benchmarks/digitise_grid_period.py does.
GRID_PERIOD_CHECKS = True
# Samples under half the largest deflection that still leave one deflection (``count_peaks``;
# 0: none, as before benchmarks/digitise_peak_gaps.py).
PEAK_GAP_SAMPLES = 2
# A gridless trace is also counted once its largest complexes are left out
# (``peaks_beside_largest``): a strip whose one or two beats far larger than the rest hid them
# from ``count_peaks`` was read as a single beat (benchmarks/strip_image_classification.py).
# False: as before that benchmark's BESIDE_LARGEST_RULE.
COUNT_BESIDE_LARGEST = True
LARGEST_LEFT_OUT = 2  # complexes left out, the largest first
# Deflections beside them that make a strip: seven (a 10-s strip at 42 a minute). Three, as
# ``count_peaks`` asks, turned single beats with a large T or S wave into strips (version 1
# of the benchmark's rule).
MIN_BESIDE_LARGEST = 7
# A complex is the run around its peak over this share of the trace's largest deflection; what
# is counted beside it must reach the share too (a P wave of a single beat stays uncounted).
COMPLEX_SHARE = 0.2
# Folds of five grid periods an axis's profile needs to tell heavier 5 mm lines (``_one_verdict``).
MIN_FOLDS = 2.0
# Pixels sampled for the background colour.
BACKGROUND_SAMPLE = 20_000
# Pink/red grid ink: red exceeds the mean of green and blue by this much.
RED_EXCESS = 15.0
MAX_ROTATION_DEG = 5.0
# A rotated grid piles into far fewer rows and columns once turned back (gains of 1.5 or more
# on the benchmark's DS1 paper images); a red trace without a grid gains about 1.2.
GRID_ROTATION_GAIN = 1.35
# A grid puts red in at least this share of every row and column (1 px lines 25 px apart).
GRID_MIN_SHARE = 0.04
# ECG paper of another colour: its 1 mm lines are faint (a greyscale scan of pink paper puts
# them about 35 from white), often nearer the background than INK_THRESHOLD, and JPEG noise
# stays under about 10.
FAINT_INK = 16.0
# ... and at least this many straight lines across the image each way (a 5 mm square).
PAPER_MIN_LINES = 5
# Such a line is a row (column) the faint pixels cover over LINE_SPAN of (False: an unbroken
# run over LINE_SPAN, as before benchmarks/digitise_grid_period.py's version 2).
PAPER_LINES_BY_COVER = True
# The two axes' line periods of such paper agree within this share (square millimetres).
PAPER_PERIOD_AGREEMENT = 0.1
# A strip's baseline tilted less than this is left as it is.
MIN_TILT_DEG = 0.5
# ECG paper standard.
PAPER_MM_PER_S = 25.0
PAPER_MM_PER_MV = 10.0
# Assumptions when there is no grid.
BEAT_PRE_S = 0.25
BEAT_POST_S = 0.45
BEAT_SPAN_S = BEAT_PRE_S + BEAT_POST_S
STRIP_ASSUMED_S = 10.0
# The span (s) a plotted single beat may cover when its x labels are read as milliseconds;
# outside it they are taken for sample numbers (``_axis_fs``).
BEAT_SPAN_RANGE_S = (0.4, 2.5)
# A strip whose x labels read as milliseconds make its deflections come faster than this (a
# minute) while the standard strip length (``STRIP_ASSUMED_S``) makes them no faster is taken
# to be numbered in samples (``_axis_fs``): a tachycardia only under the millisecond reading.
STRIP_MAX_RATE_BPM = 150.0
# A grid of lines all alike taken as the 5 mm grid that makes a strip's beats come slower than
# this (a minute) is read at 1 mm instead, if that is plausible (``_grid_period_checked``).
GRID_MIN_RATE_BPM = 30.0
ALIKE_NOTE = "grid lines all alike: taken as the 5 mm grid"
FINER_NOTE = "grid periods differ between axes by a whole multiple: the finer taken"
# ``_deflections``: over this share of the largest, and at most this many in a strip.
DEFLECTION_SHARE = 0.35
MAX_STRIP_DEFLECTIONS = 60
# A grid's scale checked against the trace (``_grid_scale_plausible``): a strip read again five
# times coarser when its complexes would be narrower than any QRS, and a strip whose one or two
# largest beats hide the others counted as a strip by the rate test. Chosen by
# benchmarks/digitise_photo_blur.py (BLUR_RULE v2).
GRID_SCALE_PHYSIOLOGY = True
# A strip whose grid's scale changes along it (a photo at an angle) read column by column at
# the grid's own scale there (``_perspective_undone``). Chosen by
# benchmarks/digitise_photo_angle.py (ANGLE_RULE).
READ_PERSPECTIVE = True


class DigitiseError(ValueError):
    """No trace could be followed in the image (the message says why)."""


@dataclass(frozen=True)
class Digitised:
    """A trace read from an image.

    ``signal`` is in mV when ``scale_source`` is "grid" or "axis_labels", else normalised (median 0,
    peak-to-peak 1; ``units`` says which). ``fs`` is samples per second of ``signal`` (one
    sample per image column of the trace). ``trace_x`` / ``trace_y`` are the followed trace in
    the ORIGINAL image's pixel coordinates (for an overlay). ``quality`` (0-1) is the share of
    trace columns actually seen (not interpolated) times a continuity score; ``clutter`` the
    share of ink left after cleaning that is not on the followed trace.
    """

    signal: np.ndarray
    fs: float
    units: str
    scale_source: str
    kind: str
    trace_x: np.ndarray
    trace_y: np.ndarray
    quality: float
    coverage: float
    clutter: float
    rotation_deg: float
    px_per_mm: float | None
    n_peaks: int
    notes: tuple[str, ...] = field(default=())
    # mV between neighbouring y tick labels where the scale was read from the axis labels.
    axis_step_mv: float | None = None
    # Where ``fs`` came from: "grid" (25 mm/s), "x_labels" (seconds), "x_labels_ms" (read as
    # milliseconds: sample numbers would read alike) or "assumed" (``_assumed_fs``).
    time_source: str = "assumed"
    # The notes (also in ``notes``, in place) saying why the x labels' reading was not taken
    # (``_axis_fs``): a recording made from the image repeats these, and only these, beside
    # its time note, so they are kept apart by kind rather than found by their wording.
    x_label_notes: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def _rgb_array(image: Image.Image) -> np.ndarray:
    """Float RGB array; transparency composited on white (as a browser shows it)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        span = float(arr.max() - arr.min()) or 1.0
        image = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8))
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def background_colour(rgb: np.ndarray) -> np.ndarray:
    """The median colour: most of a plot or of ECG paper is background. A fixed random sample
    of pixels is plenty and far faster; a regular one (every third pixel each way) falls on
    the lines of a grid whose period is a multiple of its stride (6 px a millimetre), which
    then outnumber the paper and were taken for it."""
    flat = rgb.reshape(-1, 3)
    if flat.shape[0] > BACKGROUND_SAMPLE:
        picks = np.random.default_rng(0).integers(0, flat.shape[0], BACKGROUND_SAMPLE)
        flat = flat[picks]
    return np.median(flat, axis=0)


@dataclass(frozen=True)
class PixelReading:
    """What reading an image starts with, kept so that it is computed once per upload: the
    printout row finder (``ecg.imaging.layout``) reads it, and the ECG check and the
    digitiser take it from there (``check_ecg_image(..., reading=...)``) instead of reading
    the same pixels again. All of the image at its own size (``pixel_reading``)."""

    rgb: np.ndarray  # float32, as ``_rgb_array`` gives it
    background: np.ndarray  # ``background_colour(rgb)``
    distance: np.ndarray  # ``distance_from(rgb, background)``
    red: np.ndarray  # ``red_mask(rgb)``

    def fits(self, image: Image.Image) -> bool:
        """Whether this is a reading of an image of ``image``'s size (not a crop of it)."""
        return self.rgb.shape[:2] == (image.size[1], image.size[0])


def pixel_reading(rgb: np.ndarray) -> PixelReading:
    """The ``PixelReading`` of a float32 RGB array (``_rgb_array``). Its arrays are made
    read-only: every step that takes them shares them, so one writing into them would change
    what the next one reads."""
    background = background_colour(rgb)
    reading = PixelReading(rgb, background, distance_from(rgb, background), red_mask(rgb))
    for array in (reading.rgb, reading.background, reading.distance, reading.red):
        array.setflags(write=False)
    return reading


def red_excess(rgb: np.ndarray) -> np.ndarray:
    """How much red exceeds the mean of green and blue (pink/red ECG paper lines)."""
    return rgb[..., 0] - 0.5 * (rgb[..., 1] + rgb[..., 2])


def red_mask(rgb: np.ndarray) -> np.ndarray:
    """Pink/red pixels (ECG paper grid colour); pale 1 mm lines included, so no ink test."""
    return red_excess(rgb) > RED_EXCESS


def grid_like(red: np.ndarray) -> bool:
    """Red pixels in (nearly) every row and column, as a grid's crossing lines put them; a red
    trace crosses most rows only at a few pixels (tilted grids included, unlike a line test)."""
    return bool(
        np.median(red.mean(axis=1)) > GRID_MIN_SHARE
        and np.median(red.mean(axis=0)) > GRID_MIN_SHARE
    )


def estimate_rotation(
    mask: np.ndarray, max_deg: float = MAX_ROTATION_DEG, min_gain: float = 1.05
) -> float:
    """Angle (degrees, counter-clockwise) that makes rows and columns of ``mask`` straightest.

    Measures the sum of squared row and column projections of the mask pixels, sheared by
    each candidate angle: straight lines (grid, axes, baseline) pile into few bins when
    aligned. Returns 0 unless aligning beats the unrotated image by ``min_gain``, so a mask
    without straight lines is never turned by noise.
    """
    ys, xs = np.nonzero(mask)
    if xs.size < 50:
        return 0.0
    if xs.size > 60_000:  # a fixed subsample keeps it fast and deterministic
        pick = np.random.default_rng(0).choice(xs.size, 60_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64)

    def score(angle: float) -> float:
        t = np.tan(np.radians(angle))
        rows = np.round(ys - xs * t).astype(np.int64)
        cols = np.round(xs + ys * t).astype(np.int64)
        h_r = np.bincount(rows - rows.min())
        h_c = np.bincount(cols - cols.min())
        return float((h_r.astype(np.float64) ** 2).sum() + (h_c.astype(np.float64) ** 2).sum())

    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.25)
    scores = np.array([score(a) for a in coarse])
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05)
    fine_scores = np.array([score(a) for a in fine])
    best = float(fine[int(np.argmax(fine_scores))])
    if fine_scores.max() < min_gain * score(0.0) or abs(best) < 0.1:
        return 0.0
    return best


def _period(profile: np.ndarray) -> float | None:
    """Fundamental period (px, sub-pixel) of a line profile, from its autocorrelation."""
    x = profile - profile.mean()
    n = x.size
    if n < 16 or not np.any(x):
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    ac = ac / ac[0]
    max_lag = n // 3
    for lag in range(2, max_lag):
        if ac[lag] > 0.2 and ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1]:
            # Refine with the later peaks near multiples of the period, updating the estimate
            # as it goes so that a fractional period (12.5 px) does not drift off the peaks.
            period = float(lag)
            for k in range(2, max(3, max_lag // lag)):
                c = int(round(k * period))
                if c + 3 >= n:
                    break
                lo, hi = max(1, c - 2), c + 3
                j = lo + int(np.argmax(ac[lo:hi]))
                a, b, cc = ac[j - 1], ac[j], ac[j + 1]
                if b < a or b < cc:
                    # No peak near this multiple (a profile without a clean period, e.g. the
                    # red ink of a rotated beat): refining from the window's edge once sent
                    # the period negative and this loop off the array.
                    break
                den = a - 2 * b + cc
                off = float(np.clip(0.5 * (a - cc) / den, -0.5, 0.5)) if den != 0 else 0.0
                period = (j + off) / k
            return period
    return None


def grid_periods(
    grid: np.ndarray, smooth: int = 3, *, finer: bool = True
) -> list[tuple[int, float, bool]]:
    """(axis, line period in px, every fifth line heavier) for each axis of ``grid`` (an image
    of grid-line weight) whose profile has a period; axis 0 is the columns' profile.
    ``finer``: a period of 2-4 mm is read again as 1 mm (``_finer_period``)."""
    out = []
    for axis in (0, 1):
        # Smoothed over 3 px: a line resampled onto fractional pixels keeps its weight (at
        # 4 px/mm that blurs a 1 px line's period away: ``smooth=1`` there).
        profile = ndimage.uniform_filter1d(grid.mean(axis=axis).astype(np.float64), smooth)
        period = _period(profile)
        if period is None:
            continue
        folds = profile.size / (5 * period)
        if folds >= MIN_FOLDS and GRID_PERIOD_CHECKS and finer:
            # A period of 2-4 mm (the 1 mm lines' autocorrelation lost to JPEG's 8-px blocks
            # or to a half-pixel period) leaves the 5 mm lines between its multiples.
            period = _finer_period(profile, period) or period
        folded, top, others = _fold(profile, period)
        # Heavier every fifth line? Under MIN_FOLDS folds (a beat a few 5 mm squares wide
        # read at its 5 mm period) the fold compares the trace and the edges, not lines: a
        # beat at 4.19 px/mm was read at its 5 mm lines as 1 mm ones, five times too fine.
        heavier = folded[top] > 1.3 * float(np.median(others))
        heavier = bool(heavier and (folds >= MIN_FOLDS or not GRID_PERIOD_CHECKS))
        out.append((axis, period, bool(heavier)))
    return out


def _fold(profile: np.ndarray, period: float) -> tuple[np.ndarray, int, list[float]]:
    """``profile`` folded (averaged) at 5 periods, the strongest phase in it, and the four
    other lines' weights (each the maximum within +-1 px of its expected place)."""
    fold = 5 * period
    phase = np.floor(np.mod(np.arange(profile.size), fold)).astype(int)
    folded = np.bincount(phase, weights=profile) / np.maximum(np.bincount(phase), 1)
    top = int(np.argmax(folded))
    others = [
        max(folded[int(round(top + k * period + d)) % folded.size] for d in (-1, 0, 1))
        for k in range(1, 5)
    ]
    return folded, top, others


def _finer_period(profile: np.ndarray, period: float) -> float | None:
    """The 1 mm period when ``period`` is a whole multiple (2-4) of it, else None.

    Folded at 5 such periods, the paper's 5 mm lines fall between the period's lines (at 2.5
    periods for 2 mm, 1.67 for 3 mm, 1.25 for 4 mm) and as heavy as its strongest; the
    nearest of them is 5 mm from it. A true 1 mm period has only paper between its lines.
    """
    folded, top, others = _fold(profile, period)
    n = folded.size
    background = float(np.percentile(folded, 20))
    heavy = folded[top] - background
    if heavy <= 0:
        return None
    # The top line's middle: a line smoothed over 3 px (or drawn 3 px wide) is a plateau, and
    # its edge as the origin put the far lines of paper with every line alike off their places.
    left = right = 0
    while left < n // 2 and folded[(top - left - 1) % n] >= folded[top] - 0.05 * heavy:
        left += 1
    while right < n // 2 and folded[(top + right + 1) % n] >= folded[top] - 0.05 * heavy:
        right += 1
    centre = top + (right - left) / 2.0
    offsets = np.arange(n)
    distance = np.abs((offsets - centre + n / 2) % n - n / 2)  # circular, from the top line
    on_line = max(2.0, 0.2 * period, (left + right) / 2.0 + 1.0)
    off_lines = np.abs((distance + period / 2) % period - period / 2) > on_line
    if not off_lines.any():
        return None
    between = off_lines & (folded - background >= 0.7 * heavy)
    if not between.any() or float(folded[off_lines].max()) < float(np.median(others)):
        return None
    fine = float(distance[between].min()) / 5.0
    multiple = period / fine
    k = round(multiple)
    if not 2 <= k <= 4 or abs(multiple - k) > PAPER_PERIOD_AGREEMENT * k or period / k < 3.0:
        return None  # (1 mm lines under 3 px apart are not told apart as lines)
    return period / k


def grid_scale(grid: np.ndarray, smooth: int = 3) -> tuple[float | None, list[str]]:
    """Pixels per millimetre from the grid (an image of grid-line weight, e.g. red excess on
    the grid pixels and 0 elsewhere), or None.

    The first period of the line profile is the 1 mm spacing when every fifth line is heavier
    (the 5 mm lines); when all lines weigh the same the visible lines are taken as the 5 mm
    grid (the 1 mm lines lost at a low resolution).
    """
    notes: list[str] = []
    periods = grid_periods(grid, smooth)
    if len(periods) == 2 and periods[0][2] != periods[1][2]:
        periods = _one_verdict(periods, grid.shape)
    if GRID_PERIOD_CHECKS and len(periods) == 2 and periods[0][2] != periods[1][2]:
        (_, known, _), (_, other, _) = sorted(periods, key=lambda p: not p[2])
        if _whole_multiple(other / known):
            # The paper is square: lines 2-5 mm apart on the other axis (its 1 mm lines lost,
            # too few folds to see its 5 mm ones) are the known axis's lines, not a second
            # scale to average with (an 8-s strip at 8 px/mm saved as JPEG read as 8.9 s).
            return float(known), [FINER_NOTE]
    # (px per mm, whether an axis saw the 5 mm lines heavier and so knows its lines are 1 mm)
    estimates = [(period if major else period / 5.0, major) for _axis, period, major in periods]
    if not estimates:
        return None, notes
    # Lines "all alike" (1 mm or 5 mm unknown) only when the reading rests on no axis that saw
    # heavier 5 mm lines. Before the checks any such axis made the note, and beside an axis
    # that knew its 1 mm lines it let the rate test read a strip of 30 a minute, its 1 mm
    # lines washed out by JPEG on one axis, five times too fast.
    any_alike = not all(major for _, major in estimates)
    if len(estimates) == 2 and abs(estimates[0][0] - estimates[1][0]) > 0.1 * max(estimates)[0]:
        (fine, fine_major), (coarse, _) = sorted(estimates)
        if _whole_multiple(coarse / fine):
            # The paper is square: an axis whose lines come every 2-5 of the other's lost its
            # finer lines (washed out by JPEG, blurred by a shrink); no finer period appears
            # without finer lines. Their mean matched neither axis: a 9.7-s strip at 5.7 px/mm
            # saved as JPEG read as 2.2 s (issue 19, property tests).
            unknown = not fine_major if GRID_PERIOD_CHECKS else any_alike
            return float(fine), [ALIKE_NOTE, FINER_NOTE] if unknown else [FINER_NOTE]
        notes.append("grid periods differ between axes; using their mean")
    unknown = not any(major for _, major in estimates) if GRID_PERIOD_CHECKS else any_alike
    return float(np.mean([px for px, _ in estimates])), [ALIKE_NOTE, *notes] if unknown else notes


def _whole_multiple(ratio: float) -> bool:
    """``ratio`` within 10% of 2, 3, 4 or 5 (the axes' grid periods agree to 10% when equal)."""
    k = round(ratio)
    return 2 <= k <= 5 and abs(ratio - k) <= PAPER_PERIOD_AGREEMENT * k


def _one_verdict(
    periods: list[tuple[int, float, bool]], shape: tuple[int, ...]
) -> list[tuple[int, float, bool]]:
    """Both axes' lines equally spaced (within 10 %) but only one seeing every fifth line
    heavier: the grid is square, so both see the same lines, and the axis whose profile holds
    more 5-line folds decides. An axis under ``MIN_FOLDS`` folds (a strip a few mm high) cannot
    tell: its one fold at 5 periods compares the trace and the edges, not lines; read alone, it
    took the 5 mm lines of a 3070-px strip shrunk to 3.4 px/mm for 1 mm ones, and the mean of
    the two axes read 3.5 times too many pixels a millimetre (30.3 s read as 10.2 s)."""
    (a_axis, a, a_major), (b_axis, b, b_major) = periods
    if abs(a - b) > 0.1 * max(a, b):
        return periods

    def folds(axis: int, period: float) -> float:
        return shape[1 - axis] / (5.0 * period)  # axis 0 is the columns' profile

    fa, fb = folds(a_axis, a), folds(b_axis, b)
    if max(fa, fb) < MIN_FOLDS:
        return periods
    major = a_major if fa >= fb else b_major
    return [(a_axis, a, major), (b_axis, b, major)]


def paper_grid_angle(
    rgb: np.ndarray, background: np.ndarray, distance: np.ndarray | None = None
) -> tuple[float, int] | None:
    """(rotation in degrees as ``estimate_rotation``, profile smoothing in px for
    ``grid_scale``) of ECG paper that is not pink/red (grey, blue or green paper; a greyscale
    scan or photocopy of pink paper), or None when the image has no such grid.

    Faint pixels (over ``FAINT_INK`` from the background) in nearly every row and column,
    whose row and column profiles, once turned upright, both have a line period, the two
    periods equal (square millimetres) and every fifth line heavier on both axes (the 5 mm
    lines). Stricter than the pink grid's test on purpose: without the colour, a plot's
    gridlines (one line per tick, all alike) and a text page's lines must not pass for paper,
    where they would set a scale. ``distance``: ``distance_from(rgb, background)`` when the
    caller has it.
    """
    distance = distance_from(rgb, background) if distance is None else distance
    faint = distance > FAINT_INK
    if not grid_like(faint):
        return None
    angle = estimate_rotation(faint, min_gain=GRID_ROTATION_GAIN)
    if angle:
        distance = distance_from(_turned(rgb, angle, background), background)
    weight = paper_grid_weight(distance)
    # Paper is straight lines across the image, at least PAPER_MIN_LINES each way; a thick
    # plotted wave crosses most rows and columns too, and its edges can show a period.
    find_lines = paper_line_rows_cols if PAPER_LINES_BY_COVER else line_rows_cols
    line_rows, line_cols = find_lines(weight > 0)
    if _runs(line_rows) < PAPER_MIN_LINES or _runs(line_cols) < PAPER_MIN_LINES:
        return None
    # Smoothed over 3 px first, as the pink grid's profile; unsmoothed where that blurs the
    # 1 mm lines away (about 4 px/mm, a 10-s strip 1,000 px wide).
    for smooth in (3, 1):
        # The axes' periods as read, not read again as 1 mm: a plot's gridlines in data units
        # (wfdb's 0.04 s and 0.1 mV) whose periods differ are not square paper, and read
        # again they agreed (a DS2 wfdb strip read at a wrong scale, aligned correlation 0.2).
        periods = grid_periods(weight, smooth, finer=False)
        if len(periods) != 2 or not all(major for _axis, _period, major in periods):
            continue
        a, b = periods[0][1], periods[1][1]
        if abs(a - b) <= PAPER_PERIOD_AGREEMENT * max(a, b):
            return angle, smooth
    return None


def paper_line_rows_cols(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of ``mask`` (merged over 3 neighbours, as ``line_rows_cols``) that it
    covers over ``LINE_SPAN`` of the image along them. Not an unbroken run: on a strip the
    trace crosses every row of its height at each QRS and the grid's weight leaves the trace
    out, so a row's longest run was a beat long, and a 10-s strip on grey paper kept only the
    rows of its margins (3-4 lines; as JPEG or turned, 13 of 25 strips refused or unscaled)."""
    h, w = mask.shape
    rows = ndimage.maximum_filter1d(mask, 3, axis=0).sum(axis=1) > LINE_SPAN * w
    cols = ndimage.maximum_filter1d(mask, 3, axis=1).sum(axis=0) > LINE_SPAN * h
    return rows, cols


def _runs(flags: np.ndarray) -> int:
    """Number of runs of True (a line merged over neighbouring rows counts once)."""
    f = np.asarray(flags, dtype=np.int8)
    return int(f[:1].sum() + np.count_nonzero(np.diff(f) == 1))


def paper_grid_weight(distance: np.ndarray) -> np.ndarray:
    """Grid-line weight of paper that is not pink, from each pixel's ``distance_from`` the
    background: the faint pixels' distance, the trace's far darker (or brighter) pixels left
    out, so that its strokes (a column of pixels at every QRS) do not outweigh the grid's
    period in the profiles."""
    faint = distance > FAINT_INK
    if not faint.any():
        return np.zeros_like(distance)
    # The trace's core is the image's farthest ink (``TRACE_PERCENTILE``, as for the cut
    # below); the grid's lines, 5 mm ones included, lie well under three quarters of the way
    # from the typical grid pixel to it (at 4 px a millimetre the trace is a tenth of the
    # faint pixels, so a percentile of those alone would take it in).
    trace_level = float(np.percentile(distance, TRACE_PERCENTILE))
    grid_level = float(np.median(distance[faint]))
    keep = faint & (distance < 0.75 * trace_level + 0.25 * grid_level)
    return np.where(keep, distance, 0.0)


def _keep_trace_components(mask: np.ndarray) -> np.ndarray:
    """Drop small pieces (tick labels, titles): keep components wide or heavy next to the
    largest. Components are found on a slightly dilated mask so a trace broken where a line
    was removed stays one piece."""
    h, w = mask.shape
    joined = ndimage.binary_dilation(mask, structure=np.ones((3, 5), bool))
    labels, n = ndimage.label(joined, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask
    labels = labels * mask
    objects = ndimage.find_objects(labels)
    spans = np.array([(o[1].stop - o[1].start) if o else 0 for o in objects])
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    keep = (spans >= 0.25 * spans.max()) | (counts >= 0.25 * counts.max())
    keep_ids = np.flatnonzero(keep) + 1
    return np.isin(labels, keep_ids)


def follow_trace(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Follow the trace column by column; (columns, rows, coverage, continuity, clutter).

    A column's value is the centre of its trace run, or the run's tip at a local peak or
    trough (half a line width in); with several runs in one column, the run nearest the
    previous value wins. Columns without a run between the first and last are interpolated.
    """
    h, w = mask.shape
    has = mask.any(axis=0)
    cols = np.flatnonzero(has)
    if cols.size < 2:
        raise DigitiseError("no ECG trace found")
    first, last = int(cols[0]), int(cols[-1])
    top = np.full(w, np.nan)
    bottom = np.full(w, np.nan)
    top[has] = np.argmax(mask[:, has], axis=0)
    bottom[has] = h - 1 - np.argmax(mask[::-1, has], axis=0)
    counts = mask.sum(axis=0)
    # Columns with more than one run: pick the run nearest the previous column's centre.
    multi = np.flatnonzero(has & (counts < 0.8 * (bottom - top + 1)))
    prev_centre = None
    multi_set = set(multi.tolist())
    for c in range(first, last + 1):
        if not has[c]:
            continue
        if c in multi_set:
            rows = np.flatnonzero(mask[:, c])
            breaks = np.flatnonzero(np.diff(rows) > 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            ref = prev_centre if prev_centre is not None else h / 2
            lengths = ends - starts + 1
            dist = np.abs((starts + ends) / 2 - ref)
            if prev_centre is None:
                k = int(np.argmax(lengths))
            else:
                k = int(np.argmin(dist - 0.1 * lengths))
            top[c], bottom[c] = starts[k], ends[k]
        prev_centre = (top[c] + bottom[c]) / 2
    span_cols = np.arange(first, last + 1)
    t, b = top[span_cols], bottom[span_cols]
    seen = ~np.isnan(t)
    run = b - t + 1
    line_w = float(np.nanmedian(run)) if seen.any() else 1.0
    centre = (t + b) / 2
    value = centre.copy()
    # Local tips: a long run reaching above (below) both neighbours is a peak (trough) squeezed
    # into one column; its value is that end, half a line width in, so R and S waves keep
    # their height instead of being averaged away. A run that is both (a whole QRS in one
    # column of a thick line) takes the end farther from the baseline (the trace's median).
    t_l, t_r = np.roll(t, 1), np.roll(t, -1)
    b_l, b_r = np.roll(b, 1), np.roll(b, -1)
    long_run = run > 1.5 * line_w
    up = (t <= t_l) & (t <= t_r) & long_run
    down = (b >= b_l) & (b >= b_r) & long_run
    baseline = float(np.nanmedian(centre))
    top_far = np.abs(t - baseline) >= np.abs(b - baseline)
    use_top = (up & ~down) | (up & down & top_far)
    use_bottom = (down & ~up) | (up & down & ~top_far)
    value[use_top] = t[use_top] + (line_w - 1) / 2
    value[use_bottom] = b[use_bottom] - (line_w - 1) / 2
    idx = np.arange(span_cols.size)
    value = np.interp(idx, idx[seen], value[seen])
    coverage = float(seen.mean())
    height = max(float(np.ptp(value)), 1.0)
    jumps = np.abs(np.diff(value))
    # Continuity: the share of steps that are not jumps over a third of the trace height
    # while both neighbours are flat (isolated jumps are noise or a second object).
    continuity = 1.0 - float(np.mean(jumps > height / 3)) if jumps.size else 0.0
    # Clutter: the share of kept pixels outside the followed run of their column (text,
    # boxes, a second curve); a lone trace has almost none.
    chosen = np.nansum(np.minimum(b - t + 1, counts[span_cols]))
    clutter = 1.0 - float(chosen) / max(float(counts.sum()), 1.0)
    return span_cols, value, coverage, continuity, clutter


def count_peaks(signal: np.ndarray) -> int:
    """Large deflections (over half the largest, either polarity chosen by the largest); one
    broken by at most ``PEAK_GAP_SAMPLES`` samples under the half counts once."""
    return _deflections_over(signal - np.median(signal), floor=0.0)


def _deflections_over(x: np.ndarray, *, floor: float) -> int:
    """Deflections of a centred trace over half its largest and over ``floor``, in the
    polarity of the largest (``count_peaks``'s count)."""
    polarity = 1.0 if x.max() >= -x.min() else -1.0
    x = x * polarity
    if x.max() <= floor:
        return 0
    above = x > max(0.5 * x.max(), floor)
    if PEAK_GAP_SAMPLES:
        # A thin steep stroke turned back upright zigzags between neighbouring columns: a
        # beat on paper turned by 2.76 degrees held its R wave as three runs a sample apart,
        # was called a strip and refused by the image upload (the image property tests).
        above = ndimage.binary_closing(above, np.ones(PEAK_GAP_SAMPLES + 1, bool)) | above
    starts = np.flatnonzero(np.diff(above.astype(np.int8)) == 1)
    return int(starts.size + (1 if above[0] else 0))


def peaks_beside_largest(
    signal: np.ndarray, *, left_out: int = LARGEST_LEFT_OUT, share: float = COMPLEX_SHARE
) -> int:
    """The most deflections ``count_peaks`` finds once the largest complex, then the next, are
    left out (up to ``left_out``): each the run around its peak over ``share`` of the trace's
    largest deflection, and as much again on each side, set to the baseline; a deflection
    counted must also reach ``share`` of the largest.

    A strip with one ventricular beat twice the others' height has a single deflection over
    half the largest, and was read as one beat; without that beat its others stand out. A
    single beat without its QRS keeps a T wave and a P wave at most.
    """
    x = np.asarray(signal, dtype=np.float64)
    x = x - np.median(x)
    size = np.abs(x)
    if size.size == 0 or size.max() <= 0:
        return 0
    floor = share * size.max()
    over = size > floor
    kept = np.ones(size.size, dtype=bool)
    most = 0
    for _ in range(left_out):
        if not kept.any():
            break
        peak = int(np.argmax(np.where(kept, size, 0.0)))
        before, after = over[: peak + 1][::-1], over[peak:]
        lo = peak + 1 - (int(np.argmin(before)) if not before.all() else before.size)
        hi = peak + (int(np.argmin(after)) if not after.all() else after.size)
        width = hi - lo
        kept[max(0, lo - width) : hi + width] = False
        most = max(most, _deflections_over(np.where(kept, x, 0.0), floor=floor))
    return most


def estimate_tilt(trace: np.ndarray, max_deg: float = MAX_ROTATION_DEG) -> float:
    """Tilt (degrees, the ``estimate_rotation`` convention: the angle to turn the image by)
    of a bare trace without a grid, read from its ink.

    A 10-s ECG spends most of its time on the isoelectric baseline, so once de-rotated the
    baseline is the densest row: the angle is the one whose sheared row projection is
    sharpest (sum of squares), searched over +-``max_deg`` at 0.25 degrees, then 0.02 around
    the best. Rows only: the column projection of ``estimate_rotation`` rewards turning a
    steep QRS upstroke upright, which pulls a bare strip off its true angle.
    """
    ys, xs = np.nonzero(trace)
    if xs.size < 50:
        return 0.0
    if xs.size > 40_000:  # a fixed subsample keeps it fast and deterministic
        pick = np.random.default_rng(0).choice(xs.size, 40_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64) - 0.5 * (trace.shape[1] - 1)

    def score(angle: float) -> float:
        rows = np.round(ys - xs * np.tan(np.radians(angle))).astype(np.int64)
        hist = np.bincount(rows - rows.min()).astype(np.float64)
        return float((hist**2).sum())

    best = 0.0
    for step, half in ((0.25, max_deg), (0.02, 0.25)):
        # Symmetric about the best so far, so 0 itself is a candidate of both passes.
        k = int(round(half / step))
        grid = best + step * np.arange(-k, k + 1)
        best = float(grid[int(np.argmax([score(a) for a in grid]))])
    return round(best, 2)


def digitise(
    image: Image.Image, *, undo_tilt: bool = True, reading: PixelReading | None = None
) -> Digitised:
    """Read the ECG trace of an image into a signal (see the module docstring for the steps).

    Raises ``DigitiseError("no ECG trace found")`` when nothing trace-like is left after
    removing background, grid, lines and small pieces. ``undo_tilt=False`` reads the image as
    drawn, turning nothing (``check_ecg_image`` compares a turned bare strip with it).
    ``reading``: the image's ``PixelReading`` when the caller has it (used unless the image is
    reduced first); the result is the same either way.
    """
    if reading is not None and reading.fits(image):
        rgb = reading.rgb
    else:
        rgb, reading = _rgb_array(image), None
    h0, w0 = rgb.shape[:2]
    shrink = 1.0
    full_grid = None
    if w0 > MAX_WIDTH:
        # The grid's period is read before the shrink: a long strip scanned at 10 px/mm
        # comes out at 2-5 px/mm, where the 1 mm lines blur away and were misread.
        full_grid = full_resolution_grid(rgb)
        shrink = MAX_WIDTH / w0
        size = (MAX_WIDTH, max(1, int(round(h0 * shrink))))
        if full_grid is not None:
            if full_grid.angle and TURN_AT_FULL_RESOLUTION:
                # Turned upright before the reduction: a 1-px line turned after it greys, and
                # its steep strokes fall past the brightness cut between trace and grid.
                rgb = _turned(rgb, full_grid.angle, background_colour(rgb))
            rgb = ink_pooled(rgb, *size)
        else:
            small = Image.fromarray(rgb.astype(np.uint8)).resize(size, Image.Resampling.BOX)
            rgb = np.asarray(small, dtype=np.float32)
        reading = None
    if full_grid is None or not full_grid.angle or not TURN_AT_FULL_RESOLUTION:
        return _digitise_rgb(
            rgb, shrink, tilt=None if undo_tilt else 0.0, reading=reading, full_grid=full_grid
        )
    upright = replace(full_grid, angle=0.0)
    result = _digitise_rgb(rgb, shrink, tilt=None if undo_tilt else 0.0, full_grid=upright)
    xs, ys = _unturned(result.trace_x, result.trace_y, full_grid.angle, w0, h0)
    note = f"rotation {full_grid.angle:.2f} degrees undone"
    return replace(
        result, trace_x=xs, trace_y=ys, rotation_deg=full_grid.angle, notes=(note, *result.notes)
    )


@dataclass(frozen=True)
class FullResolutionGrid:
    """An ECG paper grid read before the image is reduced (``full_resolution_grid``)."""

    px_per_mm: float
    notes: tuple[str, ...]
    angle: float  # degrees, as ``estimate_rotation``
    pink: bool  # else paper of another colour (``paper_grid_angle``)
    smooth: int  # the line profile's smoothing, as ``paper_grid_angle`` chose it


def ink_pooled(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``rgb`` reduced to ``width`` x ``height`` keeping each block's darkest value per channel
    (its brightest on a dark background, a monitor's grid), blocks of a non-whole size alike:
    on ECG paper a 1-px trace stays as dark as drawn, and a grid line stays a line, where an
    average greys the trace towards the grid lines' brightness and the cut between them loses
    its steep QRS strokes."""
    dark_ink = float(background_colour(rgb).mean()) >= 128.0
    keep = np.minimum if dark_ink else np.maximum
    rows = np.floor(np.arange(height) * rgb.shape[0] / height).astype(np.intp)
    cols = np.floor(np.arange(width) * rgb.shape[1] / width).astype(np.intp)
    return keep.reduceat(keep.reduceat(rgb, rows, axis=0), cols, axis=1)


def full_resolution_grid(rgb: np.ndarray) -> FullResolutionGrid | None:
    """An ECG paper grid's pixels per millimetre (with ``grid_scale``'s notes) and rotation,
    read on a ``MAX_WIDTH``-wide crop from the middle of ``rgb`` at its own resolution (turned
    upright first, as the grid says): pink paper, or paper of another colour as
    ``paper_grid_angle`` finds it; None when the crop shows neither or no period."""
    w = rgb.shape[1]
    c0 = max(0, (w - MAX_WIDTH) // 2)
    crop = rgb[:, c0 : c0 + MAX_WIDTH]
    bg = background_colour(crop)
    red = red_mask(crop)
    pink = grid_like(red)
    if pink:
        angle, smooth = estimate_rotation(red, min_gain=GRID_ROTATION_GAIN), 3
    else:
        found = paper_grid_angle(crop, bg)
        if found is None:
            return None
        angle, smooth = found
    if angle:
        crop = _turned(crop, angle, bg)
    if pink:
        red = red_mask(crop)
        px_per_mm, notes = grid_scale(np.where(red, red_excess(crop), 0.0))
    else:
        px_per_mm, notes = grid_scale(paper_grid_weight(distance_from(crop, bg)), smooth=smooth)
    if px_per_mm is None:
        return None
    return FullResolutionGrid(px_per_mm, tuple(notes), angle, pink, smooth)


def _digitise_rgb(
    rgb: np.ndarray,
    shrink: float,
    tilt: float | None = None,
    reading: PixelReading | None = None,
    full_grid: FullResolutionGrid | None = None,
    darker_ink: bool = False,
) -> Digitised:
    """``digitise`` on an RGB array; ``tilt`` (degrees) is a rotation to undo first, read from
    the trace of an earlier pass (then no grid rotation is estimated). ``reading``: ``rgb``'s
    ``PixelReading``, when the caller has it. ``full_grid``: the paper's grid read before the
    image was reduced (``full_resolution_grid``); its scale and angle replace the reduced
    image's readings, whose 1 mm lines may have merged. ``darker_ink``: the first pass kept only
    the darker ink (``_darker_ink``), so the turned image is read so too."""
    notes: list[str] = []
    if reading is None:
        reading = pixel_reading(rgb)
    bg, distance, red = reading.background, reading.distance, reading.red
    ink = distance > INK_THRESHOLD  # ``ink_mask``
    if not ink.any():
        raise DigitiseError("no ECG trace found")
    pink = grid_like(red)
    # Paper of another colour is looked for only where there is no pink grid (the pink path
    # stays as it was) and never on a bare strip's second pass.
    if full_grid is not None and not full_grid.pink and not pink:
        # Read before the image was reduced, where its 1 mm lines may have merged.
        paper_grid = (full_grid.angle, full_grid.smooth)
    else:
        paper_grid = None if tilt is not None or pink else paper_grid_angle(rgb, bg, distance)
    # Rotation is read from the grid; a bare trace has no straight line to trust (its row and
    # column projections prefer angles that flatten a QRS), so a strip's tilt is read from its
    # trace's rows alone after a first pass (below) and the image traced again.
    if tilt is not None:
        angle = tilt
    elif paper_grid is not None:
        angle = paper_grid[0]
    elif full_grid is not None and full_grid.pink and pink:
        angle = full_grid.angle
    else:
        angle = estimate_rotation(red, min_gain=GRID_ROTATION_GAIN) if pink else 0.0
    if angle:
        rgb = _turned(rgb, angle, bg)
        distance = distance_from(rgb, bg)
        ink = distance > INK_THRESHOLD
        red = red_mask(rgb)
        notes.append(f"rotation {angle:.2f} degrees undone")
    # Not-pink paper: its faint grid pixels, from the distance image (upright by now).
    paper = None if paper_grid is None else distance > FAINT_INK
    grid_ink = red if paper is None else paper
    h, w = ink.shape
    # A grid: grid ink forming several full-length rows AND columns.
    grid_rows, grid_cols = line_rows_cols(grid_ink)
    has_grid = grid_rows.sum() >= 3 and grid_cols.sum() >= 3
    if full_grid is not None and (pink if full_grid.pink else paper is not None):
        has_grid = True  # its lines may have merged in the reduction
    px_per_mm = None
    grid_weight = None  # the grid-line weight the scale was read from, when read here
    axis_step_mv = None
    x_label_notes: list[str] = []
    if has_grid and paper is None:
        if full_grid is not None and full_grid.pink:
            px_per_mm = full_grid.px_per_mm * shrink
            notes.extend([*full_grid.notes, FULL_RESOLUTION_NOTE])
        else:
            grid_weight = np.where(red, red_excess(rgb), 0.0)
            px_per_mm, grid_notes = grid_scale(grid_weight)
            notes.extend(grid_notes)
        # The trace is darker than the grid lines. Brightness, not hue, separates them: JPEG
        # washes the colour out of thin grid lines and bleeds red into the trace beside them.
        # The cut lies halfway between the trace's core and the typical grid-line pixel.
        lum = rgb.mean(axis=2)
        on_lines = red & (grid_rows[:, None] | grid_cols[None, :])
        grid_lum = float(np.median(lum[on_lines])) if on_lines.any() else float(np.median(lum[red]))
        cut = 0.5 * (float(np.percentile(lum, 0.5)) + grid_lum)
        trace = ink & (lum < cut)
    elif has_grid:
        # Paper of another colour: the trace lies farther from the background than the grid
        # lines (dark on light paper, bright on a dark monitor grid alike); the cut lies
        # halfway between the trace's core and the typical grid-line pixel.
        notes.append("ECG paper grid that is not pink (grey, blue, green or a greyscale copy)")
        if full_grid is not None and not full_grid.pink:
            px_per_mm = full_grid.px_per_mm * shrink
            notes.extend([*full_grid.notes, FULL_RESOLUTION_NOTE])
        else:
            grid_weight = paper_grid_weight(distance)
            px_per_mm, grid_notes = grid_scale(grid_weight, smooth=paper_grid[1])
            notes.extend(grid_notes)
        on_lines = paper & (grid_rows[:, None] | grid_cols[None, :])
        grid_distance = float(np.median(distance[on_lines] if on_lines.any() else distance[paper]))
        cut = 0.5 * (float(np.percentile(distance, TRACE_PERCENTILE)) + grid_distance)
        trace = ink & (distance > cut)
    else:
        trace = ink.copy()
    rows, cols = line_rows_cols(trace)
    # A vertical line is removed only where it meets a horizontal one (an axes frame or box):
    # in a strip drawn to the image height a QRS upstroke is a long vertical line too.
    cols = frame_columns(trace, rows, cols)
    trace = trace & ~line_pixels(rgb, bg, trace, rows, cols)
    trace = _keep_trace_components(trace)
    if tilt:
        # Turned back, a steep QRS stroke of a thin line zigzags between neighbouring columns
        # (two resamplings: the photo's and ours), so each column holds dashes of it and the
        # trace follower picks a dash; closing short gaps along the column rejoins them.
        trace = ndimage.binary_closing(trace, structure=np.ones((13, 1), bool))
    span_cols, value, coverage, continuity, clutter = follow_trace(trace)
    if not has_grid and (darker_ink or clutter > GRIDLESS_CLUTTER):
        # No grid was found (paper turned so that its faint lines pile into no row), yet the
        # ink is mostly off the line: lighter marks all over, as grid lines are beside a dark
        # trace. Kept: the ink darker than halfway between the trace's core and the typical
        # ink pixel, when it then follows as one clean line (text and boxes, as dark as any
        # line, stay cluttered and are refused as before).
        darker = _darker_ink(trace, distance)
        if darker is not None:
            retry = follow_trace(darker)
            _, _, retry_coverage, retry_continuity, retry_clutter = retry
            quality = coverage * continuity
            if (
                retry_clutter <= GRIDLESS_CLUTTER
                and retry_coverage * retry_continuity >= DARKER_INK_MIN_QUALITY * quality
            ):
                notes.append("lighter marks (a grid not read) left out of the trace")
                trace, darker_ink = darker, True
                span_cols, value, coverage, continuity, clutter = retry
    if span_cols.size < max(8, 0.2 * w):
        raise DigitiseError("no ECG trace found")
    up = -(value - np.median(value))  # image rows grow downwards
    n_peaks = count_peaks(up)
    if px_per_mm is not None and px_per_mm > 0.5:
        px_per_mm = _grid_period_checked(px_per_mm, up, span_cols.size, n_peaks, notes)
        px_per_mm = _grid_scale_plausible(px_per_mm, up, notes)
        fs, time_source = PAPER_MM_PER_S * px_per_mm, "grid"
        signal = up / (PAPER_MM_PER_MV * px_per_mm)
        units, source = "mV", "grid"
        kind = "strip" if (span_cols.size / fs >= 2.0 or n_peaks >= 3) else "single_beat"
        if kind == "strip" and READ_PERSPECTIVE:
            if grid_weight is None:  # the scale came from the full-resolution grid
                if paper is None:
                    grid_weight = np.where(red, red_excess(rgb), 0.0)
                else:
                    grid_weight = paper_grid_weight(distance)
            undone = _perspective_undone(grid_weight, span_cols, up, px_per_mm, notes)
            if undone is not None:
                signal, fs = undone
    elif (axis := _axis_scale(rgb, up)) is not None:
        # No grid, but a plot with numbered axes (matplotlib, MATLAB, Excel, R): the y tick
        # labels give mV per pixel; the x labels, where read, the time scale.
        signal = up * axis.mv_per_px
        units, source = "mV", "axis_labels"
        axis_step_mv = axis.y.step
        n_cols = span_cols.size
        fs, time_source = _axis_fs(axis, up, n_cols, n_peaks, x_label_notes)
        notes.extend(x_label_notes)
        kind = "strip" if (n_cols / fs >= 2.0 or n_peaks >= 3) else "single_beat"
    else:
        if n_peaks < 3 and COUNT_BESIDE_LARGEST:
            # Its one or two largest beats may hide the others (a ventricular beat twice their
            # height): no grid or axis says how long the trace is, only its beats do.
            beside = peaks_beside_largest(up)
            n_peaks = beside if beside >= MIN_BESIDE_LARGEST else n_peaks
        if n_peaks >= 3 and tilt is None:
            # A strip without a grid: a tilt (a rotated photo or scan) is read from the
            # trace's ink, whose baseline piles into one row once turned upright.
            tilt_angle = estimate_tilt(trace)
            if MIN_TILT_DEG <= abs(tilt_angle) < MAX_ROTATION_DEG:
                # (``rgb`` is the image as read when ``angle`` is 0: its reading still holds.)
                turned = _digitise_rgb(
                    rgb,
                    shrink,
                    tilt=tilt_angle,
                    reading=None if angle else reading,
                    darker_ink=darker_ink,
                )
                # Kept only if the turned image traces as cleanly (a drifting baseline is not
                # a tilt, and turning an image with axes leaves them slanted as clutter).
                if (
                    turned.clutter <= clutter + 0.05
                    and turned.quality >= coverage * continuity - 0.05
                ):
                    return turned
        ptp = float(np.ptp(up)) or 1.0
        signal = up / ptp
        units, source = "normalised", "assumed"
        kind = "strip" if n_peaks >= 3 else "single_beat"
        fs, time_source = _assumed_fs(span_cols.size, n_peaks), "assumed"
        px_per_mm = None
    # Trace coordinates back in the original image (undo rotation, then shrink).
    xs, ys = span_cols.astype(np.float64), value.astype(np.float64)
    if angle:
        xs, ys = _unturned(xs, ys, angle, w, h)
    xs, ys = xs / shrink, ys / shrink
    return Digitised(
        signal=signal.astype(np.float64),
        fs=float(fs),
        units=units,
        scale_source=source,
        kind=kind,
        trace_x=xs,
        trace_y=ys,
        quality=float(coverage * continuity),
        coverage=coverage,
        clutter=clutter,
        rotation_deg=float(angle),
        px_per_mm=None if px_per_mm is None else float(px_per_mm / shrink),
        n_peaks=n_peaks,
        notes=tuple(notes),
        axis_step_mv=axis_step_mv,
        time_source=time_source,
        x_label_notes=tuple(x_label_notes),
    )


def _darker_ink(trace: np.ndarray, distance: np.ndarray) -> np.ndarray | None:
    """``trace`` without its ink lighter than halfway between the trace's core (the
    ``TRACE_PERCENTILE`` of ink distance) and the median ink pixel, or None when the ink holds
    no such lighter majority (the median pixel within ``DARKER_INK_MIN_GAP`` of the core)."""
    values = distance[trace]
    if values.size == 0:
        return None
    core, typical = float(np.percentile(values, TRACE_PERCENTILE)), float(np.median(values))
    if core - typical < DARKER_INK_MIN_GAP:
        return None
    darker = _keep_trace_components(trace & (distance > 0.5 * (core + typical)))
    return darker if darker.any() else None


def _turned(rgb: np.ndarray, angle: float, background: np.ndarray) -> np.ndarray:
    """``rgb`` turned by ``angle`` degrees (``Image.rotate``, same size), the corners it
    uncovers filled with ``background``."""
    fill = tuple(int(v) for v in background)
    turned = Image.fromarray(rgb.astype(np.uint8)).rotate(
        angle, resample=Image.Resampling.BILINEAR, fillcolor=fill
    )
    return np.asarray(turned, dtype=np.float32)


def _unturned(
    xs: np.ndarray, ys: np.ndarray, angle: float, w: int, h: int
) -> tuple[np.ndarray, np.ndarray]:
    """Points of an image turned by ``angle`` degrees (``Image.rotate``, same size ``w`` x
    ``h``) back in the image as it was."""
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a = np.radians(angle)
    dx, dy = xs - cx, ys - cy
    return cx + dx * np.cos(a) - dy * np.sin(a), cy + dx * np.sin(a) + dy * np.cos(a)


def _assumed_fs(n_cols: int, n_peaks: int) -> float:
    """Samples per second of a trace without a time scale: three or more large deflections
    are a ``STRIP_ASSUMED_S`` strip, fewer a single beat of ``BEAT_SPAN_S`` (one sample a
    column). Shared by the no-grid path and the axis path whose x labels were not read."""
    return n_cols / (STRIP_ASSUMED_S if n_peaks >= 3 else BEAT_SPAN_S)


def _axis_fs(
    axis: AxisScale, up: np.ndarray, n_cols: int, n_peaks: int, notes: list[str]
) -> tuple[float, str]:
    """Samples per second of a plot with a read y axis: from its x labels where read, unless
    they were read as milliseconds and a single beat would then span less or more than
    ``BEAT_SPAN_RANGE_S``, or a strip's deflections come faster than ``STRIP_MAX_RATE_BPM``
    but not over the standard strip length: such labels are sample numbers (a beat of 252
    samples at 360 Hz read as 0.25 s; a 10-s strip as 3.6 s), and the assumed span serves
    instead (``_assumed_fs``). No label tells the two apart; the physiology does. Why a
    reading was not taken is appended to ``notes`` (``Digitised.x_label_notes``)."""
    assumed = _assumed_fs(n_cols, n_peaks)
    if not axis.s_per_px:
        return assumed, "assumed"
    fs = 1.0 / axis.s_per_px
    seconds = n_cols / fs
    if not axis.x_in_ms:
        return fs, "x_labels"
    if seconds < 2.0 and n_peaks < 3:  # a single beat
        low, high = BEAT_SPAN_RANGE_S
        if not low <= seconds <= high:
            notes.append(
                f"x labels not taken as milliseconds: the beat would span {seconds:.2f} s "
                "(sample numbers?); its span assumed"
            )
            return assumed, "assumed"
    else:
        count = _deflections(up)
        rate, rate_assumed = count / seconds * 60.0, count / (n_cols / assumed) * 60.0
        if rate > STRIP_MAX_RATE_BPM >= rate_assumed:
            notes.append(
                f"x labels not taken as milliseconds: {count} deflections in {seconds:.1f} s "
                f"would be {rate:.0f} a minute, {rate_assumed:.0f} over the standard "
                f"{STRIP_ASSUMED_S:.0f} s (sample numbers?); the standard length assumed"
            )
            return assumed, "assumed"
    return fs, "x_labels_ms"


def _grid_period_checked(
    px_per_mm: float, up: np.ndarray, n_cols: int, n_peaks: int, notes: list[str]
) -> float:
    """Pixels per millimetre of a grid whose lines all weigh the same, read again.

    ``grid_scale`` takes such lines for the 5 mm grid (the 1 mm lines lost at a low
    resolution). Paper drawn with every line alike at 1 mm reads five times too small then: a
    0.7-s beat lasts 3.5 s, a strip at 75 a minute beats at 15. When that reading is
    implausible (a beat over ``BEAT_SPAN_RANGE_S``, a strip under ``GRID_MIN_RATE_BPM``) and
    the 1 mm one is not, the lines are the 1 mm grid. Any other grid is returned as read.
    """
    if ALIKE_NOTE not in notes:
        return px_per_mm
    coarse_s = n_cols / (PAPER_MM_PER_S * px_per_mm)  # the 5 mm reading's duration
    fine_s = coarse_s / 5.0
    low, high = BEAT_SPAN_RANGE_S
    if n_peaks < 3 and GRID_SCALE_PHYSIOLOGY:
        # A strip's one or two largest beats may hide the others (as in a gridless trace): a
        # strip with a ventricular beat twice the others' height was "a beat of 10 s" here,
        # taken at 1 mm, and read five times too short.
        beside = peaks_beside_largest(up)
        n_peaks = beside if beside >= MIN_BESIDE_LARGEST else n_peaks
    if n_peaks < 3:  # one beat, one or two large deflections
        fine = coarse_s > high and low <= fine_s <= high
        why = f"a beat would last {coarse_s:.1f} s"
    else:
        rate = _deflections(up) / coarse_s * 60.0
        fine = rate < GRID_MIN_RATE_BPM <= 5 * rate
        why = f"the beats would come {rate:.0f} a minute"
    if not fine:
        return px_per_mm
    notes[notes.index(ALIKE_NOTE)] = f"grid lines all alike: taken as the 1 mm grid (at 5 mm {why})"
    return px_per_mm * 5.0


def _grid_scale_plausible(px_per_mm: float, up: np.ndarray, notes: list[str]) -> float:
    """``px_per_mm`` as read from the grid, or five times less when at that scale a strip's
    complexes are narrower than any QRS (``grid_plausibility``): the 5 mm lines were taken for
    the 1 mm ones (a blurred photo loses the 1 mm lines)."""
    if not GRID_SCALE_PHYSIOLOGY:
        return px_per_mm
    timing = grid_plausibility.reads_five_times_too_fine(up, PAPER_MM_PER_S * px_per_mm)
    if timing is None:
        return px_per_mm
    notes.append(
        "grid read again five times coarser: at the lines' first reading the complexes would "
        f"last {1000 * timing.half_width_s:.0f} ms at half height and come "
        f"{timing.rate_bpm:.0f} a minute, narrower than any QRS"
    )
    return px_per_mm / grid_plausibility.FACTOR


def _perspective_undone(
    grid: np.ndarray, span_cols: np.ndarray, up: np.ndarray, px_per_mm: float, notes: list[str]
) -> tuple[np.ndarray, float] | None:
    """A strip photographed at an angle read column by column at the grid's own scale there
    (``perspective.column_scales``): its signal in mV resampled evenly in time, and its
    sampling rate; None when the grid's scale does not change along the strip."""
    scales = perspective.column_scales(grid, px_per_mm)
    if scales is None:
        return None
    along_x, along_y = scales[0][span_cols], scales[1][span_cols]
    mm = np.concatenate([[0.0], np.cumsum(1.0 / along_x[:-1])])  # paper millimetres in time
    if mm[-1] <= 0:
        return None
    evenly = np.linspace(0.0, mm[-1], span_cols.size)
    signal = np.interp(evenly, mm, up / (PAPER_MM_PER_MV * along_y))
    change = 100.0 * (along_x[-1] / along_x[0] - 1)
    notes.append(
        f"photo at an angle: the grid's millimetres change by {change:+.0f} % along the strip, "
        "each part read at its own scale"
    )
    return signal, (span_cols.size - 1) / (mm[-1] / PAPER_MM_PER_S)


def _deflections(trace: np.ndarray) -> int:
    """Deflections of a strip's trace of either polarity over ``DEFLECTION_SHARE`` of its
    largest, at most ``MAX_STRIP_DEFLECTIONS`` of them (their least spacing): a beat count
    for the rate test that a ventricular beat twice the others' height does not hide, as it
    does from ``count_peaks``. T waves may count too: it only errs towards the assumed
    length."""
    size = np.abs(trace - np.median(trace))
    if size.size < 3 or size.max() <= 0:
        return 0
    spacing = max(1, size.size // MAX_STRIP_DEFLECTIONS)
    peaks, _ = find_peaks(size, height=DEFLECTION_SHARE * size.max(), distance=spacing)
    return int(peaks.size)


def _axis_scale(rgb: np.ndarray, up: np.ndarray) -> AxisScale | None:
    """The scale read from the plot's axis tick labels, None when not read (issue 19)."""
    return read_axis_scale(rgb.astype(np.uint8), trace_span_px=float(np.ptp(up)))


# Median peak-to-peak amplitude of MIT-BIH DS1 training beat windows (MLII, band-passed,
# 41,598 beats: 2.0 mV, quartiles 1.5 and 2.6), used to give a normalised single beat a
# plausible mV scale for the fixed-scale beat image. benchmarks/digitise_benchmark.py
# measures it again on DS1 training records only ("assumed_beat_ptp_mv_from_DS1_train").
ASSUMED_BEAT_PTP_MV = 2.0
# The same distribution's 10th, 30th, 50th, 70th and 90th percentiles (mV): five equally likely
# amplitudes of a beat whose scale is unknown (``amplitude_candidates``).
AMPLITUDE_PRIOR_MV = (1.14, 1.59, 2.0, 2.45, 3.02)
# The trace height (lowest to highest point, mV) a user may give for an image whose scale the
# digitiser cannot read: beats span a few tenths of a millivolt to a few millivolts; outside
# this range a value is a typo or in other units (the upload forms refuse it).
GIVEN_TRACE_HEIGHT_MV = (0.1, 10.0)
# The R peak of a digitised beat: the first deflection at least this share of the largest.
R_PEAK_SHARE = 0.6


def r_peak_index(signal: np.ndarray) -> int:
    """Index of the R peak of a beat trace: the tip of its first deflection (from the median)
    at least ``R_PEAK_SHARE`` of the largest.

    Not simply the largest deflection: in an R wave followed by an S wave about as deep (or a
    QRS followed by a taller T wave) the largest is a toss-up, and a window cut around the
    wrong one lies 0.05-0.3 s off the annotated R the model was trained on (issue 19: most
    of the foreign-drawn DS1 beats misread were cut so). The first large deflection is the
    R (or the QRS) in both.
    """
    size = np.abs(np.asarray(signal, dtype=np.float64) - np.median(signal))
    if size.size == 0 or size.max() <= 0:
        return 0
    large = size >= R_PEAK_SHARE * size.max()
    start = int(np.argmax(large))
    stop = start + (int(np.argmin(large[start:])) if not large[start:].all() else large.size)
    return start + int(np.argmax(size[start:stop]))


def beat_window_span(
    digitised: Digitised, *, pre_s: float = BEAT_PRE_S, post_s: float = BEAT_POST_S
) -> tuple[int, int]:
    """First and one-past-last sample of ``digitised.signal`` that make its beat window:
    ``pre_s`` before to ``post_s`` after its R peak (``r_peak_index``). They may lie outside
    the trace; ``beat_window`` repeats the edge values there."""
    peak = r_peak_index(digitised.signal)
    return (
        peak - int(round(pre_s * digitised.fs)),
        peak + int(round(post_s * digitised.fs)),
    )


def beat_window(
    digitised: Digitised,
    fs_out: float,
    *,
    pre_s: float = BEAT_PRE_S,
    post_s: float = BEAT_POST_S,
    assumed_ptp_mv: float = ASSUMED_BEAT_PTP_MV,
) -> np.ndarray:
    """One beat window (mV, at ``fs_out``) of a digitised trace: ``pre_s`` before to
    ``post_s`` after its R peak (``r_peak_index``, not simply the largest deflection).

    A normalised trace is scaled to ``assumed_ptp_mv`` peak to peak. Parts of the window
    outside the trace repeat its edge value.
    """
    x = np.asarray(digitised.signal, dtype=np.float64)
    peak = r_peak_index(x)
    pre, post = int(round(pre_s * fs_out)), int(round(post_s * fs_out))
    # The window's sample times in the trace's samples, the R peak on sample ``pre``.
    t_in = peak + (np.arange(-pre, post) * digitised.fs / fs_out)
    y = np.interp(t_in, np.arange(len(x)), x)  # outside the trace: its edge values
    if digitised.units != "mV":
        y = y * assumed_ptp_mv
    return y.astype(np.float32)


def amplitude_candidates(
    window: np.ndarray, *, prior_mv: tuple[float, ...] = AMPLITUDE_PRIOR_MV
) -> np.ndarray:
    """A beat window drawn at the assumed amplitude (``beat_window`` of a trace without a
    grid, ``ASSUMED_BEAT_PTP_MV``) at each amplitude of ``prior_mv`` instead (rows).

    Averaging a model's probabilities over these rows marginalises the unknown scale over the
    training beats' amplitude distribution, instead of betting on its median; the row at 2.0 mV
    is the window itself.
    """
    x = np.asarray(window, dtype=np.float32)
    return np.stack([x * np.float32(mv / ASSUMED_BEAT_PTP_MV) for mv in prior_mv])
