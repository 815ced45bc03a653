"""Choosing a model's temperature rule and "uncertain" threshold on its validation beats.

Shared by ``benchmarks/calibrate_models.py`` (every shipped model, with its reported test sets)
and the mixed-data pipeline (``mixed_pipeline.calibrate``): the fitting itself lives in
``ecg.models.calibration``; this module holds the rules compared and how one is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
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

# The temperature rules compared on validation. "pooled_nll" is textbook temperature scaling
# (minimum NLL over all validation beats); "median_patient_nll" minimises the median patient's
# NLL; "none" keeps T = 1. Each is scored by leaving one validation record out: fitted on the
# other three, ECE on the one left out, averaged over the four (each patient counts once).
RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "none": lambda p, y, r: 1.0,
    "pooled_nll": lambda p, y, r: fit_temperature(p, y),
    "median_patient_nll": fit_temperature_per_patient,
}


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
