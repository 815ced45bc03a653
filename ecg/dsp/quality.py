"""Signal quality per segment: can this stretch of a lead be read at all?

A decision-support tool must never turn noise into a diagnosis, so every lead is cut into
segments (5 s by default) and each segment is scored with the field's standard signal-quality
indices (Li, Clifford & Mark 2008; Clifford et al. 2012; Behar et al. 2013), all vectorised over
segments:

* **flat line**: peak-to-peak amplitude under ``FLAT_MV`` (a lead off, a disconnected
  electrode, a zero-filled gap);
* **clipping**: share of samples sitting at the lead's extreme values (an amplifier or ADC
  saturating; the trace is cut flat at the top or bottom);
* **kSQI**: kurtosis of the band-passed segment. A clean ECG is a few sharp QRS spikes on a quiet
  baseline (kurtosis well above 5); Gaussian noise has 3, muscle noise little more;
* **pSQI**: share of the 5-40 Hz power that lies in 5-15 Hz, where the QRS complex has its
  energy (about 0.5-0.8 on clean ECG); broadband noise spreads its power evenly (about 0.3);
* **basSQI**: share of the 0-40 Hz power above 1 Hz; baseline wander concentrates power
  below 1 Hz;
* **tSQI**: how alike the beats of a segment are: the median correlation of each beat (200 ms
  before to 400 ms after its R peak, band-passed) with the segment's median beat. A patient's
  beats repeat one shape; electrode motion, whose band overlaps the QRS, changes every beat's
  baseline, P and T waves differently, so the correlation drops even where the QRS spikes
  survive (the other indices stay clean-looking at 6 dB there: ``docs/calibration.md``). A lead
  under 360 Hz is scored on a 360 Hz grid, each beat aligned within half an original sample
  (``TEMPLATE_FS``), so rounding R peaks to a coarse grid is not taken for noise;
* **bSQI**: agreement (F1, 150 ms window) of two independent QRS detectors: the analysis's own
  detections and a simple energy detector here (band-pass 5-15 Hz, derivative, squaring,
  150 ms moving integration, adaptive threshold: the Pan-Tompkins recipe). On clean signal they
  find the same beats; in noise they disagree.

A segment is **unreadable** when it is flat, clipped, or when the indices together say noise
(``readable_segments`` documents the rule), unless it is **quiet**: no more than two beats and
nothing outside them but a baseline (asystole, whose pause must not be hidden).
``QualityThresholds`` keeps the thresholds in one place: the literature's starting points,
three of them chosen on DS1 (issue 18).

Long on purpose: the indices share one segmentation and one band-passed copy of the lead, and
the rule that combines them is only readable next to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from ecg.dsp.signal import BAND_HZ, bandpass

SEGMENT_S = 5.0
# Tighter than EC57's 150 ms: in noise both detectors fire every few hundred ms, and a wide
# window lets chance pairs through; on clean ECG the two land within a few tens of ms.
MATCH_WINDOW_S = 0.1


@dataclass(frozen=True)
class QualityThresholds:
    """The decision rule's constants (mV, shares, kurtosis). ``kurtosis_clean``,
    ``agreement_good``, ``agreement_floor``, ``periodic`` and ``template_floor`` were chosen on
    DS1 with the noise stress test's noise (``benchmarks/quality_ds1.py``, docs/calibration.md);
    the rest are the literature's."""

    flat_mv: float = 0.05  # peak-to-peak below this: no ECG in the segment
    clipped_share: float = 0.02  # more of the segment than this at the lead's extremes
    kurtosis_clean: float = 7.0  # kSQI above this: spiky enough to be QRS complexes (was 5)
    in_band_low: float = 0.4  # pSQI below this: power spread like noise
    agreement_good: float = 0.8  # bSQI above this: both detectors see the same beats
    agreement_floor: float = 0.5  # bSQI below this: unreadable whatever the rest says
    # Spectral concentration above this: an organised rhythm (flutter). 0.3 exempted most clean
    # and noisy segments alike (clean ECG's beat harmonics are concentrated too).
    periodic: float = 0.5
    template_floor: float = 0.7  # tSQI below this: the beats do not repeat one shape (0: off)
    # A segment of at most ``quiet_max_beats`` beats whose swing outside them (high-passed) is
    # under this share of the lead's QRS swing is quiet: asystole, not noise (0: off). Fixed
    # before measuring, not tuned (a QRS a quarter of the lead's usual size is still found by
    # the detectors); kept by the DS1 rule of benchmarks/pause_quiet_ds1.py.
    quiet_share: float = 0.25
    # 0: only a segment the pause empties; 2 (at most QUIET_MAX_BEATS): also the segments at its
    # edges (version 2 of that rule, kept by it).
    quiet_max_beats: int = 2


@dataclass(frozen=True)
class SegmentQuality:
    """Per-segment indices of one lead; every array has one entry per segment."""

    fs: float
    starts: np.ndarray  # first sample of each segment
    ends: np.ndarray  # one past the last sample
    peak_to_peak_mv: np.ndarray
    clipped_share: np.ndarray
    kurtosis: np.ndarray
    in_band_ratio: np.ndarray
    baseline_ratio: np.ndarray
    detector_agreement: np.ndarray  # NaN where neither detector found a beat
    concentration: np.ndarray  # share of 1-40 Hz power within 1 Hz of its 1.5-10 Hz peak
    readable: np.ndarray
    reasons: list[str] = field(default_factory=list)  # "" for readable segments
    # tSQI: median correlation of the segment's beats with its median beat (NaN under 3 beats)
    template_correlation: np.ndarray | None = None
    beat_count: np.ndarray | None = None  # the main detector's beats in the segment
    # In a segment with at most QUIET_MAX_BEATS beats: its peak-to-peak outside the beats'
    # windows (BEAT_WINDOW_S) over the lead's median QRS peak-to-peak, both high-passed only
    # (0.5 Hz); NaN in other segments or without 3 beats in the lead
    quiet_ratio: np.ndarray | None = None

    @property
    def readable_share(self) -> float:
        """Share of the lead's duration in readable segments (0-1)."""
        lengths = self.ends - self.starts
        total = lengths.sum()
        return float(lengths[self.readable].sum() / total) if total else 0.0

    def as_rows(self) -> list[dict[str, float | bool | str]]:
        """One plain dict per segment (times in seconds), for storage and the API."""
        return [
            {
                "start_s": round(float(s) / self.fs, 3),
                "end_s": round(float(e) / self.fs, 3),
                "readable": bool(r),
                "reason": reason,
                "kurtosis": _rounded(k),
                "in_band_ratio": _rounded(p),
                "baseline_ratio": _rounded(b),
                "detector_agreement": _rounded(a),
            }
            for s, e, r, reason, k, p, b, a in zip(
                self.starts,
                self.ends,
                self.readable,
                self.reasons,
                self.kurtosis,
                self.in_band_ratio,
                self.baseline_ratio,
                self.detector_agreement,
                strict=True,
            )
        ]


def _rounded(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 3)


def segment_bounds(n_samples: int, fs: float, segment_s: float = SEGMENT_S) -> np.ndarray:
    """``(n, 2)`` start/end samples covering ``n_samples``; a tail shorter than half a segment
    joins the segment before it, so no verdict rests on a second or two of signal."""
    size = max(1, int(round(segment_s * fs)))
    starts = np.arange(0, n_samples, size)
    if starts.size > 1 and n_samples - starts[-1] < size / 2:
        starts = starts[:-1]
    ends = np.append(starts[1:], n_samples)
    return np.stack([starts, ends], axis=1)


def _local_percentile(
    x: np.ndarray, fs: float, q: float = 98.0, block_s: float = 2.0
) -> tuple[np.ndarray, int]:
    """The ``q``-th percentile of each ``block_s`` block, and the block length in samples: an
    adaptive threshold's scale, so a loud stretch does not hide the quiet beats around it and a
    quiet stretch is not searched at noise level."""
    block = max(1, int(block_s * fs))
    n_blocks = int(np.ceil(x.size / block))
    padded = np.pad(x, (0, n_blocks * block - x.size), mode="edge")
    local = np.percentile(padded.reshape(n_blocks, block), q, axis=1)
    return local, block


def energy_detector(x: np.ndarray, fs: float) -> np.ndarray:
    """R-peak candidates of a lead by the Pan-Tompkins recipe (the bSQI's second opinion).

    Deliberately independent of the main detector (XQRS): different band, different feature
    (integrated squared slope), different threshold rule.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < int(fs) or np.ptp(x) == 0:
        return np.empty(0, dtype=np.int64)
    qrs_band = bandpass(x, fs, (5.0, min(15.0, 0.45 * fs)))
    energy = np.gradient(qrs_band) ** 2
    width = max(1, int(round(0.15 * fs)))
    integrated = np.convolve(energy, np.ones(width) / width, mode="same")
    # Adaptive threshold: a share of the local (2 s) 98th percentile.
    local, block = _local_percentile(integrated, fs)
    local = np.maximum(local, 0.1 * np.median(local))
    threshold = 0.3 * np.repeat(local, block)[: integrated.size]
    peaks, _ = sps.find_peaks(integrated, height=threshold, distance=max(1, int(0.25 * fs)))
    # The integration window delays the feature; take the steepest point of the QRS nearby.
    return _to_qrs_extremum(qrs_band, peaks, fs)


def _to_qrs_extremum(x: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    radius = max(1, int(round(0.1 * fs)))
    if peaks.size == 0:
        return peaks.astype(np.int64)
    offsets = np.arange(-radius, radius + 1)
    index = np.clip(peaks[:, None] + offsets[None, :], 0, x.size - 1)
    return index[np.arange(peaks.size), np.abs(x[index]).argmax(axis=1)].astype(np.int64)


def _agreement(a: np.ndarray, b: np.ndarray, bounds: np.ndarray, tolerance: int) -> np.ndarray:
    """Per segment, F1 of matching detections ``a`` and ``b`` within ``tolerance`` samples."""
    a, b = np.sort(np.asarray(a, np.int64)), np.sort(np.asarray(b, np.int64))
    starts, ends = bounds[:, 0], bounds[:, 1]

    def matched_in_segments(x: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Per segment, how many of ``x`` have a partner in ``other`` within ``tolerance``."""
        hit = np.zeros(x.size, dtype=bool)
        if x.size and other.size:
            right = np.clip(np.searchsorted(other, x), 0, other.size - 1)
            left = np.clip(right - 1, 0, other.size - 1)
            hit = np.minimum(np.abs(x - other[left]), np.abs(x - other[right])) <= tolerance
        cum = np.concatenate([[0], np.cumsum(hit)])
        return cum[np.searchsorted(x, ends)] - cum[np.searchsorted(x, starts)]

    n_a = np.searchsorted(a, ends) - np.searchsorted(a, starts)
    n_b = np.searchsorted(b, ends) - np.searchsorted(b, starts)
    # Pairs are counted from both sides and the smaller count kept, so two detections of one
    # detector sharing a partner never count twice (F1 stays within 0-1).
    both = np.minimum(matched_in_segments(a, b), matched_in_segments(b, a))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_a + n_b > 0, 2 * both / (n_a + n_b), np.nan)


def _spectral_indices(segments: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pSQI, basSQI and spectral concentration of each row (Welch, 2 s windows)."""
    nperseg = min(segments.shape[1], int(2 * fs))
    freqs, power = sps.welch(segments, fs=fs, nperseg=nperseg, axis=1)

    def band(lo: float, hi: float) -> np.ndarray:
        return power[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1)

    rhythm_band = (freqs >= 1.5) & (freqs <= 10.0)
    peak_hz = freqs[rhythm_band][power[:, rhythm_band].argmax(axis=1)]
    near_peak = np.abs(freqs[None, :] - peak_hz[:, None]) <= 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        in_band = band(5.0, 15.0) / band(5.0, 40.0)
        baseline = 1.0 - band(0.0, 1.0) / band(0.0, 40.0)
        concentration = (power * near_peak).sum(axis=1) / band(1.0, 40.0)
    return in_band, baseline, concentration


TEMPLATE_WINDOW_S = (0.2, 0.4)  # tSQI's beat window: before and after the R peak
TEMPLATE_MIN_BEATS = 3  # fewer beats in a segment: no median beat to compare with (NaN)
# tSQI's alignment rate. Below it an R peak is only known to the nearest sample (10 ms at
# 100 Hz), and a sharp QRS shifted by half a sample no longer matches its template: at 100 Hz
# the tSQI of clean DS1 beats fell by up to 0.2 (benchmarks/quality_rates.py). Slower leads are
# scored at this rate, each beat aligned within half an original sample.
TEMPLATE_FS = 360.0


def template_correlation(
    filtered: np.ndarray, fs: float, peaks: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    """tSQI per segment: the median correlation of its beats with the segment's median beat
    (``filtered``: the band-passed lead; NaN where fewer than TEMPLATE_MIN_BEATS fit). A lead
    under TEMPLATE_FS is upsampled to it first and each beat may shift by up to half an original
    sample to meet the median beat (the R peak's rounding to the sample grid); at TEMPLATE_FS
    and above nothing changes."""
    lag = 0
    peaks = np.sort(np.asarray(peaks, np.int64))
    if fs < TEMPLATE_FS and float(fs).is_integer():  # (a fractional rate: scored as it is)
        filtered = sps.resample_poly(filtered, int(TEMPLATE_FS), int(fs))
        peaks = np.round(peaks * TEMPLATE_FS / fs).astype(np.int64)
        bounds = np.round(np.asarray(bounds) * TEMPLATE_FS / fs).astype(np.int64)
        lag = int(np.ceil(0.5 * TEMPLATE_FS / fs))
        fs = TEMPLATE_FS
    before, after = (int(round(s * fs)) for s in TEMPLATE_WINDOW_S)
    peaks = peaks[(peaks >= before + lag) & (peaks + after + lag < filtered.size)]
    out = np.full(len(bounds), np.nan)
    if peaks.size < TEMPLATE_MIN_BEATS:
        return out
    shifts = np.arange(-lag, lag + 1)
    # (beats, shifts, samples): every beat's window at every allowed shift (one shift, 0, at
    # TEMPLATE_FS and above)
    offsets = shifts[None, :, None] + np.arange(-before, after + 1)[None, None, :]
    windows = filtered[peaks[:, None, None] + offsets]
    windows = windows - windows.mean(axis=2, keepdims=True)
    segment = np.searchsorted(bounds[:, 1], peaks, side="right")
    for index in np.unique(segment[segment < len(bounds)]):
        rows = windows[segment == index]
        if len(rows) < TEMPLATE_MIN_BEATS:
            continue
        correlation = _correlations(rows, np.median(rows[:, lag], axis=0))
        if lag:  # once more, against the median of the beats as aligned
            aligned = rows[np.arange(len(rows)), correlation.argmax(axis=1)]
            correlation = _correlations(rows, np.median(aligned, axis=0))
        out[index] = float(np.median(correlation.max(axis=1)))
    return out


def _correlations(rows: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(beats, shifts) correlation of each mean-removed window with ``template``."""
    template = template - template.mean()
    norms = np.linalg.norm(rows, axis=2) * np.linalg.norm(template)
    return (rows @ template) / np.maximum(norms, 1e-12)


def readable_segments(
    *,
    peak_to_peak_mv: np.ndarray,
    clipped_share: np.ndarray,
    kurtosis: np.ndarray,
    in_band_ratio: np.ndarray,
    detector_agreement: np.ndarray,
    concentration: np.ndarray,
    template_correlation: np.ndarray | None = None,
    beat_count: np.ndarray | None = None,
    quiet_ratio: np.ndarray | None = None,
    thresholds: QualityThresholds = QualityThresholds(),
) -> tuple[np.ndarray, list[str]]:
    """The decision rule: each segment readable or not, and why not.

    In order: flat (no signal); clipped (the amplifier saturated); broadband noise (pSQI <
    low: the power is spread evenly over 5-40 Hz, as no ECG's is). A segment whose power is
    concentrated at one rhythm frequency (concentration >= periodic: flutter waves) is kept
    readable from here on, since flutter has low kurtosis and confuses QRS detectors and the
    most dangerous rhythm must never be hidden. Others: detectors disagree badly (bSQI <
    floor), or disagree (bSQI < good) on a segment that is not spiky like QRS complexes
    (kSQI < clean), or the beats do not repeat one shape (tSQI < template_floor; a segment
    with too few beats for a tSQI is left to the other indices).

    Before all of those but after flat and clipped: a **quiet** segment (at most
    ``quiet_max_beats`` beats of the main detector, ``beat_count``, and outside them a swing
    under ``quiet_share`` of the lead's QRS swing, both high-passed only, ``quiet_ratio``) is
    readable. It is what asystole looks like, and calling it noise would hide the pause
    around it; noise loud enough to hide a QRS is not quiet.
    """
    t = thresholds
    agreement = np.nan_to_num(detector_agreement, nan=0.0)
    flat = peak_to_peak_mv < t.flat_mv
    clipped = ~flat & (clipped_share > t.clipped_share)
    usable = ~flat & ~clipped
    if t.quiet_share > 0 and beat_count is not None and quiet_ratio is not None:
        quiet = (np.asarray(beat_count) <= t.quiet_max_beats) & (
            np.nan_to_num(quiet_ratio, nan=np.inf) < t.quiet_share
        )
        usable = usable & ~quiet
    broadband = usable & (np.nan_to_num(in_band_ratio) < t.in_band_low)
    organised = np.nan_to_num(concentration) >= t.periodic
    disagree = usable & ~broadband & ~organised & (agreement < t.agreement_floor)
    noisy = (
        usable
        & ~broadband
        & ~disagree
        & ~organised
        & (agreement < t.agreement_good)
        & (np.nan_to_num(kurtosis) < t.kurtosis_clean)
    )
    if template_correlation is not None and t.template_floor > 0:
        tsqi = np.asarray(template_correlation, dtype=np.float64)
        noisy |= (
            usable
            & ~broadband
            & ~disagree
            & ~organised
            & np.isfinite(tsqi)
            & (np.nan_to_num(tsqi, nan=1.0) < t.template_floor)
        )
    reasons = np.full(flat.shape, "", dtype=object)
    reasons[flat] = "flat line (no signal)"
    reasons[clipped] = "clipped (amplifier saturated)"
    reasons[broadband | noisy] = "noise"
    reasons[disagree] = "no consistent heartbeats (noise or artefact)"
    return ~(flat | clipped | broadband | disagree | noisy), [str(r) for r in reasons]


def signal_quality(
    x: np.ndarray,
    fs: float,
    *,
    peaks: np.ndarray | None = None,
    segment_s: float = SEGMENT_S,
    thresholds: QualityThresholds = QualityThresholds(),
) -> SegmentQuality:
    """Score every segment of a raw lead ``x`` (mV at ``fs``).

    ``peaks`` are the main detector's R peaks (samples); without them the bSQI compares the
    energy detector with itself on a shifted band, which is weaker, so pass them when you have
    them.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("an empty lead has no quality")
    bounds = segment_bounds(x.size, fs, segment_s)
    size = int(bounds[0, 1] - bounds[0, 0])
    filtered = bandpass(x, fs) if x.size > 3 * fs else x - np.median(x)
    # Equal-length rows for the vectorised indices: the last segment is scored on the lead's
    # last ``size`` samples. A longer last segment (a short tail joined to it) holds them in
    # full; a shorter one (a tail of half a segment or more) borrows the rest from the segment
    # before it (before, its shorter row made np.stack fail on ~half of all lead lengths).
    rows = np.stack([filtered[max(0, e - size) : e] for _s, e in bounds])
    raw_rows = np.stack([x[max(0, e - size) : e] for _s, e in bounds])
    peak_to_peak = np.ptp(raw_rows, axis=1)
    lo, hi = float(x.min()), float(x.max())
    tol = 1e-4 * max(hi - lo, 1e-9)
    at_extreme = (x <= lo + tol) | (x >= hi - tol)
    cum = np.concatenate([[0], np.cumsum(at_extreme)])
    clipped = (cum[bounds[:, 1]] - cum[bounds[:, 0]]) / (bounds[:, 1] - bounds[:, 0])
    kurt = _kurtosis(rows)
    in_band, baseline, concentration = _spectral_indices(
        raw_rows - raw_rows.mean(axis=1, keepdims=True), fs
    )
    second = energy_detector(x, fs)
    first = np.asarray(peaks, np.int64) if peaks is not None else _shifted_band_detector(x, fs)
    agreement = _agreement(first, second, bounds, int(round(MATCH_WINDOW_S * fs)))
    tsqi = template_correlation(filtered, fs, first, bounds)
    sorted_first = np.sort(first)
    beat_count = np.searchsorted(sorted_first, bounds[:, 1]) - np.searchsorted(
        sorted_first, bounds[:, 0]
    )
    quiet_ratio = _quiet_ratio(x, fs, sorted_first, bounds, beat_count)
    readable, reasons = readable_segments(
        peak_to_peak_mv=peak_to_peak,
        clipped_share=clipped,
        kurtosis=kurt,
        in_band_ratio=in_band,
        detector_agreement=agreement,
        concentration=concentration,
        template_correlation=tsqi,
        beat_count=beat_count,
        quiet_ratio=quiet_ratio,
        thresholds=thresholds,
    )
    return SegmentQuality(
        fs=float(fs),
        starts=bounds[:, 0],
        ends=bounds[:, 1],
        peak_to_peak_mv=peak_to_peak,
        clipped_share=clipped,
        kurtosis=kurt,
        in_band_ratio=in_band,
        baseline_ratio=baseline,
        detector_agreement=agreement,
        concentration=concentration,
        readable=readable,
        reasons=reasons,
        template_correlation=tsqi,
        beat_count=beat_count,
        quiet_ratio=quiet_ratio,
    )


def _kurtosis(rows: np.ndarray) -> np.ndarray:
    """Pearson's kurtosis of each row (``scipy.stats.kurtosis(fisher=False, bias=True)``);
    NaN for a constant row. Written out because scipy warns of precision loss on near-constant
    rows, which the flat-line rule has already judged."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    m2 = np.mean(centred**2, axis=1)
    m4 = np.mean(centred**4, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kurt = m4 / m2**2
    return np.where(np.ptp(rows, axis=1) > 0, kurt, np.nan)


QUIET_MAX_BEATS = 2  # the most beats a segment may hold for its quiet ratio to be measured
BEAT_WINDOW_S = (0.25, 0.45)  # a beat's P wave to T wave around its R peak: left out of it


def _quiet_ratio(
    x: np.ndarray, fs: float, peaks: np.ndarray, bounds: np.ndarray, beat_count: np.ndarray
) -> np.ndarray:
    """``SegmentQuality.quiet_ratio``: per segment with at most QUIET_MAX_BEATS beats, the
    swing of the lead outside the beats' windows over the lead's QRS swing (NaN elsewhere, and
    where less than a second is left). Measured without the 40 Hz low-pass: mains hum or muscle
    noise on a lead that came off is not quiet, whatever is left of it in the QRS band."""
    out = np.full(len(bounds), np.nan)
    sparse = np.flatnonzero(beat_count <= QUIET_MAX_BEATS)
    if not sparse.size:
        return out
    wide = bandpass(x, fs, (BAND_HZ[0], 0.45 * fs)) if x.size > 3 * fs else x - np.median(x)
    swing = qrs_swing(wide, fs, peaks)
    before, after = (int(round(w * fs)) for w in BEAT_WINDOW_S)
    for i in sparse.tolist():  # few: pauses, flat or empty stretches
        start, end = int(bounds[i, 0]), int(bounds[i, 1])
        keep = np.ones(end - start, dtype=bool)
        near = peaks[(peaks >= start - after) & (peaks < end + before)]
        for peak in near.tolist():
            keep[max(0, peak - before - start) : max(0, peak + after - start)] = False
        if keep.sum() >= fs:
            out[i] = np.ptp(wide[start:end][keep]) / swing
    return out


def qrs_swing(filtered: np.ndarray, fs: float, peaks: np.ndarray) -> float:
    """The lead's typical QRS size: the median peak-to-peak of the ``filtered`` lead within
    60 ms of each detected beat (NaN under 3 beats), the yardstick of a quiet segment."""
    peaks = np.asarray(peaks, np.int64)
    peaks = peaks[(peaks >= 0) & (peaks < filtered.size)]
    if peaks.size < 3:
        return float("nan")
    radius = max(1, int(round(0.06 * fs)))
    index = np.clip(peaks[:, None] + np.arange(-radius, radius + 1)[None, :], 0, filtered.size - 1)
    swing = float(np.median(np.ptp(filtered[index], axis=1)))
    return swing if swing > 0 else float("nan")


def _shifted_band_detector(x: np.ndarray, fs: float) -> np.ndarray:
    """A stand-in first opinion when no main detections are given: local maxima of the
    absolute 0.5-40 Hz signal over 250 ms, above half its 98th percentile per 2 s block."""
    clean = np.abs(bandpass(x, fs)) if x.size > 3 * fs else np.abs(x - np.median(x))
    local, block = _local_percentile(clean, fs)
    local = np.repeat(local, block)
    peaks, _ = sps.find_peaks(clean, height=0.5 * local[: clean.size], distance=int(0.25 * fs))
    return peaks.astype(np.int64)


def beat_segment_reasons(quality: SegmentQuality, peaks: np.ndarray) -> list[str]:
    """For each beat at ``peaks``, its segment's reason ("" where the segment is readable)."""
    if not quality.reasons or not len(peaks):
        return [""] * len(peaks)
    peaks = np.asarray(peaks, np.int64)
    segment = np.clip(
        np.searchsorted(quality.ends, peaks, side="right"), 0, len(quality.reasons) - 1
    )
    return [quality.reasons[i] for i in segment]


def beats_readable(quality: SegmentQuality, peaks: np.ndarray) -> np.ndarray:
    """For each beat at ``peaks`` (samples at ``quality.fs``), whether its segment is readable."""
    peaks = np.asarray(peaks, np.int64)
    segment = np.clip(np.searchsorted(quality.ends, peaks, side="right"), 0, quality.ends.size - 1)
    return quality.readable[segment]
