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
"""

from __future__ import annotations

import numpy as np

MORPH_SCALE_MV = 0.16
RHYTHM_SCALE = 0.20
MODEL_SCALE = 2.0
BLOCK = 4096  # beats per block of the distance computation (bounded memory)


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
) -> np.ndarray:
    """Probabilities (n, k) of every beat after the clinician's answers.

    ``features``: ``review_features`` of every beat; ``probs``: the model's probabilities;
    ``confirmed``: indices of the beats the clinician confirmed or relabelled;
    ``confirmed_labels``: their class indices. Confirmed beats get a one-hot row of their label.
    """
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
        total = weight.sum(axis=1, keepdims=True)
        vote = (weight @ onehot) / np.maximum(total, 1e-300)
        closeness = weight.max(axis=1, keepdims=True)
        out[lo : lo + BLOCK] = (1 - closeness) * probs[lo : lo + BLOCK] + closeness * vote
    out[confirmed] = onehot  # the clinician's word is final for the beats they reviewed
    return out
