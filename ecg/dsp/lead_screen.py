"""Screening the second lead before lead fusion: may this segment of V1 vote on a beat's class?

Issue 18. Lead fusion (``ecg.features.lead_fusion``) averages each beat's probabilities on the
primary lead with those on a second lead. Only the primary lead's quality decides whether a beat
is readable at all (``ecg.dsp.quality.readable_segments``), and that rule is tuned on MLII: on
clean V1 of MIT-BIH it judges a large share of segments unreadable (its kurtosis and template
indices expect MLII's tall, sharp, repeating R waves; ``benchmarks/second_lead_screen.py``
reports each index's rejection on clean V1). So it cannot be reused on the second lead, and
without any check a flat, clipped or noise-swamped second lead was averaged into every beat.

The screen keeps the lead-agnostic parts of the quality index, computed on the second lead by
the same ``signal_quality`` (same 5 s segments as the primary lead):

* **flat line**: peak-to-peak under ``flat_mv`` (electrode off, lead disconnected);
* **clipping**: share of samples at the lead's extremes over ``clipped_share``;
* **broadband noise**: pSQI (share of the 5-40 Hz power in 5-15 Hz) under ``in_band_low``;
  muscle noise spreads its power above the QRS band, whatever the lead's morphology;
* **QRS-to-noise ratio**: per segment, the NST's signal power (median QRS peak-to-peak at the
  analysis's beats, squared, over 8: ``ecg.training.noise_stress.qrs_signal_power``) over the
  5-25 Hz power of the lead away from the QRS complexes (P and T waves mostly lie below
  5 Hz), in dB, under ``snr_floor_db``.
  A ratio, so a small V1 QRS and a tall MLII one score alike; electrode motion, which the
  spectral indices miss (its band is the QRS's), raises the power between beats;
* **tSQI** (``template_floor``): the beats' median correlation with the segment's median beat,
  at a floor lower than the primary lead's (0.5, not 0.7);
* **detector agreement** (``agreement_floor``, off in the shipped setting): F1 of the energy
  detector on the second lead against the analysis's beats (detected on both leads): a lead
  that does not show the recording's heartbeats where they are. Off because it also rejects
  clean V1 whose QRS is small (MIT-BIH 101).

What it does not catch (docs/calibration.md): most noise at the NST's 0 dB and much muscle
noise at -6 dB: catching them would cost about 5 % of clean V1 beats.

A beat whose second-lead segment fails the screen is read on the primary lead alone
(``ecg.recording_analysis.fuse_second_lead``). Thresholds: ``benchmarks/second_lead_screen.py``
(the rule is in its docstring). NumPy and SciPy (as ``ecg.dsp.quality``): no TensorFlow, no
Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg.dsp.quality import SegmentQuality, segment_bounds
from ecg.dsp.signal import bandpass

REASON_FLAT = "flat line"
REASON_CLIPPED = "clipped"
REASON_NOISE = "noise"
REASON_NO_BEATS = "beats not seen on this lead"


@dataclass(frozen=True)
class ScreenThresholds:
    """The screen's constants, chosen in ``benchmarks/second_lead_screen.py`` on DS1 records
    and PTB-XL fold 9 V1 (docs/calibration.md): the setting that screens out the most noisy
    second leads while screening out at most 1 % of beats on clean ones. The noise target
    (>= 90 % of noisy segments) is NOT met: see the benchmark's trade-off table."""

    flat_mv: float = 0.05  # the primary lead's own (a physical floor, not MLII-specific)
    clipped_share: float = 0.02  # the primary lead's own
    in_band_low: float = 0.25  # pSQI below this: broadband noise (the primary lead's: 0.4)
    # bSQI below this: the lead does not show the beats (primary: 0.5). Off (0): on clean V1
    # the energy detector disagrees with the beats wherever the QRS is small (record 101's
    # V1, 0.2 mV peak to peak), and tSQI and the QRS-to-noise ratio catch more noise per
    # clean beat lost.
    agreement_floor: float = 0.0
    snr_floor_db: float = 0.0  # QRS-band signal-to-noise ratio below this (dB): noise
    # tSQI below this: the beats do not repeat one shape (the primary lead's 0.7 screened out
    # 3.8 % of clean DS1 V1 segments; 0: off)
    template_floor: float = 0.5
    # QRS contrast (``segment_qrs_contrast_db``) below this (dB): noise. -inf: off.
    contrast_floor_db: float = -np.inf


QRS_HALF_S = 0.05  # the QRS's peak-to-peak is taken within this of the R peak (the NST's)
QRS_EXCLUDE_S = (0.1, 0.15)  # away from the QRS: this long before / after each R peak


SNR_BAND_HZ = (5.0, 25.0)  # the QRS's band: P and T waves (mostly under 5 Hz) are not noise


SNR_GROUP = 256  # segments band-passed in one call (about 4 MB of float64 at 360 Hz)


def segment_snr_db(
    x: np.ndarray, fs: float, peaks: np.ndarray, band: tuple[float, float] = SNR_BAND_HZ
) -> np.ndarray:
    """QRS-to-noise ratio (dB) of each ``segment_bounds`` segment of a raw lead ``x`` at the
    beats ``peaks`` (NaN where a segment holds no beat or no sample away from one)."""
    return _per_segment(x, fs, peaks, band, _segment_snr)


def segment_qrs_contrast_db(
    x: np.ndarray, fs: float, peaks: np.ndarray, band: tuple[float, float] = SNR_BAND_HZ
) -> np.ndarray:
    """QRS contrast (dB) of each ``segment_bounds`` segment of a raw lead ``x`` at the beats
    ``peaks``: 20 log10 of the median peak-to-peak of the band-passed lead in the QRS windows
    over the median peak-to-peak of equally long windows away from every QRS (NaN where a
    segment holds no beat or fewer than ``CONTRAST_MIN_WINDOWS`` such windows).

    Why beside ``segment_snr_db``: there the QRS's power is its windows' peak-to-peak, which
    noise raises too, against the noise's variance, so pure noise scores about 4 dB and muscle
    noise 12 dB above the QRS about as much. Here both sides are peak-to-peak over windows of
    one length, so noise alone scores about 0 dB, whatever its level, and a clean lead scores
    the QRS's height over the baseline's ripple."""
    return _per_segment(x, fs, peaks, band, _segment_contrast)


def _per_segment(x: np.ndarray, fs: float, peaks: np.ndarray, band: tuple[float, float],
                 measure) -> np.ndarray:  # fmt: skip
    """``measure(filtered, start, peaks, fs)`` of each ``segment_bounds`` segment, each
    band-passed on its own (its edges ring alike wherever it lies), segments of one length
    ``SNR_GROUP`` at a time in one 2-D call: the same values as one call per segment (a
    24-hour lead's 17,280 calls took about 8 s), in bounded memory."""
    x = np.asarray(x)  # a mapped 24-hour lead stays mapped: each group is made float64 alone
    bounds = segment_bounds(x.size, fs)
    peaks = np.sort(np.asarray(peaks, np.int64))
    out = np.full(len(bounds), np.nan)
    lengths = bounds[:, 1] - bounds[:, 0]
    for first in range(0, len(bounds), SNR_GROUP):
        group = np.arange(first, min(first + SNR_GROUP, len(bounds)))
        same = group[lengths[group] == lengths[first]]  # the last segment may be longer
        for members in (same, group[lengths[group] != lengths[first]]):
            if members.size:
                rows = np.stack([x[bounds[i, 0] : bounds[i, 1]] for i in members])
                rows = rows.astype(np.float64)
                filtered = bandpass(rows, fs, band).astype(np.float64)
                for row, index in zip(filtered, members, strict=True):
                    out[index] = measure(row, bounds[index, 0], peaks, fs)
    return out


def _qrs_windows(
    filtered: np.ndarray, start: int, peaks: np.ndarray, fs: float
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(the segment's QRS windows, its samples away from every QRS, the window's half length)
    of one band-passed segment starting at sample ``start``; None without a beat."""
    half = max(1, int(round(QRS_HALF_S * fs)))
    before, after = (int(round(s * fs)) for s in QRS_EXCLUDE_S)
    end = start + filtered.size
    local = peaks[(peaks >= start + half) & (peaks < end - half)] - start
    if not local.size:
        return None
    windows = filtered[local[:, None] + np.arange(-half, half + 1)[None, :]]
    away = np.ones(filtered.size, dtype=bool)
    for peak in local:
        away[max(0, peak - before) : peak + after] = False
    # The filter's edges ring: a tenth of a second at each end is left out.
    edge = int(0.1 * fs)
    away[:edge] = away[-edge:] = False
    return windows, away, half


def _segment_snr(filtered: np.ndarray, start: int, peaks: np.ndarray, fs: float) -> float:
    """``segment_snr_db`` of one band-passed segment starting at sample ``start``."""
    found = _qrs_windows(filtered, start, peaks, fs)
    if found is None:
        return np.nan
    windows, away, _ = found
    power = float(np.median(np.ptp(windows, axis=1))) ** 2 / 8
    if away.sum() < fs * 0.5:
        return np.nan
    noise = float(np.var(filtered[away]))
    return 10 * np.log10(max(power, 1e-12) / max(noise, 1e-12))


CONTRAST_MIN_WINDOWS = 3  # windows away from the QRS a segment needs for a contrast


def _segment_contrast(filtered: np.ndarray, start: int, peaks: np.ndarray, fs: float) -> float:
    """``segment_qrs_contrast_db`` of one band-passed segment starting at sample ``start``."""
    found = _qrs_windows(filtered, start, peaks, fs)
    if found is None:
        return np.nan
    windows, away, half = found
    width = 2 * half + 1
    # Away windows: consecutive windows of the QRS windows' length lying wholly away.
    tiles = away[: away.size // width * width].reshape(-1, width).all(axis=1)
    if tiles.sum() < CONTRAST_MIN_WINDOWS:
        return np.nan
    background = filtered[: tiles.size * width].reshape(-1, width)[tiles]
    qrs = float(np.median(np.ptp(windows, axis=1)))
    baseline = float(np.median(np.ptp(background, axis=1)))
    return 20 * np.log10(max(qrs, 1e-9) / max(baseline, 1e-9))


def screen_segments(
    quality: SegmentQuality,
    snr_db: np.ndarray | None = None,
    thresholds: ScreenThresholds = ScreenThresholds(),
    contrast_db: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Per segment of the second lead's ``quality`` (and ``segment_snr_db`` and
    ``segment_qrs_contrast_db``, same segments): passes the screen, and why not ("" if it
    passes). A segment where neither detector found a beat (bSQI NaN) fails: a lead may only
    vote on beats it shows; a NaN QRS-to-noise ratio or contrast (no beat in the segment, or
    no stretch away from one) is left to the other indices."""
    t = thresholds
    flat = quality.peak_to_peak_mv < t.flat_mv
    clipped = ~flat & (quality.clipped_share > t.clipped_share)
    usable = ~flat & ~clipped
    noise = usable & (np.nan_to_num(quality.in_band_ratio, nan=0.0) < t.in_band_low)
    agreement = np.nan_to_num(quality.detector_agreement, nan=0.0)
    if snr_db is not None:
        snr = np.nan_to_num(np.asarray(snr_db, dtype=np.float64), nan=np.inf)
        noise |= usable & (snr < t.snr_floor_db)
    if contrast_db is not None:
        contrast = np.nan_to_num(np.asarray(contrast_db, dtype=np.float64), nan=np.inf)
        noise |= usable & (contrast < t.contrast_floor_db)
    if t.template_floor > 0 and quality.template_correlation is not None:
        tsqi = np.nan_to_num(quality.template_correlation, nan=1.0)  # too few beats: no verdict
        noise |= usable & (tsqi < t.template_floor)
    no_beats = usable & ~noise & (agreement < t.agreement_floor)
    reasons = np.full(flat.shape, "", dtype=object)
    reasons[flat] = REASON_FLAT
    reasons[clipped] = REASON_CLIPPED
    reasons[noise] = REASON_NOISE
    reasons[no_beats] = REASON_NO_BEATS
    return ~(flat | clipped | noise | no_beats), [str(r) for r in reasons]


def beats_pass(passed: np.ndarray, quality: SegmentQuality, peaks: np.ndarray) -> np.ndarray:
    """For each beat at ``peaks`` (samples at ``quality.fs``), whether its second-lead segment
    passed the screen (``passed``: per segment of ``quality``)."""
    peaks = np.asarray(peaks, np.int64)
    passed = np.asarray(passed, dtype=bool)
    if not peaks.size or not passed.size:
        return np.zeros(peaks.size, dtype=bool)
    segment = np.clip(np.searchsorted(quality.ends, peaks, side="right"), 0, passed.size - 1)
    return passed[segment]


def screened_share(passed: np.ndarray, quality: SegmentQuality) -> float:
    """Share of the lead's duration (0-1) in segments that failed the screen."""
    lengths = (quality.ends - quality.starts).astype(np.float64)
    total = lengths.sum()
    return float(lengths[~np.asarray(passed, bool)].sum() / total) if total else 0.0


def beat_snr_db(x: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    """Per beat at ``peaks``, the estimated QRS-to-noise ratio (dB) of its ``segment_bounds``
    segment (``segment_snr_db``); -inf where the segment has none (so a rule "under S dB"
    holds there)."""
    peaks = np.asarray(peaks, np.int64)
    if peaks.size == 0:
        return np.zeros(0)
    snr = segment_snr_db(x, fs, peaks)
    bounds = segment_bounds(np.asarray(x).size, fs)
    segment = np.clip(np.searchsorted(bounds[:, 0], peaks, side="right") - 1, 0, len(snr) - 1)
    return np.nan_to_num(snr[segment], nan=-np.inf)
