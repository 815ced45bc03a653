"""Record-level RR irregularity features for AF, for short series (a 10-second ECG: 8-20 RR
intervals) and the study that set the AF detector's threshold (issue 20, point 3).

Each takes RR intervals in seconds and ``skip`` (intervals left out: ectopy) and returns one
number per series (NaN when too few intervals are left):

* ``lag_irregularity``: the app's AF statistic (``ecg.features.episodes``) over the whole
  series: the median of each interval's smallest absolute difference from the ``lags``
  intervals before it, over the median RR. A repeating pattern (bigeminy, trigeminy) stays near
  0; AF, irregular at every lag, does not;
* ``normalised_rmssd``: root mean square of successive differences over the mean RR (pairs
  touching a skipped interval left out);
* ``coefficient_of_sample_entropy``: COSEn (Lake & Moorman 2011): sample entropy (m = 1) of the
  RR series with tolerance ``r``, plus ln(2r), minus ln(mean RR in seconds); the tolerance grows
  in 10 ms steps until at least ``min_matches`` template matches of length m + 1 are found, as
  their method does for short series;
* ``turning_point_ratio``: the share of interior intervals that are a local maximum or minimum
  (2/3 for a random series, lower for a smooth rhythm).

Vectorised NumPy; the pairwise matrices of COSEn are n x n, meant for short series only.
``windowed_cosen`` applies COSEn over the AF detector's sliding windows of a long recording
(``ecg.features.episodes``), every ``COSEN_STEP`` windows.

``windowed_p_wave`` is the one feature here that reads the signal, not the RR intervals: over
the same windows, how consistently a P wave precedes the beats (the averaged pre-QRS segment's
energy over the segments' mean energy; sampling rate explicit). AF has no P wave, so it tells
AF whose RR intervals are only mildly irregular from irregular rhythms with P waves (frequent
ectopy, sinus arrhythmia). Measured on 100,000 synthetic beats at load 3.5 on 2 shared cores:
0.7-1.2 s, no measurable rise in peak memory (the band-pass runs on 10-minute chunks).
"""

from __future__ import annotations

import functools

import numpy as np

MIN_INTERVALS = 5  # a statistic over fewer defined values is NaN


def _masked(rr: np.ndarray, skip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    rr = np.asarray(rr, np.float64)
    keep = np.ones(rr.size, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    return rr, keep & np.isfinite(rr)


def lag_irregularity(rr: np.ndarray, skip: np.ndarray | None = None, *, lags: int = 3) -> float:
    """Median over intervals of min_k |RR_i - RR_{i-k}| (k = 1..``lags``) over the median RR;
    skipped intervals have no difference but still serve as the earlier interval, as in the
    app's windowed statistic."""
    rr, keep = _masked(rr, skip)
    if rr.size < 2:
        return float("nan")
    diff = np.full(rr.size, np.inf)
    for lag in range(1, min(lags, rr.size - 1) + 1):
        diff[lag:] = np.minimum(diff[lag:], np.abs(rr[lag:] - rr[:-lag]))
    values = diff[1:][keep[1:]]
    if values.size < MIN_INTERVALS:
        return float("nan")
    return float(np.median(values) / np.median(rr[keep]))


def normalised_rmssd(rr: np.ndarray, skip: np.ndarray | None = None) -> float:
    """RMSSD over the mean RR, over successive pairs of kept intervals."""
    rr, keep = _masked(rr, skip)
    pairs = keep[1:] & keep[:-1]
    if pairs.sum() < MIN_INTERVALS:
        return float("nan")
    d = np.diff(rr)[pairs]
    return float(np.sqrt(np.mean(d**2)) / np.mean(rr[keep]))


def turning_point_ratio(rr: np.ndarray, skip: np.ndarray | None = None) -> float:
    """Share of interior kept intervals (neighbours kept too) above or below both neighbours."""
    rr, keep = _masked(rr, skip)
    if rr.size < 3:
        return float("nan")
    inner = keep[1:-1] & keep[2:] & keep[:-2]
    if inner.sum() < MIN_INTERVALS:
        return float("nan")
    a, b, c = rr[:-2], rr[1:-1], rr[2:]
    turning = ((b > a) & (b > c)) | ((b < a) & (b < c))
    return float(turning[inner].mean())


@functools.lru_cache(maxsize=8)
def _upper(n: int) -> np.ndarray:
    """The i < j mask of an n x n matrix, kept: building it was a third of a 90-interval
    window's COSEn, and the windowed detector asks for the same size every time."""
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    mask.flags.writeable = False
    return mask


def coefficient_of_sample_entropy(
    rr: np.ndarray,
    skip: np.ndarray | None = None,
    *,
    r: float = 0.03,
    min_matches: int = 5,
    r_step: float = 0.01,
    r_max: float = 0.2,
) -> float:
    """COSEn: SampEn(m=1, r) + ln(2r) - ln(mean RR), skipped intervals removed from the series;
    r (s) grows by ``r_step`` until ``min_matches`` length-2 matches are found (NaN if none by
    ``r_max``)."""
    rr, keep = _masked(rr, skip)
    x = rr[keep]
    if x.size < MIN_INTERVALS + 1:
        return float("nan")
    # Templates of length 1 (the first n - 1 points, so both counts use the same templates)
    # and of length 2; pairs i < j only.
    d1 = np.abs(x[:-1, None] - x[None, :-1])
    d2 = np.maximum(d1, np.abs(x[1:, None] - x[None, 1:]))
    upper = _upper(d1.shape[0])
    a1, a2 = d1[upper], d2[upper]
    tol = r
    while tol <= r_max + 1e-12:
        matches_2 = int(np.sum(a2 <= tol))
        if matches_2 >= min_matches:
            matches_1 = int(np.sum(a1 <= tol))
            sampen = -np.log(matches_2 / matches_1)
            return float(sampen + np.log(2 * tol) - np.log(np.mean(x)))
        tol += r_step
    return float("nan")


# COSEn over every 5th window, each interval taking the nearest one's value: about 70 us a
# window (idle core), so a 24-hour recording (100,000 windows) costs an estimated 1.4 s instead
# of 7 s; the windows overlap by 85 of 90 intervals, so the next one moves little. Measured on
# 100,000 synthetic beats at load 8 on 2 cores: af_episodes 3.7-4.2 s, 1.5-1.9 s without COSEn.
COSEN_STEP = 5


def windowed_cosen(
    rr: np.ndarray, skip: np.ndarray | None, *, width: int, min_share: float
) -> np.ndarray:
    """Per RR interval of one unbroken stretch, ``coefficient_of_sample_entropy`` over the
    ``width`` intervals centred on it (skipped intervals removed, as the AF statistic leaves
    them out), computed every ``COSEN_STEP`` windows; NaN where the stretch is shorter than
    ``width`` or a window keeps fewer than ``min_share`` of its intervals (as
    ``episodes.rr_irregularity``)."""
    rr = np.asarray(rr, np.float64)
    n = rr.size
    if n < width:
        return np.full(n, np.nan)
    keep = np.ones(n, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    starts = np.arange(0, n - width + 1, COSEN_STEP)
    if starts[-1] != n - width:
        starts = np.append(starts, n - width)  # the last window too, so the tail is its own
    values = np.full(starts.size, np.nan)
    for k, a in enumerate(starts.tolist()):
        kept = keep[a : a + width]
        if kept.sum() >= min_share * width:
            values[k] = coefficient_of_sample_entropy(rr[a : a + width], ~kept)
    # Interval i is the centre of window i - width // 2; each takes the nearest computed one.
    window = np.clip(np.arange(n) - width // 2, 0, n - width)
    nearest = np.clip(np.searchsorted(starts, window), 0, starts.size - 1)
    before = np.clip(nearest - 1, 0, starts.size - 1)
    closer = np.abs(starts[before] - window) < np.abs(starts[nearest] - window)
    return values[np.where(closer, before, nearest)]


def ectopic_skip(rr: np.ndarray, ventricular: np.ndarray | None = None) -> np.ndarray:
    """Intervals the app leaves out of its AF statistic in one unbroken stretch: around a
    classified V (``ventricular``, one per beat, len(rr) + 1: the intervals into and out of it,
    exactly as ``episodes._af_scores`` does) and around an isolated premature beat found from
    the RR intervals (``ecg.features.episodes.isolated_premature``: it and the two after it)."""
    # Imported here: ecg.features.episodes imports this module for its COSEn window statistic.
    from ecg.features.episodes import premature_skip, ventricular_skip

    rr = np.asarray(rr, np.float64)
    skip = np.zeros(rr.size, dtype=bool)
    if ventricular is not None and rr.size:
        skip = ventricular_skip(ventricular)
    return premature_skip(rr, skip)


# -- atrial activity: a second, RR-independent AF feature (issue 20) ----------------------------

# The pre-QRS segment, before each R peak: where a sinus P wave lies (PR interval 120-200 ms,
# P wave about 100 ms), short of the QRS onset (about 50 ms before R).
P_SEGMENT_S = (0.30, 0.08)
P_BAND_HZ = (1.0, 15.0)  # the P wave's band; removes baseline wander and QRS / muscle HF
P_MIN_RR_S = 0.36  # a shorter interval puts the previous beat's QRS / T into the segment
P_MIN_BEATS = 20  # beats a window needs for its consistency (else NaN)
P_CHUNK_S, P_MARGIN_S = 600.0, 20.0  # the band-pass runs on 10-minute chunks, 20 s each side


def pre_qrs_segments(
    signal: np.ndarray, peaks: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per beat, its pre-QRS segment (``P_SEGMENT_S`` before the R peak) of the signal
    band-passed to ``P_BAND_HZ`` (zero phase), each segment's linear trend removed; and whether
    the segment lies inside the signal. Shape (beats, samples)."""
    from scipy.signal import butter, sosfiltfilt

    signal = np.asarray(signal)  # no copy: a chunk at a time is converted below
    peaks = np.asarray(peaks, np.int64)
    first, last = int(round(P_SEGMENT_S[0] * fs)), int(round(P_SEGMENT_S[1] * fs))
    size = signal.size
    segments = np.zeros((peaks.size, max(first - last, 1)))
    inside = (peaks - first >= 0) & (peaks - last < size)
    if size < 64 or peaks.size == 0:
        return segments, np.zeros(peaks.size, dtype=bool)
    high = min(P_BAND_HZ[1], 0.45 * fs)
    sos = butter(2, (P_BAND_HZ[0], high), btype="band", fs=fs, output="sos")
    # Filtered a chunk at a time, with a margin the filter forgets (its impulse response dies
    # out within about 3 s): filtering a 24-hour signal at once held about 0.7 GB.
    chunk, margin = int(P_CHUNK_S * fs), int(P_MARGIN_S * fs)
    offsets = np.arange(-first, -last)
    for lo in range(0, size, chunk):
        hi = min(size, lo + chunk)
        here = np.flatnonzero((peaks >= lo) & (peaks < hi))
        if not here.size:
            continue
        a, b = max(0, lo - margin), min(size, hi + margin)
        # A missing sample (NaN) would spread through the filter and every later prefix sum.
        x = np.nan_to_num(np.asarray(signal[a:b], np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        x = sosfiltfilt(sos, x) if x.size > 15 else x - x.mean()
        index = np.clip(peaks[here, None] + offsets[None, :], a, b - 1) - a
        segments[here] = x[index]
    # Each segment's least-squares line removed, not only its mean: the band-pass turns every
    # QRS into a slow undershoot locked to the beat (as baseline wander between T and QRS is),
    # which would average up like a P wave in any rhythm.
    ramp = np.linspace(-1.0, 1.0, segments.shape[1])
    slope = segments @ ramp / (ramp @ ramp)
    segments -= segments.mean(axis=1, keepdims=True) + slope[:, None] * ramp[None, :]
    return segments, inside


def windowed_p_wave(
    signal: np.ndarray,
    peaks: np.ndarray,
    fs: float,
    keep: np.ndarray | None = None,
    *,
    width: int,
) -> np.ndarray:
    """Per RR interval, the P-wave consistency of the ``width`` intervals centred on it (the
    same windows as ``windowed_cosen``): the energy of the averaged pre-QRS segment
    (``pre_qrs_segments``) over the mean energy of the segments, over the beats that end a kept
    interval (``keep``, one per interval: ectopy and unusable intervals out) at least
    ``P_MIN_RR_S`` long. A P wave that precedes every beat alike averages up (near 1 when the
    noise is small); f-waves and noise, unrelated to the next R, average out (about 1 / beats).
    NaN where a window has fewer than ``P_MIN_BEATS`` such beats or the recording fewer than
    ``width`` intervals. Every window is exact: cumulative sums over beats, no loop."""
    peaks = np.asarray(peaks, np.int64)
    n = max(peaks.size - 1, 0)
    if n < width:
        return np.full(n, np.nan)
    segments, inside = pre_qrs_segments(signal, peaks, fs)
    rr = np.diff(peaks) / fs
    use = (rr >= P_MIN_RR_S) & inside[1:]  # interval i's P wave precedes beat i + 1
    if keep is not None:
        use &= np.asarray(keep, dtype=bool)
    # Row 0 of segments becomes the zero row of the prefix sums (beat 0 ends no interval).
    total = segments
    total[0] = 0.0
    total[1:][~use] = 0.0
    energy = np.concatenate([[0.0], np.cumsum(np.sum(total[1:] ** 2, axis=1))])
    np.cumsum(total, axis=0, out=total)
    count = np.concatenate([[0], np.cumsum(use)])
    starts = np.arange(n - width + 1)
    ends = starts + width
    k = np.maximum(count[ends] - count[starts], 1).astype(np.float64)
    power = np.empty(starts.size)
    for a in range(0, starts.size, 8192):  # in blocks: a (windows x samples) array at once is big
        s, e = starts[a : a + 8192], ends[a : a + 8192]
        mean = (total[e] - total[s]) / k[a : a + 8192, None]
        power[a : a + 8192] = np.sum(mean**2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = power / ((energy[ends] - energy[starts]) / k)
    k = count[ends] - count[starts]
    values[(k < P_MIN_BEATS) | ~np.isfinite(values)] = np.nan
    window = np.clip(np.arange(n) - width // 2, 0, n - width)
    return values[window]
