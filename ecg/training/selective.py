"""Selective classification figures: what answering only the confident beats buys.

A selective-risk curve lists, for a sweep of thresholds on the (calibrated) top probability, the
coverage (share of beats answered) and the accuracy of the answered beats, overall and per true
class. At one threshold, ``selective_at`` adds percentile-bootstrap intervals over test RECORDS
(patients), as ``metrics.bootstrap_intervals`` does, because the patient is what changes from
one test set to the next. Pure NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.models.calibration import top_two
from ecg.training.metrics import BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES

CURVE_COVERAGES = tuple(np.round(np.arange(0.50, 1.0001, 0.02), 2))


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def _answered_figures(
    correct: np.ndarray, answered: np.ndarray, y_true: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "coverage": _ratio(answered.sum(), len(answered)),
        "accuracy_answered": _ratio((correct & answered).sum(), answered.sum()),
        "per_class": {},
    }
    for i, code in enumerate(classes):
        of_class = y_true == i
        if of_class.any():
            out["per_class"][code] = {
                "support": int(of_class.sum()),
                "coverage": _ratio((answered & of_class).sum(), of_class.sum()),
                # the class's sensitivity among its answered beats
                "accuracy_answered": _ratio(
                    (correct & answered & of_class).sum(), (answered & of_class).sum()
                ),
            }
    return out


def selective_curve(
    probs: np.ndarray,
    y_true: np.ndarray,
    classes: list[str],
    coverages: tuple[float, ...] = CURVE_COVERAGES,
) -> list[dict[str, Any]]:
    """For each target coverage: the threshold on the top probability that answers that share
    of the most confident beats, and the coverage and answered accuracy it gives (overall and
    per true class). Ties can make the actual coverage a little lower than the target."""
    y_true = np.asarray(y_true, dtype=np.int64)
    predicted, confidence, _ = top_two(probs)
    correct = predicted == y_true
    ordered = np.sort(confidence)[::-1]
    rows = []
    for target in coverages:
        n = max(1, int(round(target * len(ordered))))
        threshold = float(ordered[n - 1]) if target < 1 else 0.0
        answered = confidence >= threshold
        rows.append(
            {
                "target_coverage": float(target),
                "threshold": threshold,
                **_answered_figures(correct, answered, y_true, classes),
            }
        )
    return rows


def _per_record_counts(
    correct: np.ndarray,
    answered: np.ndarray,
    y_true: np.ndarray,
    records: np.ndarray,
    n_classes: int,
) -> tuple[list[str], np.ndarray]:
    """(records, counts): counts[r, c] = (beats, answered, answered correct) of class c."""
    names = sorted(np.unique(records).tolist())
    counts = np.zeros((len(names), n_classes, 3))
    for r, name in enumerate(names):
        in_record = records == name
        for c in range(n_classes):
            m = in_record & (y_true == c)
            counts[r, c] = (m.sum(), (m & answered).sum(), (m & answered & correct).sum())
    return names, counts


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    finite = values[np.isfinite(values)]
    if len(finite) < len(values) / 2:
        return None  # undefined in most resamples (a class absent from most record sets)
    tail = 100 * (1 - level) / 2
    return [float(v) for v in np.percentile(finite, [tail, 100 - tail])]


def selective_at(
    probs: np.ndarray,
    y_true: np.ndarray,
    classes: list[str],
    threshold: float,
    records: np.ndarray | None = None,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict[str, Any]:
    """Coverage and answered accuracy (overall and per class) at ``threshold``; with
    ``records``, their percentile intervals over record sets drawn with replacement."""
    y_true = np.asarray(y_true, dtype=np.int64)
    predicted, confidence, _ = top_two(probs)
    correct = predicted == y_true
    answered = confidence >= threshold
    out = {"threshold": float(threshold), **_answered_figures(correct, answered, y_true, classes)}
    if records is None:
        return out
    names, counts = _per_record_counts(correct, answered, y_true, np.asarray(records), len(classes))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(resamples, len(names)))
    times = np.stack([np.bincount(d, minlength=len(names)) for d in draws])
    sums = np.einsum("rn,nck->rck", times, counts)  # (resamples, classes, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = sums.sum(axis=1)
        cov = total[:, 1] / total[:, 0]
        acc = total[:, 2] / total[:, 1]
        cls_cov = np.where(sums[:, :, 0] > 0, sums[:, :, 1] / sums[:, :, 0], np.nan)
        cls_acc = np.where(sums[:, :, 1] > 0, sums[:, :, 2] / sums[:, :, 1], np.nan)
    out["bootstrap"] = {
        "unit": "record",
        "records": len(names),
        "resamples": resamples,
        "level": level,
        "coverage": _interval(cov, level),
        "accuracy_answered": _interval(acc, level),
        "per_class": {
            code: {
                "coverage": _interval(cls_cov[:, i], level),
                "accuracy_answered": _interval(cls_acc[:, i], level),
            }
            for i, code in enumerate(classes)
            if code in out["per_class"]
        },
    }
    return out
