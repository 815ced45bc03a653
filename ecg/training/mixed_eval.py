"""Figures for models trained on mixed data: record-level votes, shares of calls per group, and
beats at LUDB's annotated QRS peaks.

- ``majority_vote``: a record's class is the class most of its beats are called;
- ``f1_with_intervals``: per-class F1 (and Se, +P) of record-level calls, with a percentile
  bootstrap over patients (a patient's records are drawn together);
- ``call_shares``: the share of beats called each class within a group of records, with a
  bootstrap over records;
- ``ludb_beat_table``: LUDB beats cut at the cardiologists' QRS peaks through the serving path;
- ``seed_summary`` / ``summarise_seeds``: mean and spread of figures over a configuration's
  seeds; ``AveragedBundle``: the seeds' probabilities averaged (a seed ensemble) behind the
  ``ModelBundle`` interface, so every figure function scores it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecg.dsp.signal import MODEL_FS, prepare_signal, rescale_samples
from ecg.features.beats import extract_windows, rr_features
from ecg.io.ludb import list_ludb_records, load_ludb_record
from ecg.models.bundle import ModelBundle
from ecg.training.dataset import STORE_POST_S, STORE_PRE_S, BeatTable

RESAMPLES = 1000
LEVEL = 0.95


def majority_vote(
    pred: np.ndarray, records: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(record names, the class most of each record's beats are called; ties: lower index)."""
    names, inverse = np.unique(np.asarray(records), return_inverse=True)
    counts = np.zeros((len(names), n_classes), np.int64)
    np.add.at(counts, (inverse, np.asarray(pred, np.int64)), 1)
    return names, counts.argmax(axis=1)


def _f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    support, called = cm.sum(axis=-1), cm.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(support > 0, tp / support, np.nan)
        ppv = np.where(called > 0, tp / called, np.nan)
        f1 = np.where(support + called > 0, 2 * tp / (support + called), np.nan)
    return se, ppv, f1


def _interval(values: np.ndarray) -> list[float] | None:
    finite = values[np.isfinite(values)]
    if len(finite) < len(values) / 2:
        return None
    tail = 100 * (1 - LEVEL) / 2
    return [round(float(v), 4) for v in np.percentile(finite, [tail, 100 - tail])]


def f1_with_intervals(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    classes: Sequence[str],
    report: Sequence[str],
    *,
    seed: int = 0,
) -> dict[str, dict[str, object]]:
    """Se, +P and F1 of each class in ``report`` (record-level calls), each with a bootstrap
    interval over ``groups`` (patients) drawn with replacement."""
    k = len(classes)
    names, inverse = np.unique(np.asarray(groups), return_inverse=True)
    per_group = np.zeros((len(names), k, k), np.float64)
    np.add.at(per_group, (inverse, np.asarray(y_true), np.asarray(y_pred)), 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(RESAMPLES, len(names)))
    weights = np.stack([np.bincount(d, minlength=len(names)) for d in draws])
    cms = np.einsum("rn,nij->rij", weights, per_group)
    se_b, ppv_b, f1_b = _f1(cms)
    se, ppv, f1 = _f1(per_group.sum(axis=0))
    out = {}
    for code in report:
        i = list(classes).index(code)
        out[code] = {
            "records": int(per_group.sum(axis=0)[i].sum()),
            "Se": float(se[i]),
            "+P": float(ppv[i]),
            "F1": float(f1[i]),
            "Se_interval": _interval(se_b[:, i]),
            "+P_interval": _interval(ppv_b[:, i]),
            "F1_interval": _interval(f1_b[:, i]),
        }
    return out


def call_shares(
    pred: np.ndarray, records: np.ndarray, classes: Sequence[str], *, seed: int = 0
) -> dict[str, object]:
    """Share of the beats called each class (pooled over the records given), with a bootstrap
    interval over records."""
    k = len(classes)
    names, inverse = np.unique(np.asarray(records), return_inverse=True)
    counts = np.zeros((len(names), k), np.float64)
    np.add.at(counts, (inverse, np.asarray(pred, np.int64)), 1)
    total = counts.sum()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(RESAMPLES, len(names)))
    weights = np.stack([np.bincount(d, minlength=len(names)) for d in draws])
    boot = weights @ counts
    boot = boot / np.maximum(boot.sum(axis=1, keepdims=True), 1)
    return {
        "records": int(len(names)),
        "beats": int(total),
        "share": {c: float(counts[:, i].sum() / max(total, 1)) for i, c in enumerate(classes)},
        "interval": {c: _interval(boot[:, i]) for i, c in enumerate(classes)},
    }


def ludb_beat_table(
    data_dir: str | Path, *, lead: str = "ii"
) -> tuple[BeatTable, dict[str, list[str]]]:
    """Beats of every LUDB record on ``lead`` at the cardiologists' QRS peaks (resampled and
    band-passed to ``MODEL_FS`` as serving does), and each record's header diagnoses. Symbols
    are "?" (LUDB labels records, not beats)."""
    parts, diagnoses = [], {}
    for name in list_ludb_records(data_dir):
        record = load_ludb_record(data_dir, name, lead=lead)
        diagnoses[name] = record.diagnoses
        peaks = rescale_samples(record.delineation.qrs[:, 1], record.fs, MODEL_FS)
        if len(peaks) < 3:
            continue
        clean = prepare_signal(record.signal, record.fs, MODEL_FS)
        windows, kept = extract_windows(
            clean, peaks, MODEL_FS, pre_s=STORE_PRE_S, post_s=STORE_POST_S
        )
        rr = rr_features(peaks, MODEL_FS)[kept]
        parts.append((windows, rr, f"ludb{name}"))
    n = [len(p[0]) for p in parts]
    table = BeatTable(
        windows=np.concatenate([p[0] for p in parts]).astype(np.float32),
        rr=np.concatenate([p[1] for p in parts]).astype(np.float32),
        symbols=np.full(sum(n), "?", "<U2"),
        records=np.repeat([p[2] for p in parts], n),
        fs=MODEL_FS,
        pre_s=STORE_PRE_S,
        post_s=STORE_POST_S,
        lead=lead.upper(),
    )
    return table, diagnoses


def seed_summary(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and spread of one figure over a configuration's seeds (seed spread is as large as
    most effects, issue 17 point 6). Undefined values (None, NaN: a class absent for one seed)
    are left out and counted in ``n``; ``sd`` is the sample standard deviation (None below two
    defined values)."""
    given = [None if v is None else float(v) for v in values]
    defined = np.array([v for v in given if v is not None and np.isfinite(v)], dtype=float)
    if not len(defined):
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0, "values": given}
    return {
        "mean": float(defined.mean()),
        "sd": float(defined.std(ddof=1)) if len(defined) > 1 else None,
        "min": float(defined.min()),
        "max": float(defined.max()),
        "n": int(len(defined)),
        "values": given,
    }


def summarise_seeds(figures: Sequence[Mapping[str, float | None]]) -> dict[str, dict[str, Any]]:
    """``seed_summary`` of every figure named in any seed's flat ``{name: value}`` dict (a
    figure one seed lacks counts as undefined for it)."""
    names = list(dict.fromkeys(k for f in figures for k in f))
    return {k: seed_summary([f.get(k) for f in figures]) for k in names}


class AveragedBundle(ModelBundle):
    """Several seeds of one configuration as one bundle: the members' class probabilities,
    averaged (as ``architectures.build_ensemble`` does in one Keras model), for the same images
    and rhythm inputs. The images are drawn once, so scoring the ensemble costs one rendering
    and one forward pass per member. Metadata, window and representation: the first member's;
    members that differ in any of them are refused."""

    SHARED = ("classes", "inputs", "window", "representation", "sampling_rate", "label_set")

    def __init__(self, members: Sequence[ModelBundle], name: str):
        if not members:
            raise ValueError("an averaged bundle needs at least one member")
        first = members[0]
        for m in members[1:]:
            for key in self.SHARED:
                if m.metadata.get(key) != first.metadata.get(key):
                    raise ValueError(f"{m.name} and {first.name} differ in {key!r}")
            if m.rhythm_features != first.rhythm_features:
                raise ValueError(f"{m.name} and {first.name} differ in rhythm features")
        super().__init__(first.model, {**first.metadata, "name": name}, first.path)
        self.members = list(members)

    def predict_proba(self, images: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        return np.mean([m.predict_proba(images, rr) for m in self.members], axis=0)
