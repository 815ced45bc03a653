"""Is an ECG paper grid's scale plausible for the trace drawn on it? (issue 19)

The digitiser reads millimetres from the grid's line spacing. When the 1 mm lines are lost (a
blurred or small photo, JPEG) and the 5 mm lines' fold happens to show a heavier line, the
5 mm lines are taken for 1 mm ones: the strip is read five times too short and too small (a
10-s strip at 72 a minute as 2 s at 360). The trace says otherwise: no QRS complex is that
narrow. Measured on the true MLII signals of 440 random 10-s strips of DS1 (20 a record), the
median half-height width of a strip's largest deflections lay between 18.4 and 84 ms, its
peaks came 6-162 a minute; read five times too fine, the widths are 3.7-16.8 ms. So a
scale that makes a strip's complexes narrower than ``MIN_QRS_HALF_WIDTH_S`` and faster than
any heart is taken five times coarser, when that is plausible. Wide complexes
read too fine (over 12 ms even then) are not caught; a scale read too coarse is
``digitise._grid_period_checked``'s rate test.

Pure functions on the followed trace (pixels, up positive) and the time scale a grid reading
gives it (pixels per second: 25 mm/s times the pixels per millimetre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks, peak_widths

# Narrower than this (s, half-height width of the largest deflections, median) is no QRS: the
# narrowest DS1 strip's 18.4 ms less a third, for the trace's own pixels and a thin line.
MIN_QRS_HALF_WIDTH_S = 0.012
# ... and, in a strip, come faster than this (a minute): five times too fine, 95 % of the DS1
# strips' peaks would (48 a minute and more). The rate guards a strip at its true scale whose
# largest deflections are narrow spikes (a pacemaker's), which come as often as the beats.
MAX_PEAK_RATE_BPM = 200.0
PEAK_SHARE = 0.5  # the largest deflections: over half the largest
# Peaks closer than this (s, at the scale tested) count once: a complex's R and S waves. Short,
# so that a rate five times too fast is not capped by it.
MIN_PEAK_SPACING_S = 0.04
FACTOR = 5.0  # the 5 mm lines taken for 1 mm ones
# Only a strip is checked (so many large deflections at least): on blurred photos of single
# beats the check read 1-4 of 44 at a wrong scale and fixed none (benchmarks/results/
# digitise_photo_blur_v1.json), and a beat's rate says nothing.
MIN_PEAKS = 3


@dataclass(frozen=True)
class TraceTiming:
    """The largest deflections of a trace at one time scale."""

    half_width_s: float  # median half-height width
    peaks: int
    rate_bpm: float  # peaks a minute over the trace's span


def trace_timing(up: np.ndarray, fs: float) -> TraceTiming | None:
    """The largest deflections (either polarity, over ``PEAK_SHARE`` of the largest) of a
    trace sampled at ``fs`` (pixels per second at the scale tested); None for a flat one."""
    x = np.asarray(up, dtype=np.float64)
    size = np.abs(x - np.median(x))
    if size.size < 3 or size.max() <= 0 or fs <= 0:
        return None
    spacing = max(1, int(round(MIN_PEAK_SPACING_S * fs)))
    peaks, _ = find_peaks(size, height=PEAK_SHARE * size.max(), distance=spacing)
    if peaks.size == 0:
        return None
    widths = peak_widths(size, peaks, rel_height=0.5)[0] / fs
    return TraceTiming(
        half_width_s=float(np.median(widths)),
        peaks=int(peaks.size),
        rate_bpm=float(peaks.size / (size.size / fs) * 60.0),
    )


def reads_five_times_too_fine(up: np.ndarray, fs: float) -> TraceTiming | None:
    """The trace's timing at ``fs`` (px/s) when that scale makes a strip's complexes narrower
    than any QRS and faster than any heart while a scale five times coarser does not: the
    grid's 5 mm lines were read as the 1 mm ones. None when the scale is plausible, the coarser
    one is not either, or the trace has under ``MIN_PEAKS`` large deflections (a single beat,
    whose blurred trace followed as a thin spike looked as narrow: BLUR_RULE v1)."""
    read = trace_timing(up, fs)
    if read is None or read.half_width_s >= MIN_QRS_HALF_WIDTH_S:
        return None
    if read.peaks < MIN_PEAKS or read.rate_bpm <= MAX_PEAK_RATE_BPM:
        return None
    coarser = trace_timing(up, fs / FACTOR)
    if coarser is None or coarser.half_width_s < MIN_QRS_HALF_WIDTH_S:
        return None
    return read
