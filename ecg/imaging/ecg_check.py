"""Is this image an ECG? Refuse images without a trace; flag traces unlike an ECG.

Three verdicts, in order of the checks:

* ``no_trace``: the background is not a flat colour (a photo, noise), or nothing trace-like
  is left after removing grid, lines and small pieces (a document, a web page), or the trace
  found is mostly clutter (several runs per column, jumpy): "no ECG trace found".
* ``unlike_ecg``: a clean trace that does not look like an ECG (a sine, a random walk):
  either its large deflections are not brief (an ECG is beyond half its largest deflection
  only during QRS complexes, about a tenth of the time) and its slope is not concentrated in
  a few sharp strokes, or it neither returns to a baseline (an ECG spends about half its time
  near its median: PR, ST, TP segments) nor has a tenth of its steps carrying most of its
  movement. Ventricular flutter waves are sine-like and are mostly flagged too (the
  benchmark reports it): for them the flag means "uncertain", not "not an ECG". Or a line
  not drawn as an ECG is (``unlike_ecg_drawing``): without a grid, crossing under half the
  image or broken by gaps; level lines joined by jumps (boxes, edges).
* ``ecg``: anything else, with the digitised trace.

The thresholds were set on images drawn from MIT-BIH DS1 beats and strips and on generated
non-ECG images (benchmarks/digitise_benchmark.py); DS2 was not used to choose them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ecg.imaging.digitise import (
    Digitised,
    DigitiseError,
    PixelReading,
    _rgb_array,
    background_colour,
    digitise,
    grid_like,
    grid_scale,
    red_mask,
)
from ecg.imaging.ink import distance_from

NO_TRACE = "no ECG trace found"
# A plot or ECG paper is mostly one flat colour (paper with its grid included).
MIN_BACKGROUND_SHARE = 0.5
MIN_QUALITY = 0.6
# Share of the cleaned ink off the followed trace: under 0.05 on the DS1 plots and paper,
# about 0.9 on text pages and web-page screenshots.
MAX_CLUTTER = 0.3
# On DS1 beats and strips drawn with Pillow the share of time beyond half the largest
# deflection was 0.04-0.12 (one noisy record 0.27); random walks 0.23-0.52, a sine 0.66.
MAX_PEAK_SHARE = 0.2
# Over this share a trace is flagged whatever its slope: a step (a gradient's edge, a photo's
# outline) has one sharp jump, which passes the kurtosis test, and stays beyond half its
# largest deflection for most of its length. Kept by benchmarks/ecg_check_peak_share.py's rule
# (DS1 images of every renderer; a noisy DS1 record reaches 0.27).
MAX_PEAK_SHARE_ALONE = 0.35
# ECG slope is spiky: kurtosis of the first difference 12-29 on most DS1 images (a noisy
# record down to 4.6); a sine 1.8, digitised random walks 6-9 (pixel steps add spikes).
MIN_SLOPE_KURTOSIS = 10.0
# Share of the movement (sum of |steps|) in the largest tenth of the steps, and share of
# samples within a tenth of the range from the median. Chosen on DS1 training-record beats
# and strips (four renderers) against generated random walks and sines: together with the
# rule above they flag 1.7% of non-flutter DS1 images, 97% of random walks, every sine.
MIN_TOP_STEP_SHARE = 0.45
MIN_NEAR_BASELINE = 0.5
# What an ECG drawing does, beside what its signal does (benchmarks/ecg_check_shape.py, issue
# 19). Its line is the image's subject: without a grid it crosses 0.62-1.0 of the width on
# every DS1 plot (0.84 and up on Pillow drawings as small as 100x40); colour gradients and
# photos gave an edge or corner 0.2-0.5 wide, a line of words 0.28-0.39. Grid images are
# exempt: a beat on a wide piece of paper is still ECG paper.
MIN_TRACE_SPAN = 0.5
# And, without a grid, one unbroken line: every DS1 drawing had 0.99-1.0 of its columns seen;
# the outlines, small photos and lines of words still passing the rules here 0.73-0.86 (the
# digitiser bridged the gaps between boxes, patches and letters).
MIN_SEEN_SHARE = 0.9
# And it is not made of level lines joined by jumps: DS1 drawings have up to 0.80 of their
# steps flat (a 250x50 beat) but then at most 0.85 of their movement in their largest tenth
# of steps; rectangle outlines and a gradient's banded edge have 0.81-0.99 flat and 0.91-1.0.
MAX_FLAT_STEP_SHARE = 0.75
MAX_FLAT_TOP_STEP_SHARE = 0.9


@dataclass(frozen=True)
class Verdict:
    status: str  # "ecg" | "no_trace" | "unlike_ecg"
    reason: str
    digitised: Digitised | None = None

    @property
    def is_ecg(self) -> bool:
        return self.status == "ecg"


def background_share(
    rgb: np.ndarray, tolerance: float = 40.0, *, reading: PixelReading | None = None
) -> float:
    """Share of pixels within ``tolerance`` (max over R, G, B) of the median colour; on ECG
    paper its grid lines count as background too (a dense grid at a few pixels per millimetre
    covers over half the image). ``reading``: ``rgb``'s ``PixelReading`` when the caller has
    it (its every second pixel each way is the same sample)."""
    if reading is None:
        sample = rgb[::2, ::2]
        plain = distance_from(sample, background_colour(rgb)) <= tolerance
        red = red_mask(sample)
    else:
        plain = reading.distance[::2, ::2] <= tolerance
        red = reading.red[::2, ::2]
    if grid_like(red) and grid_scale(red)[0] is not None:  # red lines at a regular spacing
        plain |= red
    return float(np.mean(plain))


def slope_kurtosis(signal: np.ndarray) -> float:
    """Kurtosis (not excess) of the first difference: how concentrated the slope is."""
    d = np.diff(np.asarray(signal, dtype=np.float64))
    d = d - d.mean()
    var = float(np.mean(d**2))
    return float(np.mean(d**4) / var**2) if var > 0 else 0.0


def peak_share(signal: np.ndarray) -> float:
    """Share of samples beyond half the largest deflection from the median: how brief the
    large deflections are."""
    d = np.abs(np.asarray(signal, dtype=np.float64) - np.median(signal))
    return float(np.mean(d > 0.5 * d.max())) if d.max() > 0 else 1.0


def top_step_share(signal: np.ndarray) -> float:
    """Share of the total movement made by the largest tenth of the steps."""
    d = np.sort(np.abs(np.diff(np.asarray(signal, dtype=np.float64))))[::-1]
    return float(d[: max(1, d.size // 10)].sum() / d.sum()) if d.sum() > 0 else 0.0


def near_baseline_share(signal: np.ndarray) -> float:
    """Share of samples within a tenth of the range from the median."""
    x = np.asarray(signal, dtype=np.float64)
    return float(np.mean(np.abs(x - np.median(x)) < 0.1 * np.ptp(x))) if np.ptp(x) > 0 else 1.0


def trace_span(digitised: Digitised, width_px: int) -> float:
    """Share of the image's width the followed trace crosses."""
    x = np.asarray(digitised.trace_x, dtype=np.float64)
    return float((x.max() - x.min() + 1) / width_px) if x.size and width_px > 0 else 0.0


def flat_step_share(trace_y: np.ndarray) -> float:
    """Share of the trace's column-to-column steps under half a pixel: level lines."""
    d = np.abs(np.diff(np.asarray(trace_y, dtype=np.float64)))
    return float(np.mean(d < 0.5)) if d.size else 1.0


def unlike_ecg_drawing(digitised: Digitised, width_px: int) -> str | None:
    """Why the followed line is not drawn as an ECG is (not the subject of the image, or boxes
    and edges), or None when it could be."""
    if digitised.scale_source != "grid":
        span = trace_span(digitised, width_px)
        if span < MIN_TRACE_SPAN:
            return (
                f"the line found crosses only {span:.0%} of the image's width; crop the image "
                "to the ECG"
            )
        if digitised.coverage < MIN_SEEN_SHARE:
            return (
                f"a broken line, ink in only {digitised.coverage:.0%} of its columns, as shapes "
                "or text give"
            )
    flat = flat_step_share(digitised.trace_y)
    if flat > MAX_FLAT_STEP_SHARE and top_step_share(digitised.signal) > MAX_FLAT_TOP_STEP_SHARE:
        return f"level lines joined by jumps, like boxes or edges ({flat:.0%} of its steps flat)"
    return None


def unlike_ecg(signal: np.ndarray) -> str | None:
    """Why a clean trace does not look like an ECG, or None when it does."""
    share = peak_share(signal)
    if share > MAX_PEAK_SHARE_ALONE or (
        share > MAX_PEAK_SHARE and slope_kurtosis(signal) < MIN_SLOPE_KURTOSIS
    ):
        return f"no brief sharp deflections: {share:.0%} of it beyond half its largest"
    top, near = top_step_share(signal), near_baseline_share(signal)
    if top < MIN_TOP_STEP_SHARE and near < MIN_NEAR_BASELINE:
        return f"no baseline to return to ({near:.0%} of it near its median) and no sharp strokes"
    return None


def check_ecg_image(image: Image.Image, *, reading: PixelReading | None = None) -> Verdict:
    """Verdict on an uploaded image: ``ecg`` (with the digitised trace), ``no_trace`` or
    ``unlike_ecg``; the reason is a sentence for the user. ``reading``: the image's
    ``PixelReading`` when an earlier step read it (``Layout.reading``), so it is not computed
    again; the verdict is the same either way."""
    if reading is not None and not reading.fits(image):
        reading = None  # a reading of another image (a printout whose row was cut out)
    rgb = _rgb_array(image) if reading is None else reading.rgb
    share = background_share(rgb, reading=reading)
    if share < MIN_BACKGROUND_SHARE:
        return Verdict("no_trace", f"{NO_TRACE}: no plain background ({share:.0%} of the image)")
    try:
        result = digitise(image, reading=reading)
    except DigitiseError as exc:
        return Verdict("no_trace", str(exc))
    if result.quality < MIN_QUALITY:
        return Verdict(
            "no_trace", f"{NO_TRACE}: no continuous line (quality {result.quality:.2f})", result
        )
    if result.clutter > MAX_CLUTTER:
        return Verdict(
            "no_trace",
            f"{NO_TRACE}: the marks are text or boxes, not one line "
            f"({result.clutter:.0%} off the line)",
            result,
        )
    why = unlike_ecg(result.signal)
    if why is None and result.rotation_deg and result.scale_source != "grid":
        # A bare trace turned by its densest rows: a random walk can come out of the turn
        # with sharper steps than it has, so it must look like an ECG as drawn too (a tilted
        # ECG does: its strokes stay sharp, its baseline merely slopes).
        try:
            why = unlike_ecg(digitise(image, undo_tilt=False, reading=reading).signal)
        except DigitiseError:
            why = None
    if why is None:
        why = unlike_ecg_drawing(result, image.size[0])
    if why is not None:
        return Verdict(
            "unlike_ecg", f"a trace was found but it does not look like an ECG ({why})", result
        )
    return Verdict("ecg", "ECG trace found", result)
