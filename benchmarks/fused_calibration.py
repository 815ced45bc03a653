"""Calibration of the lead-fused probabilities (issues 17, 18): is a temperature needed now?

    python benchmarks/fused_calibration.py [--out benchmarks/results/fused_calibration.json]

Since lead fusion (``ecg.features.lead_fusion``, chosen in ``benchmarks/lead_fusion_study.py``)
the recording model's served probabilities are the mean of two leads' probabilities. The model's
temperature (``calibration.rule`` "none", T = 1) was chosen on ONE lead's probabilities, and the
fusion study refitted only the "uncertain below" threshold on the fused ones. Averaging two
softmaxes changes how confident the served top probability is, so the temperature choice is
repeated here on the fused probabilities.

The choice is the shipped one, unchanged and fixed before this script ran
(``calibration_fit.choose_rule``): among ``calibration_fit.RULES`` (none, pooled NLL, median
patient NLL), the rule with the lowest mean ECE on a validation group left out of the fit (each
MIT-BIH DS1 validation record, PTB-XL fold 9's patients in ``PTBXL_GROUPS`` parts); ties keep the
simpler rule. Then the threshold: the calibrated top probability that answers
``VALIDATION_COVERAGE`` of the validation beats, each source weighing the same. Validation beats
are the fusion study's own (its per-record caches under ``build/lead_fusion/``): MIT-BIH DS1
validation records 106, 124, 209, 223 (124's second lead, V4, is not fused) and PTB-XL fold 9
(lead II + V1, every LBBB / RBBB record without ectopy and 300 random normal ones).

Reported only, never chosen on: MIT-BIH DS2 (22 records) and PTB-XL fold 10: ECE / NLL before
and after, coverage and accuracy of the answered beats at the threshold with intervals over
records / patients, and the selective-risk curve.

It writes no metadata: serving applies no temperature after fusion (T = 1, the fusion study's
choice), and the first run showed why the rule's winner is not served (docs/calibration.md,
"Calibration after lead fusion"): on the fused probabilities the median-patient rule wins with
T = 0.053, which pushes most beats' top probability to 1.0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import lead_fusion_study as study  # noqa: E402
from ecg.classes import DS2_RECORDS  # noqa: E402
from ecg.models.calibration import apply_temperature, threshold_for_coverage  # noqa: E402
from ecg.training.calibration_fit import (  # noqa: E402
    PTBXL_GROUPS,
    RULE_CHOICE,
    VALIDATION_COVERAGE,
    calibration_figures,
    choose_rule,
)
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402
from ecg.training.selective import selective_at, selective_curve  # noqa: E402


class _LazyBundle:
    """The model, loaded only if a cache of the fusion study is missing (re-runs read caches)."""

    def __init__(self, path: Path) -> None:
        self._path, self._bundle = path, None

    def __getattr__(self, name: str) -> Any:
        if self._bundle is None:
            from ecg.models.bundle import load_bundle

            self._bundle = load_bundle(self._path)
        return getattr(self._bundle, name)


def _fused_set(data: dict[str, np.ndarray], classes: list[str], rule: str) -> dict:
    return {"probs": study.fused(data, classes, rule).astype(np.float64), "y": data["y"]}


def validation_set(bundle: Any, mitdb: Path, ptbxl: Path, classes: list[str], rule: str) -> dict:
    """The fused validation beats as ``calibration_fit`` expects them (groups, weights)."""
    mit = study.mitdb_set(bundle, mitdb, DS1_VALIDATION_RECORDS)
    ptb = study.ptbxl_fold(bundle, ptbxl, 9, 300)
    patients = ptb["patients"].astype(str)
    part = {p: i % PTBXL_GROUPS for i, p in enumerate(sorted(set(patients.tolist())))}
    n_mit, n_ptb = len(mit["y"]), len(ptb["y"])
    return {
        "probs": np.concatenate(
            [_fused_set(mit, classes, rule)["probs"], _fused_set(ptb, classes, rule)["probs"]]
        ),  # fmt: skip
        "y": np.concatenate([mit["y"], ptb["y"]]),
        "records": np.concatenate([mit["records"].astype(str), "ptbxl:" + patients]),
        "groups": np.concatenate(
            [mit["records"].astype(str), [f"ptbxl-fold9-part{part[p]}" for p in patients]]
        ),
        "source": np.array(["mitdb"] * n_mit + ["ptbxl_fold9"] * n_ptb),
        "weights": np.concatenate([np.full(n_mit, 0.5 / n_mit), np.full(n_ptb, 0.5 / n_ptb)]),
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    return value


def reported(
    probs: np.ndarray, y: np.ndarray, groups: np.ndarray, classes: list[str], t: float, cut: float
) -> dict[str, Any]:
    scaled = apply_temperature(probs, t)
    return {
        **calibration_figures(probs, y, t),
        "at_threshold": selective_at(scaled, y, classes, cut, groups),
        "selective_curve": selective_curve(scaled, y, classes),
    }


def main() -> None:
    from ecg.io.ptbxl import default_ptbxl_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb", type=Path)
    parser.add_argument("--ptbxl", type=Path, default=None)
    parser.add_argument("--out", default="benchmarks/results/fused_calibration.json", type=Path)
    args = parser.parse_args()
    ptbxl_dir = args.ptbxl or default_ptbxl_dir() or Path("../shared/data/ptbxl")
    meta_path = study.MODEL.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    classes, rule = list(meta["classes"]), meta["lead_fusion"]["rule"]
    bundle = _LazyBundle(study.MODEL)

    val = validation_set(bundle, args.mitdb, ptbxl_dir, classes, rule)
    chosen, temperature, left_out = choose_rule(val)
    scaled = apply_temperature(val["probs"], temperature)
    threshold = threshold_for_coverage(scaled, VALIDATION_COVERAGE, val["weights"])
    result: dict[str, Any] = {
        "about": __doc__.split("\n\n")[1].strip(),
        "code_version": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fusion_rule": rule,
        "rule_choice": RULE_CHOICE,
        "chosen_rule": chosen,
        "temperature": temperature,
        "uncertain_below": threshold,
        "uncertain_below_served_before": meta["lead_fusion"].get("uncertain_below"),
        "validation": {
            **calibration_figures(val["probs"], val["y"], temperature),
            "mean_held_out_ece": {k: v["mean_held_out_ece"] for k, v in left_out.items()},
            "by_source": {
                name: {
                    **calibration_figures(val["probs"][m], val["y"][m], temperature),
                    "at_threshold": selective_at(scaled[m], val["y"][m], classes, threshold),
                }
                for name in ("mitdb", "ptbxl_fold9")
                for m in [val["source"] == name]
            },
        },
    }
    ds2 = study.mitdb_set(bundle, args.mitdb, DS2_RECORDS)
    ds2_probs = study.fused(ds2, classes, rule).astype(np.float64)
    served_t, served_cut = 1.0, float(meta["lead_fusion"]["uncertain_below"])
    result["ds2_reported_only"] = reported(
        ds2_probs, ds2["y"], ds2["records"], classes, temperature, threshold
    )
    result["ds2_served"] = reported(ds2_probs, ds2["y"], ds2["records"], classes, 1.0, served_cut)
    fold10 = study.ptbxl_fold(bundle, ptbxl_dir, 10, 100_000)
    f10_probs = study.fused(fold10, classes, rule).astype(np.float64)
    result["ptbxl_fold10_reported_only"] = reported(
        f10_probs, fold10["y"], fold10["patients"], classes, temperature, threshold
    )
    result["ptbxl_fold10_served"] = reported(
        f10_probs, fold10["y"], fold10["patients"], classes, served_t, served_cut
    )
    result["top_probability_shown_as_100_percent"] = {  # rounded to a whole percent, as shown
        "served_t1": float((val["probs"].max(axis=1) >= 0.995).mean()),
        "rule_winner": float((scaled.max(axis=1) >= 0.995).mean()),
        "on": "validation beats",
    }
    result = _rounded(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps({k: result[k] for k in ("chosen_rule", "temperature", "uncertain_below")}))
    print(json.dumps(result["validation"]["mean_held_out_ece"]))


if __name__ == "__main__":
    main()
