"""Record-context features: each beat described against the other beats of its own recording.

A new patient's normal beat can look like nothing in the training set; it still looks like the
patient's own dominant beat. Ectopic beats (V, A) differ from that dominant beat, and bundle
branch blocks widen the QRS of every beat of the recording. So the recording model gets, beside
the RR features, the beat's distance from the recording's median beat, its QRS width next to the
recording's median QRS width, and its RR intervals over the recording's median RR.

Every feature is a ratio or a correlation, so a gain change of the whole recording (electrode,
amplifier) leaves them unchanged. Pure functions; the sampling rate is always passed in.
"""

from __future__ import annotations

import numpy as np

from ecg.features.beats import RR_FEATURE_NAMES, reference_rows

# The median beat is compared on a coarse grid: 8 samples at 360 Hz (22 ms) keep the QRS shape
# and drop noise the comparison should not see.
TEMPLATE_STEP_S = 8 / 360.0
QRS_SEARCH_S = (0.15, 0.20)  # QRS width is searched from 150 ms before to 200 ms after the R peak
# QRS bounds (``qrs_bounds``). Chosen on synthetic complexes with known bounds
# (tests/ml/synthetic_qrs.py), never on LUDB, the test set they are measured against.
QRS_SLOPE_LEVEL = 0.08  # share of the peak slope that counts as QRS activity
QRS_QUIET_S = 0.011  # this long below that level ends the QRS
QRS_SMOOTH_S = 0.012  # slope smoothing
QRS_NOISE_FLOOR = 1.5  # ... or this many times the window's median slope, if that is higher
QRS_CORE_S = 0.06  # core and peak slope: this far either side of the R peak (wide QRS)
# QRS bounds v3 (``qrs_bounds_v3``). Chosen on the DEVELOPMENT half of LUDB lead II (the
# odd-numbered records) with benchmarks/qrs_bounds_ludb.py; the even-numbered records are the
# held-out half, reported apart (docs/ptbxl-beats.md).
QRS_V3_SMOOTH_S = 0.008  # slope smoothing
# core and peak slopes: this far either side of the R peak. 80 ms helped 4 complete-BBB records
# of the development half but let the core reach into the P wave: 5.0% of its QRS durations
# more than 40 ms off, against 2.9% at 60 ms.
QRS_V3_CORE_S = 0.06
QRS_V3_CORE_LEVEL = 0.08  # share of the peak slope that counts as QRS activity in the core
QRS_V3_ONSET_LEVEL = 0.02  # the onset: slope under this share of the core's left peak slope
QRS_V3_OFFSET_LEVEL = 0.05  # the offset (J point): under this share of the right peak slope
# ... for this long. 8 ms after the QRS did as well on the development half (median error 8.3
# ms against 8.4) but ended a low-voltage notched QRS in 0.03 mV of noise at its notch
# (tests/ml/test_qrs_bounds_v3.py); 11 ms does not.
QRS_V3_QUIET_S = 0.011
QRS_V3_NOISE_FLOOR = 1.5  # every level is at least this many times the window's median slope
CONTEXT_FEATURE_NAMES = (
    "rr_prev_over_record_median",
    "rr_next_over_record_median",
    "correlation_with_record_median_beat",
    "rms_difference_over_record_median_beat",
    "r_amplitude_over_record_median",
    "qrs_width_s",
    "record_median_qrs_width_s",
    "qrs_width_over_record_median",
)
# What a model's "rr" input holds (metadata key "rhythm_features"; older bundles: "rr").
FEATURE_SETS = {
    "rr": RR_FEATURE_NAMES,
    # The shipped recording model's set: QRS widths by ``qrs_widths_v1``.
    "rr+record_context": RR_FEATURE_NAMES + CONTEXT_FEATURE_NAMES,
    # The same columns with QRS widths by ``qrs_widths`` (validated against LUDB): for models
    # trained from now on.
    "rr+record_context_v2": RR_FEATURE_NAMES + CONTEXT_FEATURE_NAMES,
    # The same columns with QRS widths by ``qrs_widths_v3`` (closer to LUDB's cardiologists
    # than v2): for models trained from now on; models trained with v2 keep v2.
    "rr+record_context_v3": RR_FEATURE_NAMES + CONTEXT_FEATURE_NAMES,
}
QRS_WIDTHS_BY_SET = {
    "rr+record_context": "v1",
    "rr+record_context_v2": "v2",
    "rr+record_context_v3": "v3",
}


def _search_segment(windows: np.ndarray, fs: float, r_index: int) -> tuple[np.ndarray, int]:
    """The part of each window where a QRS bound is searched (QRS_SEARCH_S around the R peak)
    and how many samples of it lie before the R peak."""
    before = min(int(round(QRS_SEARCH_S[0] * fs)), r_index)
    after = min(int(round(QRS_SEARCH_S[1] * fs)), windows.shape[1] - r_index - 1)
    return windows[:, r_index - before : r_index + after + 1], before


def qrs_bounds(
    windows: np.ndarray,
    fs: float,
    r_index: int,
    level: float = QRS_SLOPE_LEVEL,
    quiet_s: float = QRS_QUIET_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated QRS onset and offset of each beat window, in seconds from the R peak (onset
    negative); the R peak sits at column ``r_index``.

    The QRS is the stretch of steep slope around the R peak. The absolute derivative, smoothed
    over QRS_SMOOTH_S, is "active" where it reaches ``level`` times its peak within
    QRS_CORE_S of the R peak. The QRS core runs from the first to the last active sample
    within QRS_CORE_S of the R peak -- so a notch, a flat-topped R or an inverted complex, whose
    slope is near zero AT the peak, still has a core -- and grows outward on each side until
    ``quiet_s`` of inactive slope (or the edge of the search range, QRS_SEARCH_S).
    """
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 2 or len(windows) == 0:
        return np.zeros(0), np.zeros(0)
    segment, before = _search_segment(windows, fs, r_index)
    # slope[:, i] is the step from sample i to i+1; centred on i+0.5
    slope = np.abs(np.diff(segment, axis=1))
    smooth = max(1, int(round(QRS_SMOOTH_S * fs)))
    kernel = np.ones(smooth) / smooth
    envelope = np.apply_along_axis(np.convolve, 1, slope, kernel, mode="same")
    width = envelope.shape[1]
    columns = np.arange(width)[None, :]
    centre = before
    near = max(1, int(round(QRS_CORE_S * fs)))
    in_core = np.abs(columns - centre) <= near
    peak = np.where(in_core, envelope, 0.0).max(axis=1, keepdims=True)
    # Noise sets a floor: a slope no steeper than the window's typical (median) slope is not
    # QRS activity, or a noisy low-voltage lead would never fall quiet.
    threshold = np.maximum(
        level * peak, QRS_NOISE_FLOOR * np.median(envelope, axis=1, keepdims=True)
    )
    threshold = np.maximum(threshold, 1e-12)
    active = (envelope >= threshold) & in_core
    first = np.where(active.any(axis=1), np.argmax(active, axis=1), centre)
    last = np.where(active.any(axis=1), width - 1 - np.argmax(active[:, ::-1], axis=1), centre)
    below = envelope < threshold
    gap = max(1, int(round(quiet_s * fs)))
    runs = np.apply_along_axis(np.convolve, 1, below.astype(np.float64), np.ones(gap), "full")
    # quiet_end[:, i]: the ``gap`` samples up to i are all below; quiet_start[:, i]: from i on
    quiet_end = runs[:, :width] >= gap - 0.5
    quiet_start = runs[:, gap - 1 :] >= gap - 0.5
    left = quiet_end & (columns < first[:, None])
    has_left = left.any(axis=1)
    # the onset is the first active step after the last quiet run before the core
    onset = np.where(has_left, width - np.argmax(left[:, ::-1], axis=1), 0)
    right = quiet_start & (columns > last[:, None])
    has_right = right.any(axis=1)
    offset = np.where(has_right, np.argmax(right, axis=1), width)
    return (onset - centre) / fs, (offset - centre) / fs


def qrs_widths(windows: np.ndarray, fs: float, r_index: int) -> np.ndarray:
    """Estimated QRS duration (s) of each beat window (``qrs_bounds`` at its defaults); the R
    peak sits at column ``r_index``."""
    onset, offset = qrs_bounds(windows, fs, r_index)
    return (offset - onset).astype(np.float32)


def _moving_average(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average of each row over ``n`` samples, zero beyond the ends: the same
    as ``np.convolve(row, ones(n) / n, "same")`` row by row, without a Python loop."""
    if n <= 1:
        return x
    # zero-padded by hand: np.pad costs more than the sums on a 10-second recording's beats
    left = n - 1 - (n - 1) // 2
    padded = np.zeros((x.shape[0], x.shape[1] + n))
    padded[:, left + 1 : left + 1 + x.shape[1]] = x
    sums = np.cumsum(padded, axis=1)
    return (sums[:, n:] - sums[:, :-n]) / n


def _quiet_runs(below: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """(ends, starts): ``ends[:, i]`` where the ``gap`` samples up to i are all ``below``,
    ``starts[:, i]`` where the ``gap`` samples from i on are."""
    sums = np.zeros((below.shape[0], below.shape[1] + 1), dtype=np.int32)
    np.cumsum(below, axis=1, out=sums[:, 1:])
    ends = np.zeros(below.shape, dtype=bool)
    ends[:, gap - 1 :] = (sums[:, gap:] - sums[:, :-gap]) == gap
    starts = np.zeros(below.shape, dtype=bool)
    starts[:, : below.shape[1] - gap + 1] = ends[:, gap - 1 :]
    return ends, starts


def qrs_bounds_v3(windows: np.ndarray, fs: float, r_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Estimated QRS onset and offset of each beat window, in seconds from the R peak (onset
    negative); the R peak sits at column ``r_index``. One lead, every beat at once.

    As ``qrs_bounds`` (v2), the QRS core is the stretch within QRS_V3_CORE_S of the R peak whose
    smoothed absolute slope reaches QRS_V3_CORE_LEVEL of its peak, so a notched, flat-topped or
    inverted complex still has one. What changes is where the core stops growing, side by side:

    - the onset is where the slope has stayed under QRS_V3_ONSET_LEVEL of the steepest slope
      on the R peak's LEFT for QRS_V3_QUIET_S. v2 used 8% of the steepest slope of the
      whole complex and started a median 9.7 ms after LUDB's cardiologists: a QRS takes off
      gently, and a steep S wave set the bar for the onset too high;
    - the offset (J point) is where the slope envelope has fallen under QRS_V3_OFFSET_LEVEL of
      the steepest slope on the R peak's RIGHT for QRS_V3_QUIET_S;
    - every level is at least QRS_V3_NOISE_FLOOR times the window's median slope, so noise on a
      low-voltage lead does not keep the QRS "active" (the onset level is usually this floor);
    - slope is smoothed over 8 ms (v2: 12 ms), which blurs the take-off less.

    The constants were chosen on the odd-numbered LUDB records (see their comment). The moving
    sums are cumulative sums, so the cost is a few array passes whatever the number of beats.
    """
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 2 or len(windows) == 0:
        return np.zeros(0), np.zeros(0)
    segment, before = _search_segment(windows, fs, r_index)
    # envelope[:, i] is the smoothed step from sample i to i+1
    envelope = _moving_average(np.abs(np.diff(segment, axis=1)), round(QRS_V3_SMOOTH_S * fs))
    width = envelope.shape[1]
    columns = np.arange(width)[None, :]
    centre = before
    in_core = np.abs(columns - centre) <= max(1, int(round(QRS_V3_CORE_S * fs)))
    # each side's peak counts the two steps at the R peak itself
    left_peak = np.where(in_core & (columns <= centre), envelope, 0.0).max(axis=1, keepdims=True)
    right_peak = np.where(in_core & (columns >= centre - 1), envelope, 0.0).max(
        axis=1, keepdims=True
    )
    floor = np.maximum(QRS_V3_NOISE_FLOOR * np.median(envelope, axis=1, keepdims=True), 1e-12)
    peak = np.maximum(left_peak, right_peak)
    active = (envelope >= np.maximum(QRS_V3_CORE_LEVEL * peak, floor)) & in_core
    has_core = active.any(axis=1)
    first = np.where(has_core, np.argmax(active, axis=1), centre)
    last = np.where(has_core, width - 1 - np.argmax(active[:, ::-1], axis=1), centre)
    gap = max(1, int(round(QRS_V3_QUIET_S * fs)))
    quiet_end, _ = _quiet_runs(envelope < np.maximum(QRS_V3_ONSET_LEVEL * left_peak, floor), gap)
    offset_below = envelope < np.maximum(QRS_V3_OFFSET_LEVEL * right_peak, floor)
    _, quiet_start = _quiet_runs(offset_below, gap)
    # the onset is the first step after the last quiet run before the core; the offset, the
    # first quiet step after it (or the search range's edge)
    left = quiet_end & (columns < first[:, None])
    onset = np.where(left.any(axis=1), width - np.argmax(left[:, ::-1], axis=1), 0)
    right = quiet_start & (columns > last[:, None])
    offset = np.where(right.any(axis=1), np.argmax(right, axis=1), width)
    return (onset - centre) / fs, (offset - centre) / fs


def qrs_widths_v3(windows: np.ndarray, fs: float, r_index: int) -> np.ndarray:
    """Estimated QRS duration (s) of each beat window by ``qrs_bounds_v3``; the R peak sits at
    column ``r_index``."""
    onset, offset = qrs_bounds_v3(windows, fs, r_index)
    return (offset - onset).astype(np.float32)


def qrs_bounds_v1(
    windows: np.ndarray, fs: float, r_index: int, level: float = 0.2, quiet_s: float = 0.011
) -> tuple[np.ndarray, np.ndarray]:
    """The first QRS-bounds estimate, which the shipped recording model (feature set
    ``rr+record_context``) was trained with: kept unchanged so that model sees the inputs it
    learnt from until it is retrained. It grows the QRS outward from the R peak itself, so a
    flat-topped, notched or inverted complex (no slope AT the peak) can get a width of 0; on
    LUDB lead II its median duration error is 19.3 ms against 14.7 ms for ``qrs_bounds``
    (benchmarks/results/qrs_bounds_ludb.json).

    Estimated QRS onset and offset of each beat window, in seconds from the R peak (onset
    negative); the R peak sits at column ``r_index``.

    The QRS is the run of steep slope around the R peak: the smoothed absolute derivative stays
    above ``level`` times its peak there; the run ends at the first ``quiet_s`` below that level
    on each side (or at the edge of the search range, QRS_SEARCH_S).
    """
    windows = np.asarray(windows, dtype=np.float64)
    before = min(int(round(QRS_SEARCH_S[0] * fs)), r_index)
    after = min(int(round(QRS_SEARCH_S[1] * fs)), windows.shape[1] - r_index - 1)
    segment = windows[:, r_index - before : r_index + after + 1]
    slope = np.abs(np.diff(segment, axis=1))
    smooth = max(1, int(round(0.02 * fs)))
    kernel = np.ones(smooth) / smooth
    envelope = np.apply_along_axis(np.convolve, 1, slope, kernel, mode="same")
    centre = before
    near = max(1, int(round(0.04 * fs)))
    peak = envelope[:, max(0, centre - near) : centre + near].max(axis=1, keepdims=True)
    below = envelope < level * peak
    gap = max(1, int(round(quiet_s * fs)))
    # quiet[:, i]: ``gap`` samples from i on are all below the level
    runs = np.apply_along_axis(np.convolve, 1, below.astype(np.float64), np.ones(gap), "full")
    quiet = runs[:, gap - 1 :] >= gap - 0.5
    width = envelope.shape[1]
    left_part = quiet[:, :centre][:, ::-1]
    has_left = left_part.any(axis=1)
    onset = np.where(has_left, centre - np.argmax(left_part, axis=1), 0)
    right_part = quiet[:, centre:]
    has_right = right_part.any(axis=1)
    offset = np.where(has_right, centre + np.argmax(right_part, axis=1), width)
    return (onset - centre) / fs, (offset - centre) / fs


def qrs_widths_v1(windows: np.ndarray, fs: float, r_index: int) -> np.ndarray:
    """Estimated QRS duration (s) of each beat window (``qrs_bounds`` at its defaults: 20% of
    the peak slope, 11 ms of quiet); the R peak sits at column ``r_index``."""
    onset, offset = qrs_bounds_v1(windows, fs, r_index)
    return (offset - onset).astype(np.float32)


def record_context_features(
    windows: np.ndarray,
    rr: np.ndarray,
    fs: float,
    r_index: int,
    *,
    qrs_version: str = "v2",
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Context features (``CONTEXT_FEATURE_NAMES``) of every beat of ONE recording, float32;
    QRS widths by ``qrs_widths`` ("v2"), ``qrs_widths_v3`` ("v3") or the shipped model's
    ``qrs_widths_v1`` ("v1").

    ``windows``: every beat of the recording (n, samples) in mV, band-passed, the R peak at
    column ``r_index``; ``rr``: their RR features (``beats.rr_features``, in that order).
    ``reference``: one flag per beat, the beats the record's median beat, RR, R amplitude and
    QRS width are taken over (serving: beats in readable segments; ``beats.reference_rows``);
    None: every beat (training on clean records; the same result when every beat is flagged).
    """
    windows = np.asarray(windows, dtype=np.float64)
    n = len(windows)
    if n == 0:
        return np.zeros((0, len(CONTEXT_FEATURE_NAMES)), dtype=np.float32)
    rows = reference_rows(reference, n)
    step = max(1, int(round(TEMPLATE_STEP_S * fs)))
    coarse = windows[:, ::step]
    template = np.median(coarse[rows], axis=0)
    scale = max(float(np.ptp(template)), 1e-3)
    centred = coarse - coarse.mean(axis=1, keepdims=True)
    t_centred = template - template.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(t_centred)
    correlation = (centred @ t_centred) / np.maximum(norms, 1e-9)
    rms = np.sqrt(((coarse - template) ** 2).mean(axis=1)) / scale
    r_amplitude = windows[:, r_index]
    amplitude = r_amplitude / max(float(np.median(np.abs(r_amplitude[rows]))), 1e-3)
    rr = np.asarray(rr, dtype=np.float64)
    median_rr = max(float(np.median(rr[rows, 0])), 1e-3)
    width_of = {"v1": qrs_widths_v1, "v2": qrs_widths, "v3": qrs_widths_v3}[qrs_version]
    widths = width_of(windows, fs, r_index).astype(np.float64)
    median_width = max(float(np.median(widths[rows])), 1e-3)
    features = np.stack(
        [
            rr[:, 0] / median_rr,
            rr[:, 1] / median_rr,
            correlation,
            rms,
            amplitude,
            widths,
            np.full(n, median_width),
            widths / median_width,
        ],
        axis=1,
    )
    return features.astype(np.float32)


def feature_names(feature_set: str) -> tuple[str, ...]:
    """Column names of a model's "rr" input for ``feature_set`` (see ``FEATURE_SETS``)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown rhythm feature set {feature_set!r}")
    return FEATURE_SETS[feature_set]


def rhythm_inputs(
    rr: np.ndarray,
    windows: np.ndarray,
    fs: float,
    r_index: int,
    feature_set: str,
    *,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """A model's "rr" input for every beat of ONE recording: the RR features, plus the record
    context when ``feature_set`` asks for it, described against the ``reference`` beats
    (``record_context_features``). Training and serving both call this."""
    rr = np.asarray(rr, dtype=np.float32)
    if feature_set == "rr":
        return rr
    feature_names(feature_set)  # refuses an unknown set
    version = QRS_WIDTHS_BY_SET[feature_set]
    context = record_context_features(
        windows, rr, fs, r_index, qrs_version=version, reference=reference
    )
    return np.concatenate([rr, context], axis=1)


def rhythm_inputs_by_record(
    rr: np.ndarray,
    windows: np.ndarray,
    records: np.ndarray,
    fs: float,
    r_index: int,
    feature_set: str,
) -> np.ndarray:
    """``rhythm_inputs`` for a table of beats from many recordings, each recording described
    against itself; rows stay in the table's order."""
    out = np.zeros((len(rr), len(feature_names(feature_set))), dtype=np.float32)
    records = np.asarray(records)
    for name in np.unique(records):
        rows = np.flatnonzero(records == name)
        out[rows] = rhythm_inputs(rr[rows], windows[rows], fs, r_index, feature_set)
    return out
