"""Rhythm episodes of a classified recording: what a Holter reader lists as events.

Pure functions of beat times (samples at ``fs``) and beat classes. Each episode has a kind, a
start and an end (seconds) and its number of beats:

* ``AF``: atrial fibrillation / flutter. Irregularly irregular conduction, measured over a
  sliding window of ``AF_WINDOW`` RR intervals as the median absolute successive RR difference
  over the median RR (a robust normalised RMSSD). Intervals next to a ventricular or atrial
  ectopic beat are left out first, so a sinus rhythm with frequent premature beats is not called
  AF (the classical baseline, ``af_baseline``, keeps them and pays for it). A window is AF-like
  above ``AF_THRESHOLD``; AF-like stretches shorter than ``AF_MIN_S`` are dropped and gaps
  shorter than ``AF_MERGE_S`` between them are bridged;
* ``VT`` / ``SVT``: runs of at least 3 consecutive V / A beats faster than 100 bpm;
* ``VFL``: runs of at least 3 consecutive flutter (``!``) beats;
* ``bigeminy`` / ``trigeminy``: at least 3 cycles of one V after every one / two other beats;
* ``pause``: an RR interval over 2 s;
* ``bradycardia`` / ``tachycardia``: the heart rate over 8-beat running medians under 50 / over
  100 bpm for at least 10 s, outside AF, VT, SVT and flutter episodes (which say more).

Only what could be read makes an episode (``detect_episodes(..., states=, unreadable_s=)``): a
beat whose state (``ecg.features.beat_states``) is not "classified" has no class here, so it
breaks a VT / SVT / flutter run or a bigeminy / trigeminy pattern and never joins one; an RR
interval that touches an unreadable beat or crosses an unreadable stretch is no interval, so it
makes no pause, no AF irregularity and no heart rate (an uncertain beat is still a heartbeat:
its intervals count, as in the rhythm summary, except for AF: an uncertain beat may be
ectopic, so the AF rule leaves its intervals out as it does an ectopic beat's).

``episode_scores`` scores detected episodes against reference ones as ANSI/AAMI EC57 does
(episode and duration sensitivity and positive predictivity).

Long on purpose: the rules, the reference reader and the scoring live together so what is
detected and what it is measured against cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ecg.features.beat_states import CLASSIFIED, UNCERTAIN, UNREADABLE

AF_WINDOW = 32  # RR intervals per irregularity window (about 25 s at 75 bpm)
AF_THRESHOLD = 0.11  # chosen on DS1 (records 201, 203 hold its AF), never on DS2
AF_MIN_S = 30.0
AF_MERGE_S = 10.0
RUN_MIN_BEATS = 3
FAST_BPM = 100.0
SLOW_BPM = 50.0
RATE_MIN_S = 10.0
PAUSE_S = 2.0
RATE_SMOOTH_BEATS = 8
PATTERN_MIN_CYCLES = 3
ECTOPIC = ("V", "A", "!")
# An uncertain beat's class for the AF rule: it may be ectopic, so its intervals are left out
# like an ectopic beat's (chosen on DS1: keeping them called AF in sinus rhythm with ectopy).
UNSURE = "?"

# What the page, the PDF and the API call each kind (``Episode.label``).
EPISODE_LABELS = {
    "AF": "Atrial fibrillation / flutter",
    "VT": "Ventricular tachycardia run",
    "SVT": "Supraventricular tachycardia run",
    "VFL": "Ventricular flutter run",
    "bigeminy": "Ventricular bigeminy",
    "trigeminy": "Ventricular trigeminy",
    "pause": f"Pause (RR > {PAUSE_S:g} s)",
    "bradycardia": f"Bradycardia (< {SLOW_BPM:g} bpm)",
    "tachycardia": f"Tachycardia (> {FAST_BPM:g} bpm)",
}
EPISODE_KINDS = tuple(EPISODE_LABELS)


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


def af_irregularity(
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    exclude_ectopy: bool = True,
    usable: np.ndarray | None = None,
) -> np.ndarray:
    """Per RR interval, the irregularity of the ``AF_WINDOW`` usable successive differences
    around it: median |dRR| over median RR (NaN where the recording has too few). ``usable``
    (``usable_intervals``) leaves intervals over unreadable signal out."""
    rr = np.diff(np.asarray(peaks, np.float64)) / fs
    given = usable
    usable = (rr >= 0.2) & (rr <= 3.0)
    if given is not None:
        usable &= given
    if exclude_ectopy and labels is not None:
        ectopic = np.isin(np.asarray(labels), (*ECTOPIC, UNSURE))
        usable &= ~ectopic[1:] & ~ectopic[:-1]  # both ends of an interval must be conducted
    values = np.full(rr.size, np.nan)
    # Successive differences of usable neighbours only, then a window over those: frequent
    # ectopy thins the intervals out but never leaves a window empty.
    pair = np.flatnonzero(usable[1:] & usable[:-1])
    if pair.size < AF_WINDOW:
        return values
    diffs = np.abs(rr[pair + 1] - rr[pair])
    base = rr[pair]
    windows = np.lib.stride_tricks.sliding_window_view
    score = np.median(windows(diffs, AF_WINDOW), axis=1) / np.median(
        windows(base, AF_WINDOW), axis=1
    )
    centre = pair[AF_WINDOW // 2 : AF_WINDOW // 2 + score.size]
    # Every interval takes the score of the nearest window centre.
    nearest = np.clip(np.searchsorted(centre, np.arange(rr.size)), 0, centre.size - 1)
    left = np.clip(nearest - 1, 0, centre.size - 1)
    closer_left = np.abs(centre[left] - np.arange(rr.size)) < np.abs(
        centre[nearest] - np.arange(rr.size)
    )
    values = score[np.where(closer_left, left, nearest)]
    return values


def af_episodes(
    peaks: np.ndarray,
    labels: Sequence[str] | None,
    fs: float,
    *,
    exclude_ectopy: bool = True,
    threshold: float = AF_THRESHOLD,
    usable: np.ndarray | None = None,
) -> list[Episode]:
    peaks = np.asarray(peaks, np.int64)
    if peaks.size < AF_WINDOW:
        return []
    score = af_irregularity(peaks, labels, fs, exclude_ectopy=exclude_ectopy, usable=usable)
    irregular = np.nan_to_num(score) > threshold
    if usable is not None:
        irregular &= usable  # an unreadable stretch takes no score from its neighbours
    spans = [(peaks[a] / fs, peaks[b] / fs, a, b) for a, b in _intervals_from_mask(irregular)]
    merged: list[list[float]] = []
    for start, end, a, b in spans:
        if merged and start - merged[-1][1] < AF_MERGE_S:
            merged[-1][1], merged[-1][3] = end, b
        else:
            merged.append([start, end, a, b])
    return [
        Episode("AF", round(s, 2), round(e, 2), int(b - a + 1))
        for s, e, a, b in merged
        if e - s >= AF_MIN_S
    ]


def af_baseline(peaks: np.ndarray, fs: float) -> list[Episode]:
    """The classical RR-irregularity detector: the same rule on every interval, ectopy and all."""
    return af_episodes(peaks, None, fs, exclude_ectopy=False)


def _broken(usable: np.ndarray | None, n_beats: int) -> np.ndarray:
    """Per interval, True where it is not usable (none broken when ``usable`` is None)."""
    if usable is None:
        return np.zeros(max(n_beats - 1, 0), dtype=bool)
    return ~np.asarray(usable, dtype=bool)


def run_episodes(
    peaks: np.ndarray, labels: Sequence[str], fs: float, *, usable: np.ndarray | None = None
) -> list[Episode]:
    """VT, SVT and flutter runs (a run never spans an interval that is not ``usable``)."""
    peaks, labels = np.asarray(peaks, np.int64), np.asarray(labels)
    broken = _broken(usable, peaks.size)
    out = []
    for code, kind, fast_only in (("V", "VT", True), ("A", "SVT", True), ("!", "VFL", False)):
        runs = _split_at(_intervals_from_mask(labels == code), broken)
        for a, b in [(a, b) for a, b in runs if b - a >= RUN_MIN_BEATS]:
            rate = 60.0 * (b - a - 1) / max((peaks[b - 1] - peaks[a]) / fs, 1e-9)
            if fast_only and rate <= FAST_BPM:
                continue
            out.append(Episode(kind, round(peaks[a] / fs, 2), round(peaks[b - 1] / fs, 2), b - a))
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
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(rr, RATE_SMOOTH_BEATS), axis=1)
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


def detect_episodes(
    peaks: np.ndarray,
    labels: Sequence[str],
    fs: float,
    *,
    states: Sequence[str] | None = None,
    unreadable_s: Sequence[tuple[float, float]] = (),
) -> list[Episode]:
    """Every episode kind, in time order. With ``states`` (one per beat), only classified beats
    keep their class; with ``unreadable_s`` ((start, end) seconds of unreadable signal), no
    interval crosses those stretches (see the module's docstring)."""
    peaks = np.asarray(peaks, np.int64)
    labels = np.asarray(labels, dtype=str)
    if states is not None:
        states = np.asarray(states, dtype=str)
        if states.shape != labels.shape:
            raise ValueError(f"{labels.size} labels but {states.size} states")
        af_labels = np.where(states == UNCERTAIN, UNSURE, labels)
        labels = np.where(states == CLASSIFIED, labels, "")
    else:
        af_labels = labels
    usable = usable_intervals(peaks, fs, states=states, unreadable_s=unreadable_s)
    af = af_episodes(peaks, af_labels, fs, usable=usable)
    runs = run_episodes(peaks, labels, fs, usable=usable)
    episodes = af + runs + pattern_episodes(peaks, labels, fs, usable=usable)
    episodes += pause_episodes(peaks, fs, usable=usable)
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


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def episode_scores(
    reference: Sequence[tuple[float, float]], detected: Sequence[tuple[float, float]]
) -> EpisodeScore:
    """EC57 episode and duration sensitivity / positive predictivity of ``detected`` (start, end
    in seconds) against ``reference`` intervals of one recording (or pooled recordings)."""
    hit_ref = sum(any(_overlap(r, d) > 0 for d in detected) for r in reference)
    hit_det = sum(any(_overlap(d, r) > 0 for r in reference) for d in detected)
    overlap = sum(_overlap(r, d) for r in reference for d in detected)
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
