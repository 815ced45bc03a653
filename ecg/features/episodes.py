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

``episode_scores`` scores detected episodes against reference ones as ANSI/AAMI EC57 does
(episode and duration sensitivity and positive predictivity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

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


@dataclass(frozen=True)
class Episode:
    kind: str
    start_s: float
    end_s: float
    beats: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict[str, float | int | str]:
        row = asdict(self)
        row["duration_s"] = round(self.duration_s, 2)
        return row


def _intervals_from_mask(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) index pairs of every maximal run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def af_irregularity(
    peaks: np.ndarray, labels: Sequence[str] | None, fs: float, *, exclude_ectopy: bool = True
) -> np.ndarray:
    """Per RR interval, the irregularity of the ``AF_WINDOW`` usable successive differences
    around it: median |dRR| over median RR (NaN where the recording has too few)."""
    rr = np.diff(np.asarray(peaks, np.float64)) / fs
    usable = (rr >= 0.2) & (rr <= 3.0)
    if exclude_ectopy and labels is not None:
        ectopic = np.isin(np.asarray(labels), ECTOPIC)
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
) -> list[Episode]:
    peaks = np.asarray(peaks, np.int64)
    if peaks.size < AF_WINDOW:
        return []
    irregular = (
        np.nan_to_num(af_irregularity(peaks, labels, fs, exclude_ectopy=exclude_ectopy)) > threshold
    )
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


def _runs(labels: np.ndarray, code: str, min_beats: int) -> list[tuple[int, int]]:
    return [(a, b) for a, b in _intervals_from_mask(labels == code) if b - a >= min_beats]


def run_episodes(peaks: np.ndarray, labels: Sequence[str], fs: float) -> list[Episode]:
    """VT, SVT and flutter runs."""
    peaks, labels = np.asarray(peaks, np.int64), np.asarray(labels)
    out = []
    for code, kind, fast_only in (("V", "VT", True), ("A", "SVT", True), ("!", "VFL", False)):
        for a, b in _runs(labels, code, RUN_MIN_BEATS):
            rate = 60.0 * (b - a - 1) / max((peaks[b - 1] - peaks[a]) / fs, 1e-9)
            if fast_only and rate <= FAST_BPM:
                continue
            out.append(Episode(kind, round(peaks[a] / fs, 2), round(peaks[b - 1] / fs, 2), b - a))
    return out


def pattern_episodes(peaks: np.ndarray, labels: Sequence[str], fs: float) -> list[Episode]:
    """Ventricular bigeminy (V every 2nd beat) and trigeminy (every 3rd), >= 3 cycles."""
    peaks, labels = np.asarray(peaks, np.int64), np.asarray(labels)
    is_v = labels == "V"
    out = []
    for kind, period in (("bigeminy", 2), ("trigeminy", 3)):
        v_index = np.flatnonzero(is_v)
        if v_index.size < PATTERN_MIN_CYCLES:
            continue
        # A cycle: the next V exactly ``period`` beats later with only non-V beats between.
        step_ok = np.diff(v_index) == period
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


def pause_episodes(peaks: np.ndarray, fs: float) -> list[Episode]:
    peaks = np.asarray(peaks, np.int64)
    rr = np.diff(peaks) / fs
    return [
        Episode("pause", round(peaks[i] / fs, 2), round(peaks[i + 1] / fs, 2), 2)
        for i in np.flatnonzero(rr > PAUSE_S).tolist()
    ]


def rate_episodes(
    peaks: np.ndarray, fs: float, *, exclude: Sequence[Episode] = ()
) -> list[Episode]:
    """Sustained bradycardia / tachycardia outside the episodes in ``exclude``."""
    peaks = np.asarray(peaks, np.int64)
    if peaks.size <= RATE_SMOOTH_BEATS:
        return []
    rr = np.diff(peaks) / fs
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


def detect_episodes(peaks: np.ndarray, labels: Sequence[str], fs: float) -> list[Episode]:
    """Every episode kind, in time order."""
    af = af_episodes(peaks, labels, fs)
    runs = run_episodes(peaks, labels, fs)
    episodes = af + runs + pattern_episodes(peaks, labels, fs) + pause_episodes(peaks, fs)
    episodes += rate_episodes(peaks, fs, exclude=af + runs)
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
