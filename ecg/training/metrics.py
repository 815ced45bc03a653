"""Evaluation metrics from labels and probabilities (pure numpy; AUC via scikit-learn).

Conventions (stated in the report): macro-F1 averages the classes present in the test set
(DS2 has no '!' beats; a '!' prediction there still counts as an error of the true class);
specificity is TN / (TN + FP) one-vs-rest; ECE uses 15 equal-width confidence bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# One ECE for reports and serving (15 equal-width bins of the top probability).
from ecg.models.calibration import expected_calibration_error  # noqa: F401


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def safe_ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def per_class_from_confusion(cm: np.ndarray, classes: list[str]) -> dict[str, dict[str, Any]]:
    total = cm.sum()
    out = {}
    for i, code in enumerate(classes):
        tp = cm[i, i]
        fn = cm[i].sum() - tp
        fp = cm[:, i].sum() - tp
        tn = total - tp - fn - fp
        precision = safe_ratio(tp, tp + fp)
        recall = safe_ratio(tp, tp + fn)
        f1 = safe_ratio(2 * tp, 2 * tp + fp + fn)
        out[code] = {
            "support": int(cm[i].sum()),
            "predicted": int(cm[:, i].sum()),
            "precision": precision,
            "sensitivity": recall,
            "specificity": safe_ratio(tn, tn + fp),
            "f1": f1,
        }
    return out


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the test set."""
    present = cm.sum(axis=1) > 0
    tp = np.diag(cm).astype(float)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def one_vs_rest_auc(probs: np.ndarray, y_true: np.ndarray, classes: list[str]) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    per_class: dict[str, float | None] = {}
    for i, code in enumerate(classes):
        positives = y_true == i
        if positives.all() or not positives.any():
            per_class[code] = None  # undefined without both positives and negatives
        else:
            per_class[code] = float(roc_auc_score(positives, probs[:, i]))
    defined = [v for v in per_class.values() if v is not None]
    return {"per_class": per_class, "macro": float(np.mean(defined)) if defined else None}


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, classes: list[str], records: np.ndarray | None = None
) -> dict[str, Any]:
    """Everything the report needs for one model on one test set; with ``records`` (each beat's
    record) also the per-record confusions and their bootstrap intervals."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    y_pred = probs.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, len(classes))
    uncertainty = {} if records is None else _record_uncertainty(y_true, y_pred, records, classes)
    return {
        "n_beats": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else None,
        "macro_f1": macro_f1(cm),
        "per_class": per_class_from_confusion(cm, classes),
        "auc_ovr": one_vs_rest_auc(probs, y_true, classes),
        "ece": expected_calibration_error(probs, y_true),
        "classes": list(classes),
        "confusion_matrix": cm.tolist(),
        **uncertainty,
    }


# Uncertainty: whole test records drawn again with replacement (a percentile bootstrap). The
# patient, not the beat, is what changes from one test set to the next: one record can hold most
# of a class's beats (DS2: record 232 holds three quarters of the SVEB beats), so resampling
# beats would give intervals far too narrow.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95


def per_record_confusions(
    y_true: np.ndarray, y_pred: np.ndarray, records: np.ndarray, n_classes: int
) -> dict[str, list[list[int]]]:
    """The confusion matrix of each test record (what the bootstrap resamples), JSON-ready."""
    records = np.asarray(records)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        str(name): confusion_matrix(y_true[records == name], y_pred[records == name], n_classes)
        .astype(int)
        .tolist()
        for name in np.unique(records)
    }


def resampled_confusions(
    per_record: dict[str, list[list[int]]], resamples: int, seed: int
) -> np.ndarray:
    """(resamples, k, k) confusion matrices of record sets drawn with replacement; the same
    records and seed give the same draws, so two models' figures can be compared pair-wise."""
    stack = np.array([per_record[name] for name in sorted(per_record)], dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(stack), size=(resamples, len(stack)))
    times_drawn = np.stack([np.bincount(d, minlength=len(stack)) for d in draws])
    return np.einsum("rn,nij->rij", times_drawn, stack)


def _statistics(cms: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 (classes present in each matrix) and per-class sensitivity and
    precision (NaN where undefined) of a stack of confusion matrices."""
    tp = np.diagonal(cms, axis1=1, axis2=2)
    support, predicted = cms.sum(axis=2), cms.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = support > 0
    return {
        "accuracy": tp.sum(axis=1) / np.maximum(cms.sum(axis=(1, 2)), 1),
        "macro_f1": (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1),
        "sensitivity": sensitivity,
        "precision": precision,
    }


def percentile_interval(values: np.ndarray, level: float) -> list[float] | None:
    """Percentile interval of the defined values; None where most resamples leave it undefined
    (a class absent from most record sets)."""
    finite = values[np.isfinite(values)]
    if len(finite) < len(values) / 2:
        return None
    tail = 100 * (1 - level) / 2
    return [float(v) for v in np.percentile(finite, [tail, 100 - tail])]


def bootstrap_intervals(
    per_record: dict[str, list[list[int]]],
    classes: list[str],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict[str, Any]:
    """Intervals of accuracy, macro-F1 and each class's sensitivity and precision over test
    record sets drawn with replacement from ``per_record`` (``per_record_confusions``)."""
    stats = _statistics(resampled_confusions(per_record, resamples, seed))
    return {
        "unit": "record",
        "records": len(per_record),
        "resamples": resamples,
        "level": level,
        "accuracy": percentile_interval(stats["accuracy"], level),
        "macro_f1": percentile_interval(stats["macro_f1"], level),
        "per_class": {
            code: {
                "sensitivity": percentile_interval(stats["sensitivity"][:, i], level),
                "precision": percentile_interval(stats["precision"][:, i], level),
            }
            for i, code in enumerate(classes)
        },
    }


def _record_uncertainty(
    y_true: np.ndarray, y_pred: np.ndarray, records: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    per_record = per_record_confusions(y_true, y_pred, records, len(classes))
    return {
        "per_record_confusion": per_record,
        "bootstrap": bootstrap_intervals(per_record, classes),
    }


def bootstrap_difference(
    per_record: dict[str, list[list[int]]],
    other_per_record: dict[str, list[list[int]]],
    statistic: str = "macro_f1",
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict[str, Any]:
    """``statistic`` of one model minus another's on the SAME resampled record sets (paired):
    the difference, its interval, and the share of record sets where the first is ahead."""
    if sorted(per_record) != sorted(other_per_record):
        raise ValueError("a paired comparison needs both models scored on the same records")
    ours = _statistics(resampled_confusions(per_record, resamples, seed))[statistic]
    theirs = _statistics(resampled_confusions(other_per_record, resamples, seed))[statistic]
    whole = _statistics(np.array([np.sum(list(per_record.values()), axis=0)], dtype=float))
    other = _statistics(np.array([np.sum(list(other_per_record.values()), axis=0)], dtype=float))
    return {
        "statistic": statistic,
        "difference": float(whole[statistic][0] - other[statistic][0]),
        "interval": percentile_interval(ours - theirs, level),
        "share_ahead": float(np.mean(ours > theirs)),
        "resamples": resamples,
        "level": level,
    }


def seed_mean_difference(
    per_record_seeds: Sequence[dict[str, list[list[int]]]],
    other_per_record_seeds: Sequence[dict[str, list[list[int]]]],
    statistic: str = "macro_f1",
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict[str, Any]:
    """``bootstrap_difference`` for the MEAN over seeds: each configuration's statistic is
    averaged over its seeds (one model: a one-element list) on every resampled record set, and
    the paired difference of those means is resampled. The record sets are the same draws for
    every seed and both sides, so the interval is over records only; the seeds' spread is what
    the averaging removes (report it beside: ``mixed_eval.seed_summary``)."""
    members = [*per_record_seeds, *other_per_record_seeds]
    if not per_record_seeds or not other_per_record_seeds:
        raise ValueError("each side needs at least one seed's per-record confusions")
    if any(sorted(m) != sorted(members[0]) for m in members):
        raise ValueError("a paired comparison needs every model scored on the same records")

    def mean_over(side: Sequence[dict[str, list[list[int]]]]) -> tuple[float, np.ndarray]:
        whole = [
            _statistics(np.array([np.sum(list(m.values()), axis=0)], dtype=float))[statistic][0]
            for m in side
        ]
        draws = [_statistics(resampled_confusions(m, resamples, seed))[statistic] for m in side]
        return float(np.mean(whole)), np.mean(draws, axis=0)

    ours_whole, ours = mean_over(per_record_seeds)
    theirs_whole, theirs = mean_over(other_per_record_seeds)
    return {
        "statistic": statistic,
        "difference": ours_whole - theirs_whole,
        "interval": percentile_interval(ours - theirs, level),
        "share_ahead": float(np.mean(ours > theirs)),
        "seeds": [len(per_record_seeds), len(other_per_record_seeds)],
        "resamples": resamples,
        "level": level,
    }
