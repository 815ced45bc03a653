"""Choosing a model's temperature rule and "uncertain" threshold on its validation beats.

Shared by ``benchmarks/calibrate_models.py`` (every shipped model, with its reported test sets)
and the mixed-data pipeline (``mixed_pipeline.calibrate``): the fitting itself lives in
``ecg.models.calibration``; this module holds the rules compared and how one is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ecg.models.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    fit_temperature_per_patient,
    negative_log_likelihood,
)

# The criterion for "uncertain", applied to validation beats: answer this share of them.
VALIDATION_COVERAGE = 0.90

# A validation set pooled with PTB-XL fold 9: each MIT-BIH record is one leave-out fold of the
# rule's choice, fold 9's patients are split in this many.
PTBXL_GROUPS = 4

# The temperature rules compared on validation. "pooled_nll" is textbook temperature scaling
# (minimum NLL over all validation beats); "median_patient_nll" minimises the median patient's
# NLL; "none" keeps T = 1. Each is scored by leaving one validation record out: fitted on the
# other three, ECE on the one left out, averaged over the four (each patient counts once).
RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "none": lambda p, y, r: 1.0,
    "pooled_nll": lambda p, y, r: fit_temperature(p, y),
    "median_patient_nll": fit_temperature_per_patient,
}


RULE_CHOICE = "lowest mean ECE on a validation record left out of the fit, among " + ", ".join(
    RULES
)

# The class prior's weight for the recording model (``calibration.prior_tilted``: its balanced
# training set against how common each class is), chosen on cross-fitted DS1 by the written
# rule of benchmarks/prior_shift_ds1.py (benchmarks/results/prior_shift_ds1.json); the prior is
# the share of each class among the MIT-BIH training records' beats (``class_prior``). The
# temperature and the threshold are then fitted on the tilted probabilities.
PRIOR_TAU = 0.3
PRIOR_FLOOR = 1e-4  # no class's share falls to zero: its beats could never be called it again


def class_prior(labels: np.ndarray, n_classes: int, tau: float = PRIOR_TAU) -> dict[str, Any]:
    """The calibration's ``class_prior`` entry from the training beats' class indices
    (``labels``; negative: a beat outside the classes, not counted)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    shares = np.maximum(counts / max(counts.sum(), 1.0), PRIOR_FLOOR)
    return {
        "prior": [round(float(v), 6) for v in shares],
        "tau": tau,
        "from": f"class shares of {int(counts.sum())} MIT-BIH training beats",
    }


def criterion_text(*, weighted_sources: bool) -> str:
    """The metadata's ``criterion``: what makes a beat uncertain."""
    return (
        f"uncertain below the calibrated top probability that answers "
        f"{VALIDATION_COVERAGE:.0%} of the validation beats"
        + (", each source weighing the same" if weighted_sources else "")
    )


def fitted_on_text(mitdb_records: list[str], n_mitdb: int, n_ptbxl: int | None) -> str:
    """The metadata's ``fitted_on``: the validation beats the calibration was fitted on."""
    text = (
        f"MIT-BIH DS1 inter-patient validation records {', '.join(sorted(mitdb_records))} "
        f"({n_mitdb} beats)"
    )
    if n_ptbxl is not None:
        text += (
            f" and PTB-XL fold 9 ({n_ptbxl} conducted beats of lead II: every LBBB / RBBB record "
            "without ectopy and a fixed random subset of normal ones)"
        )
    return text


def calibration_figures(probs: np.ndarray, y: np.ndarray, temperature: float) -> dict[str, Any]:
    """ECE and NLL of the raw and the temperature-scaled probabilities on one set of beats."""
    scaled = apply_temperature(probs, temperature)
    return {
        "n_beats": int(len(y)),
        "accuracy": float((probs.argmax(axis=1) == y).mean()),
        "ece_before": expected_calibration_error(probs, y),
        "ece_after": expected_calibration_error(scaled, y),
        "nll_before": negative_log_likelihood(probs, y),
        "nll_after": negative_log_likelihood(scaled, y),
        "argmax_unchanged": bool(np.array_equal(probs.argmax(axis=1), scaled.argmax(axis=1))),
    }


def record_left_out(val: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per rule: T fitted on all validation folds but one, ECE and NLL on that one, and the mean
    held-out ECE that chooses the rule. A fold is a MIT-BIH record, or (``val["groups"]``) a
    part of PTB-XL fold 9's patients."""
    out: dict[str, Any] = {}
    groups = val.get("groups", val["records"])
    names = sorted(np.unique(groups).tolist())
    for rule, fit in RULES.items():
        per_record = {}
        for name in names:
            held = groups == name
            t = fit(val["probs"][~held], val["y"][~held], val["records"][~held])
            per_record[name] = {"temperature_from_the_others": t} | calibration_figures(
                val["probs"][held], val["y"][held], t
            )
        out[rule] = {
            "mean_held_out_ece": float(np.mean([v["ece_after"] for v in per_record.values()])),
            "records": per_record,
        }
    return out


def choose_rule(val: dict[str, np.ndarray]) -> tuple[str, float, dict[str, Any]]:
    """(rule, its temperature fitted on all of ``val``, the leave-one-out figures). Ties keep
    the earlier, simpler rule (``RULES`` order: none first)."""
    left_out = record_left_out(val)
    rule = min(RULES, key=lambda k: left_out[k]["mean_held_out_ece"])
    return rule, RULES[rule](val["probs"], val["y"], val["records"]), left_out


def ptbxl_records(
    data_dir: str | Path,
    max_normal: int,
    fold_number: int | None = None,
    *,
    max_blocks: int | None = None,
) -> list[dict[str, Any]]:
    """PTB-XL records of fold ``fold_number`` (default: the test fold, 10) with a conducted-beat
    label (``conducted_beat_label``), lead II,
    beats detected by ``detect_beats``; records with ectopy are left out, since their ectopic
    beats carry no label. Every L and R record (at most ``max_blocks`` of them, the first in
    table order, when given: a set-up check), and at most ``max_normal`` N records (a fixed
    random subset: N records outnumber the blocks about 20 to 1)."""
    from ecg.dsp.detection import detect_beats
    from ecg.io.ptbxl import (
        TEST_FOLD,
        conducted_beat_label,
        has_ectopy,
        load_ptbxl_record,
        load_ptbxl_table,
    )

    table = load_ptbxl_table(data_dir)
    fold = table[table["strat_fold"] == (fold_number or TEST_FOLD)]
    labels = fold["scp_codes"].map(conducted_beat_label)
    usable = labels.notna() & ~fold["scp_codes"].map(has_ectopy)
    normal = np.flatnonzero(usable & (labels == "N"))
    if len(normal) > max_normal:
        normal = np.random.default_rng(0).choice(normal, max_normal, replace=False)
    blocks = np.flatnonzero(usable & (labels != "N"))[:max_blocks]
    keep = np.sort(np.concatenate([blocks, normal]))
    chosen = fold.iloc[keep]
    out = []
    for ecg_id, row in chosen.iterrows():
        record = load_ptbxl_record(data_dir, int(ecg_id))
        peaks = detect_beats(record.signal, record.fs)
        if len(peaks) >= 3:
            out.append(
                {
                    "signal": record.signal,
                    "fs": record.fs,
                    "peaks": peaks,
                    "label": conducted_beat_label(row["scp_codes"]),
                    "patient": str(row["patient_id"]),
                }
            )
    return out


def ptbxl_probabilities(bundle: Any, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Probabilities of every kept beat of ``ptbxl_records`` through ``classify_beats``, each
    labelled with its record's class; ``records`` of the result are patient ids."""
    probs, ys, patients = [], [], []
    for rec in records:
        kept, _, p = bundle.classify_beats(rec["signal"], rec["fs"], rec["peaks"])
        if len(kept):
            probs.append(p)
            ys.append(np.full(len(kept), bundle.classes.index(rec["label"])))
            patients.append(np.full(len(kept), rec["patient"]))
    if not probs:
        return None
    return {
        "probs": np.concatenate(probs),
        "y": np.concatenate(ys),
        "records": np.concatenate(patients),
        "n_records": len(probs),
    }


def with_ptbxl_validation(val: dict[str, np.ndarray], ptbxl: dict[str, Any]) -> dict:
    """The MIT-BIH validation beats plus PTB-XL fold 9's: ``source`` per beat, ``groups`` (the
    leave-out folds: each MIT-BIH record, fold 9's patients split in ``PTBXL_GROUPS`` parts in
    sorted order) and ``weights`` that give each source half the coverage."""
    n_mit, n_ptb = len(val["y"]), len(ptbxl["y"])
    patients = ptbxl["records"].astype(str)
    part = {p: i % PTBXL_GROUPS for i, p in enumerate(sorted(set(patients.tolist())))}
    ptb_groups = np.array([f"ptbxl-fold9-part{part[p]}" for p in patients])
    return {
        "probs": np.concatenate([val["probs"], ptbxl["probs"]]),
        "y": np.concatenate([val["y"], ptbxl["y"]]),
        "records": np.concatenate([val["records"].astype(str), "ptbxl:" + patients]),
        "groups": np.concatenate([val["records"].astype(str), ptb_groups]),
        "source": np.array(["mitdb"] * n_mit + ["ptbxl_fold9"] * n_ptb),
        "weights": np.concatenate([np.full(n_mit, 0.5 / n_mit), np.full(n_ptb, 0.5 / n_ptb)]),
        "n_ptbxl_records": ptbxl["n_records"],
    }
