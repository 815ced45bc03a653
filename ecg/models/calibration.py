"""Calibrated probabilities and the "uncertain" rule for a model's beat probabilities.

A shipped network's softmax is not calibrated: inter-patient, its top probability overstates how
often it is right. Temperature scaling (Guo et al. 2017) divides the log-probabilities by one
number T fitted on validation beats by minimising the negative log-likelihood, which never
changes the predicted class (a monotone map of every class's score), so the existing accuracy
and F1 figures stay valid. Working on log-probabilities, not logits, covers the two-seed image
ensembles too (their output is an average of softmaxes): for a single softmax
``softmax(log p / T) == softmax(z / T)``.

A beat is *uncertain* when its calibrated top probability is below a threshold chosen on
validation beats (``threshold_for_coverage``: a fixed share of validation beats answered, or
``choose_threshold``: a target accuracy of the answered ones); serving shows the runner-up
class beside it.
``calibrated_probabilities`` is what serving calls (``calibrated`` adds the uncertain mask), with
the ``"calibration"`` entry of the model's metadata JSON (written by
``benchmarks/calibrate_models.py``): a class prior (``prior_tilted``: the model learnt from
balanced classes) when the entry has one, then the temperature. ``model_probabilities`` undoes
both for rules chosen on the model's own probabilities.

Pure NumPy / SciPy: no TensorFlow, no Django.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 15
# Probabilities are clipped before the log: a float32 softmax can return an exact 0.
_EPS = 1e-12
# The temperature search range: below 0.05 or above 20 a model is broken, not miscalibrated.
T_BOUNDS = (0.05, 20.0)


def log_probabilities(probs: np.ndarray) -> np.ndarray:
    """Natural log of (n, k) probabilities, clipped away from 0."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, k) scores, shifted by the row maximum for stability."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``: the probabilities after temperature scaling."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return softmax(log_probabilities(probs) / float(temperature))


def negative_log_likelihood(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Mean negative log-probability given to the true class (nats per beat)."""
    y = np.asarray(y_true, dtype=np.int64)
    logp = log_probabilities(probs)
    return float(-logp[np.arange(len(y)), y].mean())


def _nll_at(log_p: np.ndarray, y: np.ndarray, temperature: float) -> float:
    scaled = log_p / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    return float((log_norm - scaled[np.arange(len(y)), y]).mean())


def fit_temperature(scores: np.ndarray, y_true: np.ndarray, *, from_logits: bool = False) -> float:
    """The temperature T minimising the NLL of ``softmax(scores / T)`` on (validation) beats.

    ``scores``: probabilities (default) or logits (``from_logits=True``). One parameter, so a
    bounded scalar search on log T is enough and exact to the optimiser's tolerance.
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(y_true, dtype=np.int64)
    if len(y) == 0:
        raise ValueError("cannot fit a temperature on no beats")
    log_p = np.asarray(scores, dtype=np.float64) if from_logits else log_probabilities(scores)
    result = minimize_scalar(
        lambda log_t: _nll_at(log_p, y, float(np.exp(log_t))),
        bounds=(np.log(T_BOUNDS[0]), np.log(T_BOUNDS[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def fit_temperature_per_patient(probs: np.ndarray, y_true: np.ndarray, groups: np.ndarray) -> float:
    """The temperature minimising the MEDIAN over patients (``groups``, e.g. record names) of
    each patient's mean NLL: a fit that one patient the model cannot read does not set.

    Pooled NLL is dominated by confidently wrong beats: on the MIT-BIH validation records, one
    patient (124, right bundle branch block, 2 % right) pulls the pooled fit to T > 2, which
    over-softens every other patient. The median patient is what a new patient most resembles.
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(y_true, dtype=np.int64)
    groups = np.asarray(groups)
    log_p = log_probabilities(probs)
    parts = [(log_p[groups == g], y[groups == g]) for g in np.unique(groups)]
    if not parts:
        raise ValueError("cannot fit a temperature on no beats")
    result = minimize_scalar(
        lambda log_t: float(np.median([_nll_at(lp, yy, float(np.exp(log_t))) for lp, yy in parts])),
        bounds=(np.log(T_BOUNDS[0]), np.log(T_BOUNDS[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def expected_calibration_error(
    probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """ECE: the beat-weighted mean |accuracy - mean top probability| over ``n_bins``
    equal-width bins of the top probability (``training.metrics`` reports this one too)."""
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def top_two(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted class, its probability, runner-up class) of each row."""
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, axis=1, kind="stable")
    predicted, runner_up = order[:, 0], order[:, 1]
    return predicted, probs[np.arange(len(probs)), predicted], runner_up


def choose_threshold(
    calibrated_probs: np.ndarray, y_true: np.ndarray, target_accuracy: float
) -> float:
    """The smallest threshold on the calibrated top probability at which the beats answered
    (top probability >= threshold) reach ``target_accuracy``; the coverage it costs is what it
    is. If no non-empty answered set reaches the target, the threshold answering only the most
    confident beat. Candidates are the observed top probabilities (ties kept together)."""
    _, confidence, _ = top_two(calibrated_probs)
    correct = np.asarray(calibrated_probs).argmax(axis=1) == np.asarray(y_true)
    order = np.argsort(-confidence, kind="stable")
    conf_sorted, correct_sorted = confidence[order], correct[order]
    # accuracy of the answered set if we answer the first i+1 beats (most confident first)
    running = np.cumsum(correct_sorted) / np.arange(1, len(order) + 1)
    # a cut can only fall where the next beat is strictly less confident (ties go together)
    valid = np.append(conf_sorted[1:] < conf_sorted[:-1], True)
    ok = np.flatnonzero(valid & (running >= target_accuracy))
    if len(ok) == 0:
        return float(conf_sorted[0])
    return float(conf_sorted[ok[-1]])


def threshold_for_coverage(
    calibrated_probs: np.ndarray, coverage: float, weights: np.ndarray | None = None
) -> float:
    """The largest threshold on the calibrated top probability that still answers at least
    ``coverage`` of the beats (beats at or above it are answered; ties are all answered).

    ``weights`` (one per beat, e.g. ``1 / beats of its source``) make coverage a weighted share,
    so a validation set pooled from two databases counts each database equally."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    _, confidence, _ = top_two(calibrated_probs)
    order = np.argsort(-confidence, kind="stable")
    ordered = confidence[order]
    if weights is None:
        return float(ordered[int(np.ceil(coverage * len(ordered))) - 1])
    w = np.asarray(weights, dtype=np.float64)[order]
    if w.shape != ordered.shape or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be one non-negative number per beat, not all zero")
    answered = np.cumsum(w) / w.sum()
    # the first beat (most confident first) at which the weighted share reaches ``coverage``;
    # the tolerance keeps a share that is exactly ``coverage`` from missing by rounding
    return float(ordered[int(np.searchsorted(answered, coverage - 1e-12))])


def prior_tilted(probs: np.ndarray, class_prior: dict[str, Any]) -> np.ndarray:
    """``probs * prior ** tau``, renormalised: the model's probabilities set against how common
    each class is (``class_prior``: ``{"prior": [one share per class], "tau": t}``).

    Why: the recording model learns from balanced epochs with balanced class weights, so its
    probabilities answer as if every class were equally common; by Bayes' rule a new patient's
    answer is that times the class's prevalence. ``tau`` (0: no change, 1: the whole prior) was
    chosen on cross-fitted DS1 (``benchmarks/prior_shift_ds1.py``). Unlike a temperature, this
    can change the predicted class."""
    prior = np.asarray(class_prior["prior"], dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if prior.shape != (probs.shape[1],) or np.any(prior <= 0):
        raise ValueError(f"class prior needs {probs.shape[1]} positive shares, got {prior}")
    out = probs * prior[None, :] ** float(class_prior["tau"])
    return out / np.maximum(out.sum(axis=1, keepdims=True), _EPS)


def calibrated_probabilities(
    probabilities: np.ndarray, calibration: dict[str, Any] | None
) -> np.ndarray:
    """The probabilities serving shows and stores: the model's output with the class prior
    (when the calibration has one) and then the temperature applied; unchanged without a
    calibration."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[None]
    if calibration is None or not len(probs):
        return probs
    if calibration.get("class_prior"):
        probs = prior_tilted(probs, calibration["class_prior"])
    # T = 1 (or an entry with a threshold alone) leaves the probabilities exactly as they are
    temperature = float(calibration.get("temperature", 1.0))
    return probs if temperature == 1.0 else apply_temperature(probs, temperature)


def model_probabilities(
    calibrated_probs: np.ndarray, calibration: dict[str, Any] | None
) -> np.ndarray:
    """The inverse of ``calibrated_probabilities``: the model's own output back from what
    serving stored (the temperature undone, then the prior), for rules chosen on the model's
    own probabilities (the recording's conduction finding)."""
    probs = np.asarray(calibrated_probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[None]
    if calibration is None or not len(probs):
        return probs
    temperature = float(calibration.get("temperature", 1.0))
    out = probs if temperature == 1.0 else apply_temperature(probs, 1.0 / temperature)
    prior = calibration.get("class_prior")
    if prior:
        out = prior_tilted(out, {"prior": prior["prior"], "tau": -float(prior["tau"])})
    return out


def calibrated(
    probabilities: np.ndarray, calibration: dict[str, Any] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(calibrated probabilities, uncertain mask, runner-up class index) of (n, k) model
    probabilities, from a model's ``metadata["calibration"]``
    (``{"temperature": T, "uncertain_below": p, "class_prior": {...}, ...}``:
    ``calibrated_probabilities``; the threshold was fitted on probabilities made the same way).

    Without a calibration (None) the probabilities pass unchanged and nothing is uncertain.
    A temperature never changes the predicted class; a class prior can. The runner-up is the
    second-highest class.
    """
    out = calibrated_probabilities(probabilities, calibration)
    threshold = 0.0 if calibration is None else float(calibration.get("uncertain_below", 0.0))
    _, confidence, runner_up = top_two(out)
    return out, confidence < threshold, runner_up
