"""Corrections teach the model, for that patient: re-classify a recording from a few beats a
clinician confirmed or relabelled, without touching the shipped model.

Every beat is described by three blocks (``review_features``):

- morphology: the beat's ``templates.morphology_vectors`` row (mV);
- rhythm: log of previous RR over the local mean, of next RR over previous, and of previous RR
  over the recording's median RR -- prematurity and the compensatory pause, which is what tells
  a premature atrial beat from a normal beat of the same shape;
- the model's view: the square roots of its class probabilities (so distances between two
  probability vectors are Hellinger-like).

The distance between two beats is the root of the sum of each block's squared distance over
its scale (``MORPH_SCALE_MV`` RMS mV, ``RHYTHM_SCALE`` RMS log-ratio, ``MODEL_SCALE``), and a
confirmed beat at distance d votes for its label with weight exp(-d^2 / 2). ``reclassify``
mixes the model's probabilities with that vote, in proportion to how close the nearest
confirmed beat is (the largest weight c):

    p = (1 - c) * p_model + c * p_vote

so a beat just like a confirmed one takes its label, a beat unlike every confirmed beat keeps
the model's answer, and confirmed beats keep exactly the label they were given. The scales were
chosen on MIT-BIH DS1 (``benchmarks/review_benchmark.py --choose``; docs/review.md).

A premature atrial beat (A) looks like a normal one (N): what tells them apart is its timing
(and the P wave, not measured here), so the morphology-led vote above cannot separate them.
``premature_step`` then decides N against A, for the beats left N or A, with a per-patient
logistic regression on the rhythm block (and, ``PREMATURE_MODEL_FEATURE``, the model's own
log(p_A / p_N)), fitted on the confirmed N / A beats (each
weighing ``CONFIRMED_WEIGHT``) and on the beats the model calls N or A with probability
``PSEUDO_CONFIDENCE`` or more (weight 1: the model's view of this patient, which the confirmed
beats outweigh where they disagree).

The vote sums the weights of every confirmed beat, so a class the clinician confirmed many
times (20 card beats are often mostly V: the model's least certain beats) can outvote one
closer confirmed beat of another class. ``ventricular_step`` decides V against the other
classes for the beats the vote calls V and that come on time (log of previous RR over the
local mean above ``-ON_TIME``: a ventricular ectopic beat is premature): when such a beat's
nearest confirmed beat is NOT a V, its vote is taken from that nearest beat alone,

    p = (1 - c) * p_model + c * onehot(that beat's label),   c = exp(-d^2 / 2)

with d the distance to it in the vote's units (``VENTRICULAR_SPACE``: all of
``review_features``, or its morphology block alone). A beat just like a confirmed normal beat
becomes normal; a beat unlike every confirmed beat keeps the model's answer, as in the vote.
It only decides for beats voted V (the false V calls were what kept VEB F1 under its target;
missed V beats were few). Its settings are chosen on MIT-BIH DS1 as ``premature_step``'s were
(``benchmarks/review_benchmark.py --choose-ventricular``): the objective on the held-out
validation records, ties by all DS1, and the step is used by ``teach`` only if that rule puts
it ahead of leaving it out.

``teach`` runs the vote, then ``ventricular_step`` (when chosen), then ``premature_step``
(so that a beat given back to N is then weighed N against A).

Besides the model's classes a reviewer may give labels no model predicts
(``ecg.classes.REVIEW_ONLY``): P (paced) teaches like a class, with a model probability of 0
(``answer_labels``, ``REVIEW_ONLY_TEACHES``); F (fusion) would too, but was chosen on DS1 to
teach nothing (``FUSION_TEACHES``); X (artefact, no beat) teaches nothing, and ``rr_without``
measures the rhythm block without it.
"""

from __future__ import annotations

import numpy as np

from ecg.classes import review_labels
from ecg.features.beats import rr_features

MORPH_SCALE_MV = 0.16
RHYTHM_SCALE = 0.10
MODEL_SCALE = 2.0
# the three scales re-chosen on DS1 for recording_mixed with lead fusion (rhythm 0.2 -> 0.1).
# The rerun for recording_mixed 2.0 picks model-led scales that break the shape-led behaviour
# the review promises (docs/review.md), so these stay.
BLOCK = 4096  # beats per block of the distance computation (bounded memory)
# How the vote pools a class's confirmed beats ("sum" of their weights, or "max": the nearest
# alone); chosen on MIT-BIH DS1 (review_benchmark --choose-vote-pooling, docs/review.md).
VOTE_POOLING = "sum"
# premature_step, chosen on MIT-BIH DS1 with the vote's scales fixed (docs/review.md)
# (re-chosen for recording_mixed with lead fusion: 200 -> 1000, 0.9 -> 0.99, the model's odds
# added; for recording_mixed 2.0 with EC57 counting: back to 200 and 0.9, the odds kept).
# PREMATURE_STEP: whether teach runs it at all, in the same choice (the vote alone is a row).
PREMATURE_STEP = True
CONFIRMED_WEIGHT = 200.0
PSEUDO_CONFIDENCE = 0.9
PREMATURE_MODEL_FEATURE = True
# ventricular_step, chosen on MIT-BIH DS1 with the vote and premature_step fixed (docs/review.md;
# re-chosen for recording_mixed with lead fusion: features 0.1 -> morphology 0.2; for
# recording_mixed 2.0 with EC57 counting: on time 0.2 -> 0.1)
VENTRICULAR = True
ON_TIME = 0.1
VENTRICULAR_SPACE = "morphology"
# Whether a beat the reviewer labelled F (fusion, ``ecg.classes.REVIEW_ONLY``) teaches its
# look-alikes F, or teaches nothing; chosen on MIT-BIH DS1 (review_benchmark --choose-fusion).
# It taught while VEB +P counted a fusion beat called V as a false VEB; counted as EC57 counts
# it (ecg.training.aami), the same rule keeps "teaches nothing" (docs/review.md).
FUSION_TEACHES = False
# The labels only a reviewer gives, and whether each teaches. P (paced) always does: DS1 and
# DS2 hold no paced record to choose on, and a paced recording the model reads as L, V or N
# is what the label is for (measured on MIT-BIH's paced records, review_benchmark --paced).
# X (artefact) never does: noise has no typical shape, and a suggestion that removes beats
# from the rhythm is not one to make unasked.
REVIEW_ONLY_TEACHES = {"F": FUSION_TEACHES, "P": True, "X": False}


def rhythm_block(rr: np.ndarray) -> np.ndarray:
    """Rhythm block of ``review_features`` from ``beats.rr_features`` rows (RR in s)."""
    rr = np.asarray(rr, dtype=np.float64)
    if len(rr) == 0:
        return np.zeros((0, 3))
    prev, nxt, local = rr[:, 0], rr[:, 1], rr[:, 2]
    median = max(float(np.median(prev)), 1e-3)
    eps = 1e-3
    return np.stack(
        [
            np.log((prev + eps) / (local + eps)),
            np.log((nxt + eps) / (prev + eps)),
            np.log((prev + eps) / median),
        ],
        axis=1,
    )


def review_features(
    morphology: np.ndarray,
    rr: np.ndarray,
    probs: np.ndarray,
    *,
    morph_scale: float = MORPH_SCALE_MV,
    rhythm_scale: float = RHYTHM_SCALE,
    model_scale: float = MODEL_SCALE,
) -> np.ndarray:
    """One row per beat whose Euclidean distances are the combined distance of the module
    docstring: each block divided by its scale (morphology and rhythm as RMS over columns)."""
    morphology = np.asarray(morphology, dtype=np.float64)
    rhythm = rhythm_block(rr)
    model = np.sqrt(np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0))
    return np.concatenate(
        [
            morphology / (morph_scale * np.sqrt(max(morphology.shape[1], 1))),
            rhythm / (rhythm_scale * np.sqrt(rhythm.shape[1])),
            model / model_scale,
        ],
        axis=1,
    )


def reclassify(
    features: np.ndarray,
    probs: np.ndarray,
    confirmed: np.ndarray,
    confirmed_labels: np.ndarray,
    *,
    pooling: str = VOTE_POOLING,
) -> np.ndarray:
    """Probabilities (n, k) of every beat after the clinician's answers.

    ``features``: ``review_features`` of every beat; ``probs``: the model's probabilities;
    ``confirmed``: indices of the beats the clinician confirmed or relabelled;
    ``confirmed_labels``: their class indices. Confirmed beats get a one-hot row of their label.
    ``pooling``: how a class's confirmed beats make its share of the vote, "sum" (of their
    weights) or "max" (the nearest one's weight alone, so that a class confirmed many times
    does not outvote a nearer beat of another class).
    """
    if pooling not in ("sum", "max"):
        raise ValueError(f"unknown pooling {pooling!r}")
    probs = np.asarray(probs, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    confirmed = np.asarray(confirmed, dtype=np.int64)
    confirmed_labels = np.asarray(confirmed_labels, dtype=np.int64)
    if len(confirmed) != len(confirmed_labels):
        raise ValueError("one label per confirmed beat")
    out = probs.copy()
    if len(confirmed) == 0:
        return out
    k = probs.shape[1]
    onehot = np.eye(k)[confirmed_labels]
    reference = features[confirmed]
    ref_sq = (reference**2).sum(axis=1)
    for lo in range(0, len(features), BLOCK):
        part = features[lo : lo + BLOCK]
        d2 = np.maximum(
            (part**2).sum(axis=1)[:, None] + ref_sq[None, :] - 2 * part @ reference.T, 0
        )
        weight = np.exp(-0.5 * d2)
        if pooling == "max":
            per_class = np.zeros((len(part), k))
            for label in np.unique(confirmed_labels):
                per_class[:, label] = weight[:, confirmed_labels == label].max(axis=1)
        else:
            per_class = weight @ onehot
        total = per_class.sum(axis=1, keepdims=True)
        vote = per_class / np.maximum(total, 1e-300)
        closeness = weight.max(axis=1, keepdims=True)
        out[lo : lo + BLOCK] = (1 - closeness) * probs[lo : lo + BLOCK] + closeness * vote
    out[confirmed] = onehot  # the clinician's word is final for the beats they reviewed
    return out


def premature_step(
    probs: np.ndarray,
    model_probs: np.ndarray,
    rr: np.ndarray,
    confirmed: np.ndarray,
    confirmed_labels: np.ndarray,
    *,
    normal: int,
    premature: int,
    confirmed_weight: float = CONFIRMED_WEIGHT,
    pseudo_confidence: float = PSEUDO_CONFIDENCE,
    model_feature: bool = PREMATURE_MODEL_FEATURE,
) -> np.ndarray:
    """N against A from the patient's own rhythm: ``probs`` (after ``reclassify``) with the
    N + A mass of every beat whose best class is N or A shared out again by a per-patient
    logistic regression on ``rhythm_block(rr)`` (see the module docstring).

    ``model_probs``: the model's own probabilities (the pseudo-labels); ``rr``:
    ``beats.rr_features`` rows; ``normal`` / ``premature``: the class indices of N and A.
    ``model_feature`` adds the model's log(p_A / p_N) as a fourth input (chosen on DS1 for
    ``recording_mixed`` with lead fusion; not kept for the model before). Confirmed beats keep
    their rows. If neither the confirmed beats nor the confident model calls hold an A, every
    N-or-A beat becomes N; if they hold no N, nothing changes.
    Deterministic (lbfgs, no random start).
    """
    from sklearn.linear_model import LogisticRegression

    probs = np.asarray(probs, dtype=np.float64)
    model_probs = np.asarray(model_probs, dtype=np.float64)
    confirmed = np.asarray(confirmed, dtype=np.int64)
    confirmed_labels = np.asarray(confirmed_labels, dtype=np.int64)
    x = rhythm_block(np.asarray(rr)[:, :3])
    if model_feature:
        odds = np.log((model_probs[:, premature] + 1e-4) / (model_probs[:, normal] + 1e-4))
        x = np.concatenate([x, odds[:, None] / 5.0], axis=1)
    pair = (normal, premature)
    open_ = np.isin(probs.argmax(axis=1), pair)  # beats whose answer is N or A ...
    open_[confirmed] = False  # ... and that nobody reviewed
    taught = np.isin(confirmed_labels, pair)
    pseudo = (
        np.isin(model_probs.argmax(axis=1), pair)
        & (model_probs.max(axis=1) >= pseudo_confidence)
        & open_
    )
    rows = np.concatenate([confirmed[taught], np.flatnonzero(pseudo)])
    target = np.concatenate(
        [confirmed_labels[taught] == premature, model_probs[pseudo].argmax(axis=1) == premature]
    ).astype(int)
    weight = np.concatenate([np.full(int(taught.sum()), confirmed_weight), np.ones(pseudo.sum())])
    out = probs.copy()
    if len(rows) == 0 or target.min() == 1:
        return out  # nothing known to be N in this patient: leave the vote's answer
    if target.max() == 0:
        share = np.zeros(len(probs))  # no A anywhere, neither confirmed nor confidently called
    else:
        fitted = LogisticRegression(C=1.0, max_iter=500).fit(x[rows], target, sample_weight=weight)
        share = fitted.predict_proba(x)[:, 1]
    mass = probs[open_, normal] + probs[open_, premature]
    out[open_, premature] = mass * share[open_]
    out[open_, normal] = mass * (1.0 - share[open_])
    return out


def ventricular_step(
    probs: np.ndarray,
    model_probs: np.ndarray,
    vectors: np.ndarray,
    rr: np.ndarray,
    confirmed: np.ndarray,
    confirmed_labels: np.ndarray,
    *,
    ventricular: int,
    on_time: float = ON_TIME,
) -> np.ndarray:
    """V against the other classes: ``probs`` (after ``reclassify``) where every beat nobody
    reviewed whose best class is V, whose log(previous RR / local mean) is above ``-on_time``
    (not premature; ``inf``: timing not asked) and whose nearest confirmed beat (Euclidean
    distance d between rows of ``vectors``, in the vote's units) is not a V gets
    (1 - c) * ``model_probs`` + c * onehot(that beat's label), c = exp(-d^2 / 2): the vote of
    its nearest confirmed beat alone. ``rr``: ``beats.rr_features`` rows; ``ventricular``: the
    class index of V. With no confirmed beat outside V nothing changes. Confirmed beats keep
    their rows. Deterministic (ties between equally near confirmed beats: the first
    confirmed)."""
    probs = np.asarray(probs, dtype=np.float64)
    model_probs = np.asarray(model_probs, dtype=np.float64)
    vectors = np.asarray(vectors, dtype=np.float64)
    confirmed = np.asarray(confirmed, dtype=np.int64)
    confirmed_labels = np.asarray(confirmed_labels, dtype=np.int64)
    out = probs.copy()
    if len(confirmed) == 0 or (confirmed_labels == ventricular).all():
        return out
    voted = probs.argmax(axis=1) == ventricular
    voted[confirmed] = False  # the clinician's word is final for the beats they reviewed
    if np.isfinite(on_time):
        voted &= rhythm_block(np.asarray(rr)[:, :3])[:, 0] > -on_time
    rows = np.flatnonzero(voted)
    if len(rows) == 0:
        return out
    reference = vectors[confirmed]
    ref_sq = (reference**2).sum(axis=1)
    onehot = np.eye(probs.shape[1])
    for lo in range(0, len(rows), BLOCK):
        part = rows[lo : lo + BLOCK]
        x = vectors[part]
        d2 = np.maximum((x**2).sum(axis=1)[:, None] + ref_sq[None, :] - 2 * x @ reference.T, 0)
        nearest = d2.argmin(axis=1)  # argmin: the first of equally near confirmed beats
        label = confirmed_labels[nearest]
        back = label != ventricular
        moved = part[back]
        closeness = np.exp(-0.5 * d2[back, nearest[back]])[:, None]
        out[moved] = (1 - closeness) * model_probs[moved] + closeness * onehot[label[back]]
    return out


def teach(
    morphology: np.ndarray,
    rr: np.ndarray,
    probs: np.ndarray,
    confirmed: np.ndarray,
    confirmed_labels: np.ndarray,
    classes: list[str],
    *,
    premature: bool = PREMATURE_STEP,
    ventricular: bool = VENTRICULAR,
    on_time: float = ON_TIME,
    ventricular_space: str = VENTRICULAR_SPACE,
    pooling: str = VOTE_POOLING,
    **params: float,
) -> np.ndarray:
    """Every beat's probabilities after the clinician's answers: ``reclassify`` (its
    ``pooling``) on ``review_features``, then (``ventricular``, when the classes hold V)
    ``ventricular_step`` with ``on_time`` in ``ventricular_space`` ("morphology" or
    "features"), then (``premature``) ``premature_step`` when the classes hold N and A.
    ``params``: the scales of ``review_features`` and the settings of ``premature_step``.

    ``classes`` may go on past the model's (``probs``' columns) with labels only a reviewer
    gives (``answer_labels``: F, fusion; P, paced): the model's probability of those is 0,
    a confirmed beat of one votes for it like any class, and the answer has a column per
    entry of ``classes``."""
    probs = padded(probs, len(classes))
    scales = {k: params[k] for k in ("morph_scale", "rhythm_scale", "model_scale") if k in params}
    step = {k: v for k, v in params.items() if k not in scales}
    if ventricular_space not in ("morphology", "features"):
        raise ValueError(f"unknown ventricular_space {ventricular_space!r}")
    features = review_features(morphology, rr, probs, **scales)
    out = reclassify(features, probs, confirmed, confirmed_labels, pooling=pooling)
    if ventricular and len(confirmed) and "V" in classes:
        # the morphology block of the features: distances in the vote's units either way
        width = np.asarray(morphology).shape[1]
        vectors = features[:, :width] if ventricular_space == "morphology" else features
        out = ventricular_step(
            out,
            probs,
            vectors,
            rr,
            confirmed,
            confirmed_labels,
            ventricular=classes.index("V"),
            on_time=on_time,
        )
    if not premature or len(confirmed) == 0 or not {"N", "A"} <= set(classes):
        return out  # nothing taught: the model's answer stands
    return premature_step(
        out,
        probs,
        rr,
        confirmed,
        confirmed_labels,
        normal=classes.index("N"),
        premature=classes.index("A"),
        **step,
    )


def rr_without(samples: np.ndarray, fs: float, not_beats: np.ndarray) -> np.ndarray:
    """``beats.rr_features`` of every beat at ``samples`` (time order), measured over the beats
    that are beats: a detection a reviewer marked as no beat (``not_beats``, an artefact) is
    left out, so the beat after it is not read as premature; its own row is measured with it."""
    samples, skip = np.asarray(samples), np.asarray(not_beats, dtype=bool)
    out = rr_features(samples, fs)
    if skip.any() and (~skip).sum() >= 2:
        out[~skip] = rr_features(samples[~skip], fs)
    return out


def answer_labels(classes: list[str]) -> list[str]:
    """What ``teach`` may answer for a model with ``classes``: those, then each label only a
    reviewer gives that teaches (``REVIEW_ONLY_TEACHES``); a beat labelled with one that does
    not teaches nothing."""
    return [c for c in review_labels(classes) if c in classes or REVIEW_ONLY_TEACHES.get(c)]


def padded(probs: np.ndarray, width: int) -> np.ndarray:
    """``probs`` with zero columns appended up to ``width`` (labels the model never gives)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[1] > width:
        raise ValueError(f"{probs.shape[1]} probability columns but {width} classes")
    return np.pad(probs, ((0, 0), (0, width - probs.shape[1])))
