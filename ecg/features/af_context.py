"""Beat classes in the context of atrial fibrillation.

An atrial premature beat is an atrial beat that comes before the sinus rhythm's next one. In
atrial fibrillation or flutter there is no sinus rhythm to be early against: every conducted beat
is irregular, and MIT-BIH's annotators (and AAMI EC57's classes) label those beats normal. A beat
classifier that reads prematurity from the RR intervals calls many of them A: on MIT-BIH DS2
most of the shipped model's false A calls lie inside AF episodes (docs/episodes.md).

So inside an AF episode that the rhythm detector found (``ecg.features.episodes``, which reads
the RR intervals and the P waves, never the A calls), a beat whose most probable class is A is
read as a conducted supraventricular beat: its A probability is added to N's. Its confidence
is then the two together (the model's belief that the beat is supraventricular and not
ventricular or a bundle-branch block), and the calibrated "uncertain" threshold applies to
that. Beats of every other class are left as the model called them.

Whether the app applies this (``MERGE_ATRIAL_IN_AF``: the analysis, and the review's
suggestions inside the AF episodes the summary lists) was decided on MIT-BIH DS1 by
``benchmarks/af_atrial_merge_ds1.py``'s written rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ATRIAL = "A"
NORMAL = "N"
# Chosen on DS1 (benchmarks/results/af_atrial_merge_ds1.json); DS2 only reported.
MERGE_ATRIAL_IN_AF = True
# The review's suggestions (``corrections.teach`` from the clinician's answers, which may move
# N and A again) inside AF: "merge" reads their A as N in every AF episode, as the analysis
# does; "unless_confirmed_atrial" not in an episode where the clinician confirmed an A beat
# (atrial ectopy there says the irregular stretch is not AF); "none" leaves them as taught.
# Chosen on DS1 by benchmarks/review_benchmark.py --choose-af-suggestions (review.json).
SUGGESTION_RULES = ("merge", "unless_confirmed_atrial", "none")
SUGGESTIONS_IN_AF = "merge"


def beats_in_spans(times_s: np.ndarray, spans_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """Per beat (at ``times_s`` seconds), whether it lies in one of ``spans_s`` (start, end
    seconds, ends included)."""
    times_s = np.asarray(times_s, dtype=np.float64)
    inside = np.zeros(times_s.shape, dtype=bool)
    for start, end in spans_s:
        inside |= (times_s >= start) & (times_s <= end)
    return inside


def merge_atrial_in_af(
    probabilities: np.ndarray,
    times_s: np.ndarray,
    af_spans_s: Sequence[tuple[float, float]],
    classes: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities with each A call inside an AF span read as N, and which beats moved.

    ``probabilities`` (n, k) in the order of ``classes``; ``times_s`` (n,) the beats' times;
    ``af_spans_s`` the AF episodes' (start, end) seconds. Returns a new array (the input is not
    changed) and the (n,) mask of the beats whose A probability went to N. A model without both
    classes is returned unchanged."""
    probabilities = np.asarray(probabilities)
    moved = np.zeros(probabilities.shape[0], dtype=bool)
    classes = list(classes)
    if ATRIAL not in classes or NORMAL not in classes or not len(af_spans_s):
        return probabilities.copy(), moved
    atrial, normal = classes.index(ATRIAL), classes.index(NORMAL)
    moved = (probabilities.argmax(axis=1) == atrial) & beats_in_spans(times_s, af_spans_s)
    out = probabilities.copy()
    out[moved, normal] += out[moved, atrial]
    out[moved, atrial] = 0.0
    return out, moved


def merged_note(count: int) -> str:
    """What the recording page and the PDF say of the ``count`` beats read this way."""
    beats = f"{count} beat{'s' if count != 1 else ''}"
    return (
        f"{beats} the model called atrial premature (A) inside atrial fibrillation "
        f"{'are' if count != 1 else 'is'} counted as conducted normal beats (N): atrial "
        "premature beats are not defined in AF"
    )


def suggestion_spans(
    af_spans_s: Sequence[tuple[float, float]],
    confirmed_times_s: np.ndarray,
    confirmed_labels: Sequence[str],
    rule: str | None = None,
) -> list[tuple[float, float]]:
    """The AF spans inside which the review's suggestions read A as N, by ``rule`` (default
    ``SUGGESTIONS_IN_AF``); ``confirmed_*``: the beats the clinician labelled, their times and
    classes."""
    rule = SUGGESTIONS_IN_AF if rule is None else rule
    if rule not in SUGGESTION_RULES:
        raise ValueError(f"unknown suggestion rule {rule!r}")
    if rule == "none" or not MERGE_ATRIAL_IN_AF:
        return []
    spans = [(float(a), float(b)) for a, b in af_spans_s]
    if rule == "merge":
        return spans
    atrial = np.asarray(confirmed_times_s, dtype=np.float64)[
        np.asarray(confirmed_labels, dtype=str) == ATRIAL
    ]
    return [(a, b) for a, b in spans if not beats_in_spans(atrial, [(a, b)]).any()]
