"""AF detection scored as EC57 scores it: PhysioNet's ``epicmp -A``, the standard's reference
episode comparator (issue 20).

``ecg.features.episodes.episode_scores`` scores detections against any reference intervals
over the whole recording. EC57's AF comparison differs in three ways, all from ``epicmp``:

- the reference AF episodes are the ``(AFIB`` stretches only;
- atrial flutter (``(AFL``) is excluded from positive predictivity: the part of a detected
  episode that lies in reference flutter is no false AF (and a detection wholly inside
  flutter is not counted), while flutter is not reference AF for sensitivity either;
- the test period starts 5 minutes into the recording (the learning period): episodes that
  end before it are not scored, those that start before it are cut at it.

Counts are kept per recording (``Ec57Tally``) so that a benchmark pools recordings by summing
them, as ``epicmp``'s line reports are summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass

from ecg.features.episodes import EpisodeScore, span_overlap

LEARNING_S = 300.0  # epicmp's default start of the test period (5 minutes)

Span = tuple[float, float]


@dataclass(frozen=True)
class Ec57Tally:
    """One recording's (or a sum's) raw EC57 AF counts."""

    reference_episodes: int = 0
    reference_found: int = 0  # reference episodes any detection overlaps
    detected_episodes: int = 0  # detections scored (not wholly in the learning period or AFL)
    detected_true: int = 0  # of those, the ones overlapping reference AF
    reference_s: float = 0.0
    detected_s: float = 0.0  # detected seconds less the reference flutter inside them
    overlap_s: float = 0.0

    def __add__(self, other: Ec57Tally) -> Ec57Tally:
        return Ec57Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _in_test_period(spans: Iterable[Span], start_s: float) -> list[Span]:
    """``spans`` that end after ``start_s``, cut to start there at the earliest."""
    return [(max(s, start_s), e) for s, e in sorted(spans) if e > start_s]


def _less_flutter(span: Span, flutter: Sequence[Span]) -> tuple[Span, float] | None:
    """``span`` with reference flutter at its edges cut off and its duration less any flutter
    inside it (epicmp's exclusions), or None when flutter covers it all."""
    start, end = span
    duration = end - start
    for f_start, f_end in flutter:  # in time order
        if end <= f_start:
            break
        if f_start <= start <= f_end:  # begins in flutter
            if end <= f_end:
                return None
            duration -= f_end - start
            start = f_end
        elif start <= f_start <= end:  # flutter begins inside it
            if f_end < end:
                duration -= f_end - f_start
            else:
                duration -= end - f_start
                end = f_start
    return (start, end), duration


def ec57_af_tally(
    afib: Sequence[Span],
    flutter: Sequence[Span],
    detected: Sequence[Span],
    *,
    start_s: float = LEARNING_S,
) -> Ec57Tally:
    """EC57 AF counts of one recording: ``afib`` and ``flutter`` the reference ``(AFIB`` and
    ``(AFL`` stretches (s), ``detected`` the detector's AF episodes (s); scored from ``start_s``
    on."""
    reference = _in_test_period(afib, start_s)
    found = _in_test_period(detected, start_s)
    flutter = sorted(flutter)
    overlap = sum(span_overlap(r, d) for r in reference for d in found)
    scored: list[tuple[Span, float]] = []
    for span in found:
        kept = _less_flutter(span, flutter)
        if kept is not None:
            scored.append(kept)
    return Ec57Tally(
        reference_episodes=len(reference),
        reference_found=sum(any(span_overlap(r, d) > 0 for d in found) for r in reference),
        detected_episodes=len(scored),
        detected_true=sum(any(span_overlap(s, r) > 0 for r in reference) for s, _ in scored),
        reference_s=sum(e - s for s, e in reference),
        detected_s=sum(duration for _, duration in scored),
        overlap_s=overlap,
    )


def ec57_af_scores(tallies: Iterable[Ec57Tally]) -> EpisodeScore:
    """Episode and duration sensitivity / positive predictivity of summed tallies."""
    total = sum(tallies, Ec57Tally())

    def share(num: float, den: float) -> float | None:
        return round(num / den, 4) if den else None

    return EpisodeScore(
        reference_episodes=total.reference_episodes,
        detected_episodes=total.detected_episodes,
        episode_sensitivity=share(total.reference_found, total.reference_episodes),
        episode_positive_predictivity=share(total.detected_true, total.detected_episodes),
        reference_s=round(total.reference_s, 2),
        detected_s=round(total.detected_s, 2),
        overlap_s=round(total.overlap_s, 2),
        duration_sensitivity=share(total.overlap_s, total.reference_s),
        duration_positive_predictivity=share(total.overlap_s, total.detected_s),
    )
