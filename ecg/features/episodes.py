"""Rhythm episodes of a classified recording: what a Holter reader lists as events.

Pure functions of beat times (samples at ``fs``) and beat classes. Each episode has a kind, a
start and an end (seconds) and its number of beats:

* ``AF``: atrial fibrillation / flutter, read from the rhythm, not from the class mix. Over a
  sliding window of ``AF_WINDOW`` RR intervals, the coefficient of sample entropy (COSEn,
  ``ecg.features.af_features.windowed_cosen``): AF's next interval is unpredictable, while
  sinus rhythm, sinus arrhythmia's slow swings, bigeminy and trigeminy repeat. The classes only
  leave out the intervals into and out of a classified V; isolated premature beats in a regular
  rhythm are found from the RR intervals. An episode starts above ``AF_COSEN_ON`` and ends at
  ``AF_COSEN_OFF`` (hysteresis). With the signal of the analysed lead (what the app passes),
  the atrial rule instead: COSEn above ``AF_ATRIAL_COSEN_ON`` / ``AF_ATRIAL_COSEN_OFF``, in
  windows with no P wave before the beats (``af_features.windowed_p_wave`` under
  ``AF_P_PRESENT``); gaps under ``AF_MERGE_S`` are bridged, episodes under
  ``AF_MIN_S`` dropped; its edges then move to where the lag differences turn irregular. The
  former statistic (``af_irregularity``: the median of each interval's smallest difference
  from the ``AF_LAGS`` before it, over the median RR) is still computed, for the edges and for
  a rule that needs both (``AF_ON``). The classical baseline (``af_baseline``: normalised
  RMSSD over every interval) is kept for the benchmark;
* ``VT`` / ``SVT``: runs of at least 3 consecutive V / A beats faster than 100 bpm;
* ``IVR``: a run of at least 3 consecutive V beats at 100 bpm or slower: idioventricular
  rhythm (accelerated above 50 bpm), a slow ventricular run. Without it the class table listed
  such a run while the events said "no event" (``benchmarks/ventricular_runs_ds1.py``);
* ``VFL``: runs of at least 3 consecutive flutter (``!``) beats;
* ``bigeminy`` / ``trigeminy``: at least 3 cycles of one V after every one / two other beats;
* ``pause``: an RR interval over 2 s, or no beat for over 2 s at the recording's start or end
  (``edge_pauses``: a recording that ends in asystole);
* ``bradycardia`` / ``tachycardia``: the heart rate over 8-beat running medians under 50 / over
  100 bpm for at least 10 s, outside AF, VT, SVT and flutter episodes (which say more).

Only what could be read makes an episode (``detect_episodes(..., states=, unreadable_s=)``): a
beat whose state (``ecg.features.beat_states``) is not "classified" has no class here, so it
breaks a VT / SVT / flutter run or a bigeminy / trigeminy pattern and never joins one; an RR
interval that touches an unreadable beat or crosses an unreadable stretch is no interval, so it
makes no pause, no AF irregularity and no heart rate, and no AF episode spans it (an uncertain
beat is still a heartbeat: its intervals count, for AF too, as in the rhythm summary).

``episode_scores`` scores detected episodes against reference ones as ANSI/AAMI EC57 does
(episode and duration sensitivity and positive predictivity).

Long on purpose: the rules, the reference reader and the scoring live together so what is
detected and what it is measured against cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ecg.features.af_features import ectopic_skip, windowed_cosen, windowed_p_wave
from ecg.features.beat_states import CLASSIFIED, UNREADABLE

# AF: chosen on DS1 (its AF records are 201 and 203) by the best worst of the four EC57 scores
# over a grid (benchmarks/af_parameters_ds1.py, docs/episodes.md); never on DS2.
AF_WINDOW = 90  # RR intervals per irregularity window (about 70 s at 75 bpm)
AF_LAGS = 3  # each interval against the 3 before it: bigeminy and trigeminy repeat within 3
AF_MIN_SHARE = 0.5  # of a window's intervals left after ectopy, or the window has no score
# The episode rule: COSEn (ecg.features.af_features.windowed_cosen) of the same windows above
# AF_COSEN_ON starts an episode, above AF_COSEN_OFF keeps it going; the irregularity
# (af_irregularity) above AF_ON / AF_OFF is needed too when AF_ON is set. Chosen on DS1 over
# the shipped irregularity rule (AF_ON 0.08 / AF_OFF 0.056, no COSEn) by
# benchmarks/af_cosen_ds1.py's written rule: COSEn alone won; DS2 only reported.
AF_COSEN_ON: float | None = -0.6
AF_COSEN_OFF: float | None = -0.8
# With the signal of the analysed lead (as the app passes it), the atrial rule replaces the one
# above: COSEn above AF_ATRIAL_COSEN_ON starts an episode and above AF_ATRIAL_COSEN_OFF keeps it
# going unless the window has a P wave (its P-wave consistency,
# ecg.features.af_features.windowed_p_wave, at or above AF_P_PRESENT; a window where it cannot
# be measured is not vetoed). Chosen on DS1 over the COSEn rule by
# benchmarks/af_atrial_ds1.py's written rule; DS2 only reported. AF_P_PRESENT None: no atrial
# rule.
AF_P_PRESENT: float | None = 0.2
AF_ATRIAL_COSEN_ON = -0.8
AF_ATRIAL_COSEN_OFF = -1.0
AF_ON: float | None = None  # irregularity that must also start an episode (None: not needed)
AF_OFF: float | None = None  # and keep it going
# A lag difference above this marks an irregular interval for the edge refinement (the DS1
# AF_OFF when the refinement was added; kept apart so a new rule does not move it).
AF_EDGE = 0.056
AF_MIN_S = 30.0
AF_MERGE_S = 10.0
# Under a COSEn rule, an unscored window (COSEn NaN: under AF_MIN_SHARE of its intervals left
# once the intervals next to classified V beats are out) keeps an ongoing episode instead of
# ending it (it never starts one, nor carries one across an unusable interval): a stretch of
# many V calls inside AF is no evidence that the AF ended (benchmarks/af_carry_ds1.py).
AF_CARRY_UNSCORED = True
# The beat classes whose intervals the AF rule leaves out (into and out of each such classified
# beat): ventricular beats and ventricular flutter waves, whose timing says nothing of the atria
# (flutter waves, fast and irregular, read as AF in DS1's 207). "!" joined "V" on DS1 by
# benchmarks/af_flutter_edges_ds1.py's written rule; DS2 only reported.
AF_VENTRICULAR: tuple[str, ...] = ("V", "!")
# Whether an edge refinement stops where the window has a P wave (an AF episode is not moved out
# over sinus rhythm with ectopy, whose RR differences are irregular but whose P waves are there);
# tried on DS1 by benchmarks/af_flutter_edges_ds1.py and not chosen (it cost duration Se).
AF_EDGE_STOPS_AT_P_WAVE = False
PREMATURE_CONTEXT = 9  # intervals of the local median for an isolated premature beat
# The classical baseline (af_baseline), as first shipped: never tuned further.
BASELINE_WINDOW = 32
BASELINE_THRESHOLD = 0.11
RUN_MIN_BEATS = 3
# Runs of V beats at FAST_BPM or slower as IVR episodes (benchmarks/ventricular_runs_ds1.py's
# written rule decides; False: such runs are no episode, as before).
SLOW_VENTRICULAR_RUNS = True
FAST_BPM = 100.0
SLOW_BPM = 50.0
RATE_MIN_S = 10.0
PAUSE_S = 2.0
RATE_SMOOTH_BEATS = 8
PATTERN_MIN_CYCLES = 3

# What the page, the PDF and the API call each kind (``Episode.label``).
EPISODE_LABELS = {
    "AF": "Atrial fibrillation / flutter",
    "VT": "Ventricular tachycardia run",
    "IVR": "Idioventricular rhythm",
    "SVT": "Supraventricular tachycardia run",
    "VFL": "Ventricular flutter run",
    "bigeminy": "Ventricular bigeminy",
    "trigeminy": "Ventricular trigeminy",
    "pause": f"Pause (RR > {PAUSE_S:g} s)",
    "bradycardia": f"Bradycardia (< {SLOW_BPM:g} bpm)",
    "tachycardia": f"Tachycardia (> {FAST_BPM:g} bpm)",
}
EPISODE_KINDS = tuple(EPISODE_LABELS)
# What a reader must know about a kind before trusting it: shown under the events where one is
# listed (the page and the PDF).
EPISODE_CAVEATS = {
    "IVR": "Idioventricular rhythm: a run of beats the model calls ventricular (V) at "
    f"{FAST_BPM:g} bpm or slower. The model knows no paced beats: a ventricular paced rhythm "
    "shows as one.",
}


@dataclass(frozen=True)
class Episode:
    kind: str
    start_s: float
    end_s: float
    beats: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def label(self) -> str:
        if self.kind == "pause" and self.beats == 1:  # (``edge_pauses``: one beat, one edge)
            edge = "start" if self.start_s == 0 else "end"
            return f"Pause (no beat for over {PAUSE_S:g} s at the recording's {edge})"
        return EPISODE_LABELS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, float | int | str]:
        """kind, label, start_s, end_s, duration_s, beats: a row of ``summary["episodes"]``."""
        return {
            "kind": self.kind,
            "label": self.label,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "duration_s": round(self.duration_s, 2),
            "beats": self.beats,
        }


def _intervals_from_mask(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) index pairs of every maximal run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def usable_intervals(
    peaks: np.ndarray,
    fs: float,
    *,
    states: Sequence[str] | None = None,
    unreadable_s: Sequence[tuple[float, float]] = (),
) -> np.ndarray:
    """Per RR interval, whether it is one: both beats readable (``states``) and no unreadable
    stretch (``unreadable_s``, (start, end) in seconds) between them. A flat or noisy stretch
    often holds no detected beat at all, so the beats' states alone cannot see it."""
    peaks = np.asarray(peaks, np.int64)
    usable = np.ones(max(peaks.size - 1, 0), dtype=bool)
    if states is not None and usable.size:
        readable = np.asarray(states) != UNREADABLE
        usable &= readable[1:] & readable[:-1]
    if len(unreadable_s) and usable.size:
        spans = _merged(unreadable_s)
        t = peaks / fs
        # The first stretch ending after each interval's start crosses it if it starts before
        # the interval's end (stretches merged, so their ends rise with their starts).
        first = np.searchsorted(spans[:, 1], t[:-1], side="right")
        inside = first < len(spans)
        crosses = np.zeros(usable.size, dtype=bool)
        crosses[inside] = spans[first[inside], 0] < t[1:][inside]
        usable &= ~crosses
    return usable


def _merged(spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """Sorted, overlapping or touching spans joined: an (n, 2) array."""
    out: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _split_at(runs: list[tuple[int, int]], broken: np.ndarray) -> list[tuple[int, int]]:
    """Beat runs (first, last + 1) cut where an interval inside them is ``broken``."""
    out = []
    for a, b in runs:
        cuts = (np.flatnonzero(broken[a : b - 1]) + a + 1).tolist()
        edges = [a, *cuts, b]
        out += list(zip(edges[:-1], edges[1:], strict=True))
    return out


# Windows reduced this many at a time: a median over a sliding-window view copies the windows
# (90 intervals x every beat of a 24-hour recording is 80 MB of float64), a block at a time
# keeps the worker's memory flat whatever the recording's length.
WINDOW_BLOCK = 2048


def _windowed(
    values: np.ndarray, width: int, reduce: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``reduce(windows, axis=1)`` over every ``width``-long window of ``values``, computed a
    block of windows at a time (the same figures as one call)."""
    view = np.lib.stride_tricks.sliding_window_view(values, width)
    out = np.empty(len(view), dtype=np.float64)
    for lo in range(0, len(view), WINDOW_BLOCK):
        out[lo : lo + WINDOW_BLOCK] = reduce(view[lo : lo + WINDOW_BLOCK])
    return out


def _median_rows(windows: np.ndarray) -> np.ndarray:
    return np.median(windows, axis=1)


def _nearest_centre(values: np.ndarray, n: int, half: int) -> np.ndarray:
    """Sliding-window results (``n - window + 1``) spread over ``n`` positions: each takes the
    window centred on it, the first and last ``half`` the nearest window's."""
    tail = n - values.size - half
    return np.concatenate([np.full(half, values[0]), values, np.full(tail, values[-1])])


def isolated_premature(rr: np.ndarray) -> np.ndarray:
    """Per RR interval, whether it ends on an isolated premature beat in a regular rhythm: short
    (< 85 % of the local median), followed by a long one (> 110 %), with the intervals either side
    of the pair within 10 % of the median. In AF the neighbours are irregular too, so few AF
    intervals are taken for ectopy. (Set a priori, not tuned.)"""
    rr = np.asarray(rr, np.float64)
    out = np.zeros(rr.size, dtype=bool)
    if rr.size < PREMATURE_CONTEXT:
        return out
    med = _nearest_centre(
        _windowed(rr, PREMATURE_CONTEXT, _median_rows), rr.size, PREMATURE_CONTEXT // 2
    )
    near = np.abs(rr - med) < 0.1 * med
    short, long = rr < 0.85 * med, rr > 1.1 * med
    out[1:-2] = short[1:-2] & long[2:-1] & near[:-3] & near[3:]
    return out


def _lag_differences(rr: np.ndarray, skip: np.ndarray | None) -> np.ndarray:
    """Per interval, its smallest absolute difference from the ``AF_LAGS`` intervals before it
    over the local median RR (NaN for the first interval and those in ``skip``)."""
    n = rr.size
    diff = np.full(n, np.inf)
    for lag in range(1, AF_LAGS + 1):
        diff[lag:] = np.minimum(diff[lag:], np.abs(rr[lag:] - rr[:-lag]))
    diff[:1] = np.nan  # the first interval has nothing before it
    diff /= _nearest_centre(_windowed(rr, AF_WINDOW, _median_rows), n, AF_WINDOW // 2)
    if skip is not None:
        diff[np.asarray(skip, dtype=bool)] = np.nan
    return diff


def rr_irregularity(rr: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Per RR interval of one unbroken stretch, the AF irregularity around it: the median over a
    window of ``AF_WINDOW`` intervals of each interval's smallest absolute difference from the
    ``AF_LAGS`` intervals before it, over the window's median RR. Taking the smallest of three
    differences keeps a repeating pattern (bigeminy, trigeminy, a premature beat and its pause)
    near 0 while AF, irregular at every lag, stays high. Intervals in ``skip`` (ectopy) have no
    difference; a window with fewer than ``AF_MIN_SHARE`` of its intervals left is NaN."""
    rr = np.asarray(rr, np.float64)
    n = rr.size
    if n < AF_WINDOW:
        return np.full(n, np.nan)
    score = _windowed(_lag_differences(rr, skip), AF_WINDOW, _median_if_enough)
    return _nearest_centre(score, n, AF_WINDOW // 2)


def _median_if_enough(windows: np.ndarray) -> np.ndarray:
    """Per window, the median of its defined values; NaN where fewer than AF_MIN_SHARE are."""
    counts = np.sum(~np.isnan(windows), axis=1)
    score = np.full(counts.size, np.nan)
    enough = counts >= AF_MIN_SHARE * windows.shape[1]
    if enough.any():
        score[enough] = np.nanmedian(windows[enough], axis=1)
    return score


def af_irregularity(
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    states: Sequence[str] | None = None,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """Per RR interval, ``rr_irregularity`` within its unbroken stretch of usable intervals
    (``usable_intervals``; NaN outside them). The beat classes only leave out intervals next to
    a classified V (the interval into it and the one out of it; the interval after a
    compensatory pause is not left out); isolated premature beats are found from the RR
    intervals alone (``isolated_premature``). An uncertain beat's intervals count: its timing
    is known even when its class is not."""
    return _af_scores(peaks, labels, fs, states=states, usable=usable)[0]


def _uses_cosen() -> bool:
    return AF_COSEN_ON is not None


def _ventricular(labels: Sequence[str], states: Sequence[str] | None) -> np.ndarray:
    """Per beat, whether it is a classified beat of an ``AF_VENTRICULAR`` class."""
    ventricular = np.isin(np.asarray(labels), AF_VENTRICULAR)
    if states is not None:
        ventricular &= np.asarray(states) == CLASSIFIED
    return ventricular


def ventricular_skip(ventricular: np.ndarray) -> np.ndarray:
    """Per RR interval (one fewer than ``ventricular``, a flag per beat): the intervals into and
    out of a V beat, which the AF statistic leaves out (not the one after a pause that
    follows)."""
    v = np.asarray(ventricular, dtype=bool)
    skip = np.zeros(max(v.size - 1, 0), dtype=bool)
    if skip.size:
        skip |= v[1:] | v[:-1]
    return skip


def premature_skip(rr: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """``skip`` (per interval of ``rr``) plus each isolated premature interval of ``rr``
    (``isolated_premature``) and the two after it."""
    premature = isolated_premature(rr)
    out = premature.copy() if skip is None else np.asarray(skip, dtype=bool) | premature
    out[1:] |= premature[:-1]
    out[2:] |= premature[:-2]
    return out


def _af_scores(
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    states: Sequence[str] | None,
    usable: np.ndarray | None,
    cosen: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per interval: the window score (``af_irregularity``), the lag difference (NaN where left
    out), whether the interval is usable for AF and the window's COSEn (``windowed_cosen``
    over the same windows, the same intervals left out; all NaN unless ``cosen``)."""
    peaks = np.asarray(peaks, np.int64)
    rr = np.diff(peaks.astype(np.float64)) / fs
    ok = (rr >= 0.2) & (rr <= 3.0)
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    skip = np.zeros(rr.size, dtype=bool)
    if labels is not None and rr.size:
        skip = ventricular_skip(_ventricular(labels, states))
    values, diffs = np.full(rr.size, np.nan), np.full(rr.size, np.nan)
    entropy = np.full(rr.size, np.nan)
    for a, b in _intervals_from_mask(ok):
        if b - a < AF_WINDOW:
            continue
        stretch_skip = premature_skip(rr[a:b], skip[a:b])
        values[a:b] = rr_irregularity(rr[a:b], stretch_skip)
        diffs[a:b] = _lag_differences(rr[a:b], stretch_skip)
        if cosen:
            entropy[a:b] = windowed_cosen(
                rr[a:b], stretch_skip, width=AF_WINDOW, min_share=AF_MIN_SHARE
            )
    return values, diffs, ok, entropy


def _change_point(irregular: np.ndarray) -> int:
    """Where a run of booleans (NaN-free) best splits into two levels by least squares: the
    first index of the second part."""
    x = irregular.astype(np.float64)
    if x.size < 2:
        return 0
    k = np.arange(1, x.size)
    left, total = np.cumsum(x)[:-1], x.sum()
    # The split with the largest between-part sum of squares leaves the least within them.
    gain = left**2 / k + (total - left) ** 2 / (x.size - k)
    return int(k[np.argmax(gain)])


def _refined(
    runs: list[tuple[int, int]],
    diffs: np.ndarray,
    ok: np.ndarray,
    stops: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Each run (intervals a .. b-1) with its start and end moved to where the intervals turn
    irregular / regular (each lag difference above ``AF_EDGE`` or not), searched from a window
    before to half a window inside each edge, and only outwards; never into a neighbouring run
    or past an unusable interval. The window median moves only once most of the window is AF,
    so the raw edges lag the onset and lead the offset by tens of beats (24-67 on the tests'
    synthetic AF; 0-6 after this). With ``stops`` (per interval), an edge is not moved out over
    a flagged interval either (``AF_EDGE_STOPS_AT_P_WAVE``: a window with a P wave)."""
    stretches = _intervals_from_mask(ok)
    stop_at = np.flatnonzero(stops) if stops is not None else np.zeros(0, dtype=np.int64)
    out: list[tuple[int, int]] = []
    for i, (a, b) in enumerate(runs):
        first, stop = next((s, e) for s, e in stretches if s <= a < e)
        before = max(first, out[-1][1] if out else first)
        after = min(stop, runs[i + 1][0] if i + 1 < len(runs) else stop)
        earlier, later = stop_at[stop_at < a], stop_at[stop_at >= b]
        if earlier.size:
            before = max(before, int(earlier[-1]) + 1)
        if later.size:
            after = min(after, int(later[0]))
        start, end = a, b
        lo, hi = max(a - AF_WINDOW, before), min(a + AF_WINDOW // 2, b)
        keep = np.flatnonzero(~np.isnan(diffs[lo:hi])) + lo
        if keep.size >= 2:
            start = min(a, int(keep[_change_point(diffs[keep] > AF_EDGE)]))
        lo, hi = max(b - AF_WINDOW // 2, start + 1), min(b + AF_WINDOW, after)
        keep = np.flatnonzero(~np.isnan(diffs[lo:hi])) + lo
        if keep.size >= 2:
            end = max(b, int(keep[_change_point(diffs[keep] > AF_EDGE)]))
        if end > start:
            out.append((start, end))
    return out


def _hysteresis(
    start: np.ndarray, stay: np.ndarray, segments: np.ndarray | None = None
) -> np.ndarray:
    """True from where ``start`` is True for as long as ``stay`` is (a score above its ``on``
    and above its ``off`` threshold: NaN compares False, so it ends an episode and starts
    none). With ``segments`` (an id per element), an episode ends where the id changes."""
    out = np.zeros(start.size, dtype=bool)
    ids = np.zeros(start.size, dtype=np.int64) if segments is None else np.asarray(segments)
    active, previous = False, None
    for i, (begin, go_on, seg) in enumerate(
        zip(start.tolist(), stay.tolist(), ids.tolist(), strict=True)
    ):
        active = go_on if active and seg == previous else begin
        out[i], previous = active, seg
    return out


def _p_wave_present(atrial: np.ndarray | None, size: int) -> np.ndarray:
    """Per interval, whether its window has a P wave (consistency >= ``AF_P_PRESENT``); none
    without the atrial feature, and a NaN consistency is not present."""
    if atrial is None or AF_P_PRESENT is None:
        return np.zeros(size, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(atrial) >= AF_P_PRESENT


def af_window_flags(
    score: np.ndarray, entropy: np.ndarray, atrial: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per interval, whether its window may start an AF episode and whether it may keep one
    going. With ``atrial`` (the window's P-wave consistency) and ``AF_P_PRESENT`` set: COSEn
    (``entropy``) above ``AF_ATRIAL_COSEN_ON`` / ``AF_ATRIAL_COSEN_OFF`` unless a P wave is
    present (``atrial`` >= ``AF_P_PRESENT``). Otherwise COSEn above ``AF_COSEN_ON`` /
    ``AF_COSEN_OFF`` when set, and the irregularity (``score``) above ``AF_ON`` / ``AF_OFF``
    when set. NaN is never above, and a NaN P wave is not present."""
    with np.errstate(invalid="ignore"):
        if atrial is not None and AF_P_PRESENT is not None:
            present = _p_wave_present(atrial, entropy.size)
            start = (entropy > AF_ATRIAL_COSEN_ON) & ~present
            return start, (entropy > AF_ATRIAL_COSEN_OFF) & ~present
        if AF_ON is None:  # COSEn alone (or no rule at all: then no window starts one)
            start = stay = np.full(score.size, AF_COSEN_ON is not None)
        else:
            start, stay = score > AF_ON, score > AF_OFF
        if AF_COSEN_ON is not None:
            off = AF_COSEN_ON if AF_COSEN_OFF is None else AF_COSEN_OFF
            start, stay = start & (entropy > AF_COSEN_ON), stay & (entropy > off)
    return start, stay


def af_episodes(
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    states: Sequence[str] | None = None,
    usable: np.ndarray | None = None,
    refine_edges: bool = True,
    signal: np.ndarray | None = None,
) -> list[Episode]:
    """AF / flutter episodes: from where a window may start one until none may keep it going
    (``af_window_flags``: the window's COSEn above ``AF_COSEN_ON`` / ``AF_COSEN_OFF``, and
    ``af_irregularity`` above ``AF_ON`` / ``AF_OFF`` when the rule uses it; with ``signal``,
    the lead the beats were found on at ``fs``, COSEn above ``AF_ATRIAL_COSEN_ON`` /
    ``AF_ATRIAL_COSEN_OFF`` unless the window has a P wave); gaps under
    ``AF_MERGE_S`` bridged unless an unusable interval lies in the gap; episodes under
    ``AF_MIN_S`` dropped; then each edge moved out to where the rhythm turns irregular
    (``refine_edges``; off only for the benchmark's comparison). Never across an unreadable
    stretch (``usable``)."""
    peaks = np.asarray(peaks, np.int64)
    if peaks.size <= AF_WINDOW:
        return []
    scores = _af_scores(peaks, labels, fs, states=states, usable=usable, cosen=_uses_cosen())
    atrial = None
    if signal is not None and AF_P_PRESENT is not None and _uses_cosen():
        atrial = atrial_scores(signal, peaks, labels, fs, ok=scores[2], states=states)
    return af_episodes_from_scores(
        peaks, fs, scores, usable=usable, refine_edges=refine_edges, atrial=atrial
    )


def atrial_scores(
    signal: np.ndarray,
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    ok: np.ndarray,
    states: Sequence[str] | None = None,
) -> np.ndarray:
    """Per interval, the P-wave consistency of its AF window (``windowed_p_wave``) over the
    intervals the AF rule uses (``ok``: usable, RR 0.2-3 s) less the ectopy it leaves out
    (``ectopic_skip``: next to a classified V, isolated premature beats), so an ectopic beat's
    missing or odd P wave does not count."""
    peaks = np.asarray(peaks, np.int64)
    rr = np.diff(peaks.astype(np.float64)) / fs
    ventricular = None if labels is None else _ventricular(labels, states)
    keep = np.asarray(ok, dtype=bool) & ~ectopic_skip(rr, ventricular)
    return windowed_p_wave(signal, peaks, fs, keep, width=AF_WINDOW)


def af_episodes_from_scores(
    peaks: np.ndarray,
    fs: float,
    scores: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    usable: np.ndarray | None = None,
    refine_edges: bool = True,
    atrial: np.ndarray | None = None,
) -> list[Episode]:
    """``af_episodes`` from its per-interval scores (``_af_scores``, and ``atrial_scores`` for
    the atrial rule), so a parameter search (``benchmarks/af_cosen_ds1.py``,
    ``benchmarks/af_atrial_ds1.py``) computes them once per record, not once per point."""
    peaks = np.asarray(peaks, np.int64)
    score, diffs, ok, entropy = scores
    broken = np.concatenate([[0], np.cumsum(_broken(usable, peaks.size))])
    merged: list[list[int]] = []  # [first beat, last beat] of each episode
    start, stay = af_window_flags(score, entropy, atrial)
    segments = None
    if AF_CARRY_UNSCORED and _uses_cosen():  # "unscored" is a COSEn rule's NaN window
        stay = stay | (np.isnan(entropy) & ~_p_wave_present(atrial, entropy.size))
        segments = np.cumsum(_broken(usable, peaks.size))  # a new id past each unusable interval
    for a, b in _intervals_from_mask(_hysteresis(start, stay, segments)):  # a .. b
        if (
            merged
            and (peaks[a] - peaks[merged[-1][1]]) / fs < AF_MERGE_S
            and broken[a] == broken[merged[-1][1]]
        ):
            merged[-1][1] = b
        else:
            merged.append([a, b])
    # Which episodes exist is the window score's call (AF_MIN_S on its edges, as chosen on DS1);
    # the change points only move their edges outwards.
    kept = [(a, b) for a, b in merged if (peaks[b] - peaks[a]) / fs >= AF_MIN_S]
    edge_stops = None
    if AF_EDGE_STOPS_AT_P_WAVE and atrial is not None:
        edge_stops = _p_wave_present(atrial, entropy.size)
    return [
        Episode("AF", round(peaks[a] / fs, 2), round(peaks[b] / fs, 2), int(b - a + 1))
        for a, b in (_refined(kept, diffs, ok, edge_stops) if refine_edges else kept)
    ]


def _baseline_irregularity(rr: np.ndarray) -> np.ndarray:
    """Per RR interval, median |dRR| over median RR in the ``BASELINE_WINDOW`` around it."""
    score = np.full(rr.size, np.nan)
    if rr.size <= BASELINE_WINDOW:
        return score
    diffs = np.abs(np.diff(rr))
    values = _windowed(diffs, BASELINE_WINDOW, _median_rows) / _windowed(
        rr[:-1], BASELINE_WINDOW, _median_rows
    )
    return _nearest_centre(values, rr.size, BASELINE_WINDOW // 2)


def af_baseline(peaks: np.ndarray, fs: float) -> list[Episode]:
    """The classical RR-irregularity detector, the benchmark's baseline: a robust normalised
    RMSSD (median |dRR| over median RR) over ``BASELINE_WINDOW`` intervals above
    ``BASELINE_THRESHOLD`` on every interval, ectopy and all; no hysteresis; the same
    ``AF_MIN_S`` and ``AF_MERGE_S``."""
    peaks = np.asarray(peaks, np.int64)
    rr = np.diff(peaks) / fs
    irregular = np.nan_to_num(_baseline_irregularity(rr)) > BASELINE_THRESHOLD
    merged: list[list[int]] = []
    for a, b in _intervals_from_mask(irregular):
        if merged and (peaks[a] - peaks[merged[-1][1]]) / fs < AF_MERGE_S:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [
        Episode("AF", round(peaks[a] / fs, 2), round(peaks[b] / fs, 2), int(b - a + 1))
        for a, b in merged
        if (peaks[b] - peaks[a]) / fs >= AF_MIN_S
    ]


def _broken(usable: np.ndarray | None, n_beats: int) -> np.ndarray:
    """Per interval, True where it is not usable (none broken when ``usable`` is None)."""
    if usable is None:
        return np.zeros(max(n_beats - 1, 0), dtype=bool)
    return ~np.asarray(usable, dtype=bool)


def run_episodes(
    peaks: np.ndarray, labels: Sequence[str], fs: float, *, usable: np.ndarray | None = None
) -> list[Episode]:
    """VT, IVR, SVT and flutter runs (a run never spans an interval that is not ``usable``)."""
    peaks, labels = np.asarray(peaks, np.int64), np.asarray(labels)
    broken = _broken(usable, peaks.size)
    out = []
    # (beat class, kind of a fast run, kind of a slow one: None, not an episode)
    kinds = (("V", "VT", "IVR" if SLOW_VENTRICULAR_RUNS else None), ("A", "SVT", None),
             ("!", "VFL", "VFL"))  # fmt: skip
    for code, fast, slow in kinds:
        runs = _split_at(_intervals_from_mask(labels == code), broken)
        for a, b in [(a, b) for a, b in runs if b - a >= RUN_MIN_BEATS]:
            rate = 60.0 * (b - a - 1) / max((peaks[b - 1] - peaks[a]) / fs, 1e-9)
            kind = fast if rate > FAST_BPM else slow
            if kind is not None:
                start, end = round(peaks[a] / fs, 2), round(peaks[b - 1] / fs, 2)
                out.append(Episode(kind, start, end, b - a))
    return out


def pattern_episodes(
    peaks: np.ndarray, labels: Sequence[str], fs: float, *, usable: np.ndarray | None = None
) -> list[Episode]:
    """Ventricular bigeminy (V every 2nd beat) and trigeminy (every 3rd), >= 3 cycles. A beat
    without a class (label "") or an interval that is not ``usable`` ends a pattern."""
    peaks, labels = np.asarray(peaks, np.int64), np.asarray(labels)
    is_v = labels == "V"
    # Cumulative counts: classless beats up to each beat, broken intervals before each beat.
    classless = np.concatenate([[0], np.cumsum(labels == "")])
    broken = np.concatenate([[0], np.cumsum(_broken(usable, peaks.size))])
    out = []
    for kind, period in (("bigeminy", 2), ("trigeminy", 3)):
        v_index = np.flatnonzero(is_v)
        if v_index.size < PATTERN_MIN_CYCLES:
            continue
        # A cycle: the next V exactly ``period`` beats later with only non-V beats between.
        step_ok = np.diff(v_index) == period
        first_v, next_v = v_index[:-1], v_index[1:]
        step_ok &= classless[next_v] - classless[first_v + 1] == 0  # beats between have a class
        step_ok &= broken[next_v] - broken[first_v] == 0
        for a, b in _intervals_from_mask(step_ok):
            cycles = b - a
            if cycles >= PATTERN_MIN_CYCLES - 1:
                first, last = v_index[a], v_index[b]
                out.append(
                    Episode(
                        kind,
                        round(peaks[first] / fs, 2),
                        round(peaks[last] / fs, 2),
                        int(last - first + 1),
                    )
                )
    return out


def pause_episodes(
    peaks: np.ndarray, fs: float, *, usable: np.ndarray | None = None
) -> list[Episode]:
    """RR intervals over ``PAUSE_S``; a gap over unreadable signal (not ``usable``) is none."""
    peaks = np.asarray(peaks, np.int64)
    rr = np.diff(peaks) / fs
    long = (rr > PAUSE_S) & ~_broken(usable, peaks.size)
    return [
        Episode("pause", round(peaks[i] / fs, 2), round(peaks[i + 1] / fs, 2), 2)
        for i in np.flatnonzero(long).tolist()
    ]


def edge_pauses(
    peaks: np.ndarray,
    fs: float,
    duration_s: float,
    *,
    states: Sequence[str] | None = None,
    unreadable_s: Sequence[tuple[float, float]] = (),
) -> list[Episode]:
    """No beat for over ``PAUSE_S`` before the first beat or after the last one, over readable
    signal: a recording that ends (or starts) in asystole. Its one RR interval is open, so
    ``pause_episodes`` cannot see it; the episode runs from the recording's edge to the beat
    (one beat). The beat at that edge must be readable and no unreadable stretch may lie in
    the gap: a lead taken off at the end is no pause."""
    peaks = np.asarray(peaks, np.int64)
    if peaks.size == 0:
        return []
    t = peaks / fs
    states = None if states is None else np.asarray(states)
    spans = _merged(unreadable_s) if len(unreadable_s) else np.empty((0, 2))

    def readable_gap(start: float, end: float, beat: int) -> bool:
        if states is not None and states[beat] == UNREADABLE:
            return False
        return not bool(((spans[:, 0] < end) & (spans[:, 1] > start)).any())

    out = []
    if t[0] > PAUSE_S and readable_gap(0.0, float(t[0]), 0):
        out.append(Episode("pause", 0.0, round(float(t[0]), 2), 1))
    if duration_s - t[-1] > PAUSE_S and readable_gap(float(t[-1]), duration_s, -1):
        out.append(Episode("pause", round(float(t[-1]), 2), round(float(duration_s), 2), 1))
    return out


def rate_episodes(
    peaks: np.ndarray,
    fs: float,
    *,
    exclude: Sequence[Episode] = (),
    usable: np.ndarray | None = None,
) -> list[Episode]:
    """Sustained bradycardia / tachycardia outside the episodes in ``exclude``; a running
    median window holding an interval that is not ``usable`` has no rate."""
    peaks = np.asarray(peaks, np.int64)
    if peaks.size <= RATE_SMOOTH_BEATS:
        return []
    rr = np.diff(peaks) / fs
    rr = np.where(_broken(usable, peaks.size), np.nan, rr)  # NaN medians compare False
    smooth = _windowed(rr, RATE_SMOOTH_BEATS, _median_rows)
    bpm = 60.0 / smooth  # entry i covers intervals i .. i + RATE_SMOOTH_BEATS - 1
    times = peaks[RATE_SMOOTH_BEATS // 2 : RATE_SMOOTH_BEATS // 2 + bpm.size] / fs
    covered = np.zeros(times.size, dtype=bool)
    for episode in exclude:
        covered |= (times >= episode.start_s) & (times <= episode.end_s)
    out = []
    for kind, mask in (("bradycardia", bpm < SLOW_BPM), ("tachycardia", bpm > FAST_BPM)):
        for a, b in _intervals_from_mask(mask & ~covered):
            start, end = float(times[a]), float(times[b - 1])
            if end - start >= RATE_MIN_S:
                out.append(Episode(kind, round(start, 2), round(end, 2), b - a))
    return out


def _classified_labels(
    labels: Sequence[str], states: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The labels with "" for every beat that is not classified, and the states as an array."""
    labels = np.asarray(labels, dtype=str)
    if states is None:
        return labels, None
    states = np.asarray(states, dtype=str)
    if states.shape != labels.shape:
        raise ValueError(f"{labels.size} labels but {states.size} states")
    return np.where(states == CLASSIFIED, labels, ""), states


def detect_af(
    peaks: np.ndarray,
    labels: Sequence[str],
    fs: float,
    *,
    states: Sequence[str] | None = None,
    unreadable_s: Sequence[tuple[float, float]] = (),
    signal: np.ndarray | None = None,
) -> list[Episode]:
    """The AF episodes of ``detect_episodes`` alone (same arguments): the analysis needs them
    before the other kinds, to read A calls inside AF (``ecg.features.af_context``). They
    depend on the classes only through the classified V beats."""
    peaks = np.asarray(peaks, np.int64)
    labels, states = _classified_labels(labels, states)
    usable = usable_intervals(peaks, fs, states=states, unreadable_s=unreadable_s)
    return af_episodes(peaks, labels, fs, usable=usable, signal=signal)


def detect_episodes(
    peaks: np.ndarray,
    labels: Sequence[str],
    fs: float,
    *,
    states: Sequence[str] | None = None,
    unreadable_s: Sequence[tuple[float, float]] = (),
    signal: np.ndarray | None = None,
    af: list[Episode] | None = None,
    duration_s: float | None = None,
) -> list[Episode]:
    """Every episode kind, in time order. With ``states`` (one per beat), only classified beats
    keep their class; with ``unreadable_s`` ((start, end) seconds of unreadable signal), no
    interval crosses those stretches (see the module's docstring); with ``signal`` (the lead
    the beats were found on, at ``fs``), AF uses the atrial rule (``af_episodes``). ``af``:
    the AF episodes when the caller found them already (``detect_af`` on the same beats).
    ``duration_s``: the recording's length, for pauses at its start and end (``edge_pauses``)."""
    peaks = np.asarray(peaks, np.int64)
    labels, states = _classified_labels(labels, states)
    usable = usable_intervals(peaks, fs, states=states, unreadable_s=unreadable_s)
    if af is None:
        af = af_episodes(peaks, labels, fs, usable=usable, signal=signal)
    runs = run_episodes(peaks, labels, fs, usable=usable)
    episodes = af + runs + pattern_episodes(peaks, labels, fs, usable=usable)
    episodes += pause_episodes(peaks, fs, usable=usable)
    if duration_s is not None:
        episodes += edge_pauses(peaks, fs, duration_s, states=states, unreadable_s=unreadable_s)
    episodes += rate_episodes(peaks, fs, exclude=af + runs, usable=usable)
    return sorted(episodes, key=lambda e: (e.start_s, e.kind))


# -- scoring (EC57) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeScore:
    reference_episodes: int
    detected_episodes: int
    episode_sensitivity: float | None  # reference episodes overlapped by a detection
    episode_positive_predictivity: float | None  # detections overlapping a reference episode
    reference_s: float
    detected_s: float
    overlap_s: float
    duration_sensitivity: float | None  # overlap / reference duration
    duration_positive_predictivity: float | None  # overlap / detected duration

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def span_overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds two (start, end) spans share."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def episode_scores(
    reference: Sequence[tuple[float, float]], detected: Sequence[tuple[float, float]]
) -> EpisodeScore:
    """EC57 episode and duration sensitivity / positive predictivity of ``detected`` (start, end
    in seconds) against ``reference`` intervals of one recording (or pooled recordings)."""
    hit_ref = sum(any(span_overlap(r, d) > 0 for d in detected) for r in reference)
    hit_det = sum(any(span_overlap(d, r) > 0 for r in reference) for d in detected)
    overlap = sum(span_overlap(r, d) for r in reference for d in detected)
    ref_s = sum(e - s for s, e in reference)
    det_s = sum(e - s for s, e in detected)

    def share(num: float, den: float) -> float | None:
        return round(num / den, 4) if den else None

    return EpisodeScore(
        reference_episodes=len(reference),
        detected_episodes=len(detected),
        episode_sensitivity=share(hit_ref, len(reference)),
        episode_positive_predictivity=share(hit_det, len(detected)),
        reference_s=round(ref_s, 2),
        detected_s=round(det_s, 2),
        overlap_s=round(overlap, 2),
        duration_sensitivity=share(overlap, ref_s),
        duration_positive_predictivity=share(overlap, det_s),
    )


def reference_rhythm_intervals(
    samples: np.ndarray, symbols: Sequence[str], aux_notes: Sequence[str], fs: float,
    n_samples: int, rhythms: Sequence[str],
) -> list[tuple[float, float]]:  # fmt: skip
    """Intervals (s) of the reference rhythms (e.g. ``("(AFIB", "(AFL")``) from a WFDB
    annotation's rhythm changes (symbol ``+`` with the rhythm in ``aux_note``)."""
    changes = [
        (int(s), n.strip("\x00 "))
        for s, sym, n in zip(samples, symbols, aux_notes, strict=True)
        if sym == "+"
    ]
    out = []
    for i, (start, rhythm) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else n_samples
        if rhythm in rhythms:
            if out and abs(out[-1][1] - start / fs) < 1e-9:
                out[-1] = (out[-1][0], end / fs)  # AFIB then AFL: one episode
            else:
                out.append((start / fs, end / fs))
    return out
