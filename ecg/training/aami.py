"""AAMI EC57 figures of a six-class model: the AAMI class of each prediction, and VEB / SVEB
sensitivity, positive predictivity and F1 counted as the standard counts them, with intervals
over resampled test records (pure numpy; the bootstrap of ``ecg.training.metrics``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.training.metrics import (
    BOOTSTRAP_LEVEL,
    BOOTSTRAP_RESAMPLES,
    bootstrap_intervals,
    confusion_matrix,
    per_class_from_confusion,
    per_record_confusions,
    percentile_interval,
    resampled_confusions,
    safe_ratio,
)

# Six-class prediction -> AAMI class: bundle branch blocks are non-ectopic (N), a premature
# atrial beat is supraventricular ectopic, a PVC or a flutter wave is ventricular.
# F, P and X, labels only a reviewer gives (ecg.classes.REVIEW_ONLY): AAMI's fusion class and
# its unknown / paced class (an artefact called on a beat is no answer for it either).
SIX_TO_AAMI = {"L": "N", "N": "N", "R": "N", "A": "SVEB", "V": "VEB", "!": "VEB", "F": "F",
               "P": "Q", "X": "Q"}  # fmt: skip


def aami_predictions(
    pred_six: np.ndarray, six_classes: list[str], aami_classes: list[str]
) -> np.ndarray:
    """AAMI class index of each six-class prediction (``SIX_TO_AAMI``)."""
    mapping = np.array([aami_classes.index(SIX_TO_AAMI[c]) for c in six_classes])
    return mapping[np.asarray(pred_six, dtype=np.int64)]


# EC57's gross VEB and SVEB statistics as PhysioNet's bxb (the standard's reference
# comparator) computes them: a false VEB is a reference N or S beat called V (VFP = Nv + Sv;
# a fusion or unclassifiable beat called V is not one), a false SVEB a reference N, V or F beat
# called S (SFP = Ns + Vs + Fs). Sensitivity counts every reference beat of the class.
EC57_FALSE_POSITIVE_FROM = {"VEB": ("N", "SVEB"), "SVEB": ("N", "VEB", "F")}


def ec57_counts(cms: np.ndarray, classes: list[str], code: str) -> tuple[Any, Any, Any]:
    """(true positives, false negatives, false positives) of ``code`` ("VEB" or "SVEB") as EC57
    counts them, from an AAMI confusion matrix (rows: reference) or a stack of them."""
    cms = np.asarray(cms)
    i = classes.index(code)
    tp = cms[..., i, i]
    fn = cms[..., i, :].sum(axis=-1) - tp
    rows = [classes.index(c) for c in EC57_FALSE_POSITIVE_FROM[code] if c in classes]
    fp = cms[..., rows, i].sum(axis=-1)
    return tp, fn, fp


def ec57_summary(cm: np.ndarray, classes: list[str]) -> dict[str, dict[str, Any]]:
    """VEB and SVEB Se, +P and F1 as EC57 counts them (``ec57_counts``), with each class's
    support and "+P_every_call": its precision over every beat called that class (a fusion
    beat called V a false VEB, as this project counted until 2026-12-06)."""
    out = {}
    for code in ("VEB", "SVEB"):
        tp, fn, fp = (float(v) for v in ec57_counts(cm, classes, code))
        i = classes.index(code)
        out[code] = {
            "Se": safe_ratio(tp, tp + fn),
            "+P": safe_ratio(tp, tp + fp),
            "F1": safe_ratio(2 * tp, 2 * tp + fp + fn),
            "support": int(tp + fn),
            "+P_every_call": safe_ratio(tp, float(np.asarray(cm)[:, i].sum())),
        }
    return out


def ec57_intervals(
    per_record: dict[str, list[list[int]]],
    classes: list[str],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict[str, dict[str, list[float] | None]]:
    """Intervals of ``ec57_summary``'s Se, +P and F1 over test record sets drawn with
    replacement (the same draws as ``bootstrap_intervals`` for the same records and seed)."""
    cms = resampled_confusions(per_record, resamples, seed)
    out = {}
    for code in ("VEB", "SVEB"):
        tp, fn, fp = ec57_counts(cms, classes, code)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
            ppv = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            f1 = np.where(tp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        out[code] = {
            "Se": percentile_interval(se, level),
            "+P": percentile_interval(ppv, level),
            "F1": percentile_interval(f1, level),
        }
    return out


def aami_from_confusion(
    cm: np.ndarray,
    classes: list[str],
    per_record: dict[str, list[list[int]]] | None = None,
) -> dict[str, Any]:
    """The AAMI block of a metrics file from its confusion matrix (and, with ``per_record``,
    its per-record confusions): the same figures ``aami_metrics`` writes, so a stored file can
    be scored again without the model (``benchmarks/rescore_aami_ec57.py``)."""
    cm = np.asarray(cm, dtype=np.int64)
    out: dict[str, Any] = {
        "n_beats": int(cm.sum()),
        "accuracy": safe_ratio(float(np.trace(cm)), float(cm.sum())),
        "classes": list(classes),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class_from_confusion(cm, list(classes)),
        "summary": ec57_summary(cm, list(classes)),
        "counting": "EC57 (bxb): VEB +P = Vv / (Nv + Sv + Vv), SVEB +P = Ss / (Ns + Vs + Fs + Ss); "
        "+P_every_call: over every beat called the class",
    }
    if per_record is not None:
        out["per_record_confusion"] = per_record
        out["bootstrap"] = {
            **bootstrap_intervals(per_record, list(classes)),
            "ec57": ec57_intervals(per_record, list(classes)),
        }
    return out


def aami_metrics(
    true_aami: np.ndarray,
    pred_six: np.ndarray,
    six_classes: list[str],
    aami_classes: list[str],
    records: np.ndarray | None = None,
) -> dict[str, Any]:
    """AAMI EC57 figures of a six-class model: every beat of the test records, its reference
    AAMI class against the AAMI class of the six-class prediction (F and Q are never predicted
    by a model; a reviewer may answer them), VEB and SVEB counted as EC57 counts them
    (``ec57_summary``); with ``records``, also the per-record confusions and their bootstrap
    intervals (``bootstrap.ec57`` for the summary's figures).
    """
    pred = aami_predictions(pred_six, six_classes, aami_classes)
    cm = confusion_matrix(true_aami, pred, len(aami_classes))
    per_record = None
    if records is not None:
        per_record = per_record_confusions(true_aami, pred, records, len(aami_classes))
    return aami_from_confusion(cm, aami_classes, per_record)
