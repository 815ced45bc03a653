"""QRS detection on a whole lead and its evaluation against reference annotations.

The detector is ``wfdb.processing.XQRS`` (PhysioNet's maintained detector), run on the lead after
the project's own band-pass (``signal.bandpass``, block by block on a long lead), in chunks so a
24-hour recording neither holds several float64 copies of itself in memory nor runs without
progress. Each detection is then moved to the R-wave extremum nearby, because the models were
trained on windows centred on annotated R peaks and XQRS marks the peak of its own filtered
signal, a few samples away. When a second lead is available, pauses in the primary lead's
detections are checked against it.

XQRS looks for QRS energy in 5-20 Hz, where a narrow complex has most of it. A wide ventricular
complex (the PVCs of MIT-BIH 208 on MLII) has a tenth of a normal beat's energy there, under
XQRS's adaptive threshold: on one lead, 459 of 2955 beats of 208 were missed. So each lead is
searched twice, in XQRS's band and in LOW_BAND_HZ, and the low band's beats are added where the
first search has none within the EC57 window (``merge_detections``); see
``benchmarks/detection_benchmark.py`` for the effect per record and lead set.

Evaluation follows ANSI/AAMI EC57 beat-by-beat matching as implemented by
``wfdb.processing.compare_annotations`` with a 150 ms window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import maximum_filter1d

from ecg.dsp import xqrs_fallback
from ecg.dsp.signal import bandpass, resample, rescale_samples
from ecg.dsp.xqrs_learning import fast_xqrs

CHUNK_S = 120.0  # per XQRS run: bounds its backsearch (quadratic in a stretch without beats),
# memory, and the time between progress updates; accuracy on MIT-BIH is unchanged vs 10 min
OVERLAP_S = 10.0  # context on each side of a chunk so beats at its edges are found once
# Leads outside 250-360 Hz are searched at DETECTION_FS (resampled up or down) and their beats
# returned at their own rate. XQRS at 100 Hz found T waves as beats (PTB-XL: twice the beats in
# normal records); at 500 Hz it missed over 10 % of the QRS complexes of 22 LUDB records (6 at
# 360 Hz); at 1000 Hz it found 73 % of MIT-BIH's beats and none of LUDB's. 360 Hz is the model
# rate, the rate MIT-BIH was annotated and the training beats were detected at
# (``training.ptbxl_beats.record_beats``). Measured in ``benchmarks/detection_rates.py``; between
# 250 and 360 Hz the lead's own rate did better there, so it stays.
MIN_DETECTION_FS = 250.0
DETECTION_FS = 360.0
REFINE_S = 0.05  # search radius for the R-wave extremum around each XQRS detection
MATCH_WINDOW_S = 0.15  # EC57 matching window
GAP_FILL_MIN_AMPLITUDE = 0.2  # see fill_gaps_from_second_lead
LOW_BAND_HZ = (1.0, 10.0)  # the second search's band: wide QRS complexes keep their energy

ProgressCallback = Callable[[float], None]


class DetectionError(ValueError):
    """The signal cannot be searched for beats (too short, flat, ...)."""


def find_local_peaks(sig: np.ndarray, radius: int) -> np.ndarray:
    """Vectorised drop-in for ``wfdb.processing.peaks.find_local_peaks`` (same output).

    wfdb's version calls Python's ``max`` on a slice for every sample, which is ~95% of XQRS's run
    time (about 2 s per 30-minute record). Same rule here: sample i is a peak when it equals the
    maximum of ``sig[max(0, i - radius) : i + radius]``; after a peak the scan skips ``radius``
    samples. ``tests/recordings/test_detection.py`` checks equality with wfdb's function.
    """
    sig = np.asarray(sig)
    if sig.size == 0 or np.min(sig) == np.max(sig):
        return np.empty(0)
    # Window [i - radius, i + radius) has 2*radius samples; for an even size, scipy's window is
    # [i - size//2, i + size//2 - 1], i.e. exactly that. Out-of-range samples must never win.
    window_max = maximum_filter1d(
        sig.astype(np.float64), size=2 * radius, mode="constant", cval=-np.inf
    )
    candidates = np.flatnonzero(sig == window_max)
    peaks: list[int] = []
    next_allowed = 0
    for index in candidates.tolist():
        if index >= next_allowed:
            peaks.append(index)
            next_allowed = index + radius
    return np.array(peaks)


def _install_fast_peaks() -> None:
    """Point XQRS at the vectorised peak finder (idempotent, same results)."""
    from wfdb.processing import qrs

    qrs.find_local_peaks = find_local_peaks


@lru_cache(maxsize=4)
def _xqrs_in_band(band: tuple[float, float]) -> type:
    """XQRS searching its own band-passed copy of the lead in ``band`` instead of 5-20 Hz."""

    class BandXQRS(fast_xqrs()):
        def _bandpass(self, fc_low: float = 5, fc_high: float = 20) -> None:
            super()._bandpass(*band)

    return BandXQRS


def _xqrs(clean: np.ndarray, fs: float, band: tuple[float, float] | None = None) -> np.ndarray:
    _install_fast_peaks()
    if np.ptp(clean) == 0:
        return np.empty(0, dtype=np.int64)
    detector_class = fast_xqrs() if band is None else _xqrs_in_band(band)
    detector = detector_class(sig=clean.astype(np.float64), fs=fs)
    detector.detect(verbose=False)  # quiet: the caller runs it under ``_quiet_xqrs``
    peaks = np.asarray(detector.qrs_inds, dtype=np.int64)
    return xqrs_fallback.rerun_unlearned(detector, clean, fs, peaks, int(MATCH_WINDOW_S * fs))


@contextmanager
def _quiet_xqrs() -> Iterator[None]:
    """XQRS logs "Learning initial signal parameters..." etc. through the root logger. Set once
    around all runs, not per run: two runs in two threads would restore each other's level."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


def refine_peaks(clean: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """Move each detection to the largest absolute value of the band-passed lead within REFINE_S.

    The band-pass removes the baseline, so the extremum is the R (or QS) wave the MIT-BIH
    annotators marked: on the 44 non-paced records this puts 98-99 % of N, L and R beats within
    25 ms of their annotation, against 57 % of L beats when the window's median was subtracted
    first (wide QRS complexes shift the median).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size == 0:
        return peaks
    radius = max(1, int(round(REFINE_S * fs)))
    offsets = np.arange(-radius, radius + 1)
    index = np.clip(peaks[:, None] + offsets[None, :], 0, len(clean) - 1)
    refined = index[np.arange(len(peaks)), np.argmax(np.abs(clean[index]), axis=1)]
    # Two detections can land on the same extremum; keep one.
    return np.unique(refined)


def snap_to_extremum(clean: np.ndarray, peaks: np.ndarray, radius: int) -> np.ndarray:
    """Each peak moved to the largest absolute value of ``clean`` within ``radius`` samples, one
    output per input (``refine_peaks`` without its de-duplication).

    Beats found at a low sampling rate and scaled to the model's rate land up to one original
    sample (10 ms at 100 Hz) from the extremum the model's training windows were centred on;
    the beat-window models are sensitive to that shift.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size == 0 or radius < 1 or len(clean) == 0:
        return peaks
    offsets = np.arange(-radius, radius + 1)
    index = np.clip(peaks[:, None] + offsets[None, :], 0, len(clean) - 1)
    return index[np.arange(len(peaks)), np.argmax(np.abs(clean[index]), axis=1)]


def _detect_one_lead(
    signal: np.ndarray, fs: float, progress: ProgressCallback | None, share: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(R peaks, band-passed lead) for one lead."""
    clean = bandpass(np.asarray(signal, dtype=np.float32), fs)
    chunk = int(CHUNK_S * fs)
    overlap = int(OVERLAP_S * fs)
    found: dict[tuple[float, float] | None, list[np.ndarray]] = {None: [], LOW_BAND_HZ: []}
    starts = list(range(0, len(clean), chunk))
    # The two searches of a chunk are independent: one runs in a helper thread (XQRS's filters
    # and peak search in NumPy / SciPy release the GIL, its Python loop does not), so detection
    # no longer leaves the second core idle. Same runs, same detections.
    _install_fast_peaks()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xqrs") as helper, _quiet_xqrs():
        for number, start in enumerate(starts):
            lo = max(0, start - overlap)
            hi = min(len(clean), start + chunk + overlap)
            low = helper.submit(_xqrs, clean[lo:hi], fs, LOW_BAND_HZ)
            runs = {None: _xqrs(clean[lo:hi], fs, None), LOW_BAND_HZ: low.result()}
            for band, kept in found.items():
                peaks = runs[band] + lo
                # Keep only detections in this chunk's own span; the overlap is context.
                kept.append(peaks[(peaks >= start) & (peaks < start + chunk)])
            if progress is not None:
                progress(share[0] + (share[1] - share[0]) * (number + 1) / len(starts))
    first, low = (
        refine_peaks(clean, np.concatenate(kept) if kept else np.empty(0, np.int64), fs)
        for kept in found.values()
    )
    return merge_detections(first, low, fs), clean


def merge_detections(primary: np.ndarray, extra: np.ndarray, fs: float) -> np.ndarray:
    """``primary`` and each beat of ``extra`` farther than the EC57 window from all of them.

    On MLII alone over 14 hard MIT-BIH records, XQRS's band missed 1106 beats with 333 false
    ones, the low band alone 503 and 244, both merged so 356 and 375.
    """
    primary = np.asarray(primary, dtype=np.int64)
    extra = np.asarray(extra, dtype=np.int64)
    if primary.size == 0 or extra.size == 0:
        return np.unique(np.concatenate([primary, extra]))
    at = np.searchsorted(primary, extra)
    before = primary[np.clip(at - 1, 0, primary.size - 1)]
    after = primary[np.clip(at, 0, primary.size - 1)]
    nearest = np.minimum(np.abs(extra - before), np.abs(after - extra))
    return np.unique(np.concatenate([primary, extra[nearest > MATCH_WINDOW_S * fs]]))


def _peak_amplitude(clean: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    radius = max(1, int(round(REFINE_S * fs)))
    index = np.clip(peaks[:, None] + np.arange(-radius, radius + 1)[None, :], 0, len(clean) - 1)
    return np.abs(clean[index]).max(axis=1)


def fill_gaps_from_second_lead(
    primary: np.ndarray,
    secondary: np.ndarray,
    fs: float,
    primary_clean: np.ndarray | None = None,
) -> np.ndarray:
    """Add second-lead beats that fall in a pause of the primary lead (a likely missed beat).

    A beat is added only when it is more than the EC57 window away from every primary beat AND
    the primary lead shows a gap longer than 1.5 median RR intervals around it, so noise on the
    second lead cannot add beats where the primary rhythm is already complete. With the
    band-passed primary lead given, the primary lead must also show at least
    GAP_FILL_MIN_AMPLITUDE of its median R amplitude there: a real beat leaves a trace on both
    leads, noise on one lead during a genuine pause does not. (Tuned on MIT-BIH: see the
    detector survey in benchmarks/recording_benchmark.py.)
    """
    primary = np.asarray(primary, dtype=np.int64)
    secondary = np.asarray(secondary, dtype=np.int64)
    if primary.size < 3 or secondary.size == 0:
        return primary
    window = MATCH_WINDOW_S * fs
    median_rr = float(np.median(np.diff(primary)))
    after = np.clip(np.searchsorted(primary, secondary), 1, primary.size - 1)
    before_beat = primary[after - 1]
    after_beat = primary[after]
    distance = np.minimum(np.abs(secondary - before_beat), np.abs(after_beat - secondary))
    in_pause = (after_beat - before_beat) > 1.5 * median_rr
    extra = secondary[(distance > window) & in_pause]
    if primary_clean is not None and extra.size:
        typical = float(np.median(_peak_amplitude(primary_clean, primary, fs)))
        extra = extra[_peak_amplitude(primary_clean, extra, fs) >= GAP_FILL_MIN_AMPLITUDE * typical]
    return np.unique(np.concatenate([primary, extra]))


def detect_beats(
    signal: np.ndarray,
    fs: float,
    *,
    second_lead: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """R-peak sample indices (at ``fs``) of a raw lead in mV, in time order.

    With ``second_lead`` (another lead of the same recording), beats that XQRS misses on the
    primary lead -- typically low-amplitude ectopic beats -- are recovered from the other lead.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.size < int(2 * fs):
        raise DetectionError("the recording is shorter than 2 seconds: no beat can be detected")
    if fs < MIN_DETECTION_FS or fs > DETECTION_FS + 1e-6:
        return _detect_resampled(signal, fs, second_lead, progress)
    if second_lead is None:
        return _detect_one_lead(signal, fs, progress, (0.0, 1.0))[0]
    # The second lead first: its band-passed copy is gone before the primary one is made
    # (only the primary's is needed afterwards), so at most one float32 copy is held.
    secondary = _detect_one_lead(second_lead, fs, progress, (0.0, 0.5))[0]
    primary, clean = _detect_one_lead(signal, fs, progress, (0.5, 1.0))
    return fill_gaps_from_second_lead(primary, secondary, fs, clean)


def _detect_resampled(
    signal: np.ndarray,
    fs: float,
    second_lead: np.ndarray | None,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """``detect_beats`` of a lead under MIN_DETECTION_FS or over DETECTION_FS: searched at
    DETECTION_FS (resampled up or down, the second lead with it) and returned at ``fs``.

    A lead finer than DETECTION_FS has its beats re-centred on its own samples
    (``refine_at_rate``): scaled back from the 360 Hz grid they can be a sample or two off its
    R-wave extremum. A coarser lead keeps the nearest sample; the model path re-centres it at
    the model rate (``ModelBundle.beat_windows``).
    """
    at_detection_fs = resample(signal, fs, DETECTION_FS)
    second = None if second_lead is None else resample(second_lead, fs, DETECTION_FS)
    peaks = detect_beats(at_detection_fs, DETECTION_FS, second_lead=second, progress=progress)
    del at_detection_fs, second
    scaled = np.unique(np.clip(rescale_samples(peaks, DETECTION_FS, fs), 0, len(signal) - 1))
    if fs <= DETECTION_FS:
        return scaled
    return refine_at_rate(signal, fs, scaled)


def refine_at_rate(signal: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    """``peaks`` (found at DETECTION_FS, scaled to ``fs > DETECTION_FS``) each moved to the
    largest absolute value of the band-passed ``signal`` within the rounding error of the
    coarser grid: half a DETECTION_FS sample plus half a sample of ``fs`` (2 samples at 500
    and 1000 Hz), so a beat cannot jump to a neighbouring wave."""
    radius = int(np.ceil(0.5 * fs / DETECTION_FS + 0.5))
    clean = bandpass(np.asarray(signal, dtype=np.float32), fs)
    return np.unique(snap_to_extremum(clean, peaks, radius))


@dataclass(frozen=True)
class DetectionScore:
    """Beat-by-beat agreement of detections with reference beats."""

    reference_beats: int
    detected_beats: int
    true_positives: int
    false_negatives: int
    false_positives: int
    sensitivity: float  # TP / (TP + FN)
    positive_predictivity: float  # TP / (TP + FP)
    window_s: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluate_detection(
    reference: np.ndarray, detected: np.ndarray, fs: float, *, window_s: float = MATCH_WINDOW_S
) -> DetectionScore:
    """Sensitivity and positive predictivity of ``detected`` against ``reference`` beats."""
    from wfdb.processing import compare_annotations

    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    if reference.size == 0:
        raise DetectionError("no reference beats to compare against")
    if detected.size == 0:
        return DetectionScore(reference.size, 0, 0, reference.size, 0, 0.0, 0.0, window_s)
    comparison = compare_annotations(reference, detected, int(round(window_s * fs)))
    tp = int(comparison.tp)
    fn = int(comparison.fn)
    fp = int(comparison.fp)
    return DetectionScore(
        reference_beats=int(reference.size),
        detected_beats=int(detected.size),
        true_positives=tp,
        false_negatives=fn,
        false_positives=fp,
        sensitivity=tp / (tp + fn) if tp + fn else 0.0,
        positive_predictivity=tp / (tp + fp) if tp + fp else 0.0,
        window_s=window_s,
    )


def match_to_reference(
    reference: np.ndarray, detected: np.ndarray, fs: float, *, window_s: float = MATCH_WINDOW_S
) -> np.ndarray:
    """For each detected beat, the index of its matched reference beat, or -1 (false positive)."""
    from wfdb.processing import compare_annotations

    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    out = np.full(detected.size, -1, dtype=np.int64)
    if reference.size == 0 or detected.size == 0:
        return out
    comparison = compare_annotations(reference, detected, int(round(window_s * fs)))
    ref_index = np.asarray(comparison.matched_ref_inds, dtype=np.int64)
    test_index = np.asarray(comparison.matched_test_inds, dtype=np.int64)
    out[test_index] = ref_index
    return out
