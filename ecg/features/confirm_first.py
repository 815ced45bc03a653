"""Which beats a clinician should confirm first, so that the review teaches the most
(``corrections.teach``): each template group's typical beat, the earliest beats of the groups
that look normal (a premature atrial beat hides in a normal shape), then the beats the model is
least sure of. The templates page lists them ("Confirm these 20 beats first") and the review
benchmark's simulated clinician confirms them, so the figures assume the protocol the app
offers."""

from __future__ import annotations

import numpy as np

# How many of the most premature beats of normal-looking groups are asked after the cards:
# chosen with premature_step on MIT-BIH DS1 (review_benchmark --choose-premature); 10 for
# recording_mixed with lead fusion, 0 for recording_mixed 2.0 (docs/review.md).
PREMATURE_BEATS = 0


def confirm_order(
    medoids: list[int],
    n_looking: np.ndarray,
    prematurity: np.ndarray,
    margin: np.ndarray,
    *,
    n: int = 20,
    cards: int = 10,
    premature: int = PREMATURE_BEATS,
) -> list[tuple[int, str]]:
    """(beat position, why) in the order the review benchmark's simulated clinician confirms
    them: the medoids of the ``cards`` largest template groups ("card"; ``medoids`` largest
    group first); then up to ``premature`` of the most premature beats (lowest
    ``prematurity``, e.g. ``corrections.rhythm_block(rr)[:, 0]``) among the beats whose
    group the model calls mostly N or A (``n_looking``), where a premature atrial beat hides
    in a normal shape ("premature"); then the beats with the smallest top-two probability
    ``margin`` ("uncertain"); ``n`` in all. The templates page lists them, so the protocol
    the review figures assume is the one the app offers.
    """
    n_beats = len(margin)
    chosen: list[tuple[int, str]] = [(int(m), "card") for m in medoids[: min(cards, n)]]
    taken = {i for i, _why in chosen}
    if premature:
        limit = min(n, len(chosen) + premature)
        for i in np.argsort(np.where(n_looking, prematurity, np.inf), kind="stable"):
            if len(chosen) >= limit or not n_looking[i]:
                break
            if int(i) not in taken:
                chosen.append((int(i), "premature"))
                taken.add(int(i))
    for i in np.argsort(margin, kind="stable"):
        if len(chosen) >= min(n, n_beats):
            break
        if int(i) not in taken:
            chosen.append((int(i), "uncertain"))
            taken.add(int(i))
    return chosen


def top_two_margin(probabilities: np.ndarray) -> np.ndarray:
    """Per beat, the top probability minus the runner-up's: small is uncertain."""
    top2 = np.sort(np.asarray(probabilities, dtype=np.float64), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]
