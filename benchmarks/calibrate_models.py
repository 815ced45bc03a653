"""Calibrate the shipped models (temperature scaling) and choose their "uncertain" threshold.

    python benchmarks/calibrate_models.py [--models-dir models] [--data-dir DIR]
        [--out benchmarks/results/calibration.json] [--no-write-metadata] [--ptbxl N]
        [--cache build/beats_mlii.npz] [--probs-cache build/calibration_probs.npz]
        [--ptbxl-validation N] [--only NAME ...]

For each shipped model (``models/<name>.keras``): its probabilities on the inter-patient
VALIDATION beats (DS1 records 106, 124, 209, 223, ``dataset.inter_patient_split``; for a model
chosen on PTB-XL fold 9 too, ``PTBXL_VALIDATED``, also fold 9's conducted beats) and on the
DS2 test beats, through the serving path (``evaluation.bundle_probabilities``). On validation
only: the temperature T (the rule among ``RULES`` with the lowest ECE on a validation record
left out of the fit) and the threshold below which a beat is "uncertain" (the calibrated top
probability that answers ``VALIDATION_COVERAGE`` of the validation beats). DS2 (and, with
``--ptbxl``, PTB-XL fold 10 conducted beats) is only reported: ECE / NLL before and after,
coverage and accuracy of answered beats at the threshold with intervals over records, and the
selective-risk curve.

For a model in ``PRIOR_TILTED`` every probability is first set against the class prior of its
MIT-BIH training records (``calibration.prior_tilted``, ``calibration_fit.PRIOR_TAU``), as
serving sets it, and the prior goes into the metadata beside the temperature.

Writes ``benchmarks/results/calibration.json`` and the ``"calibration"`` key of each model's
metadata JSON (the weights are not touched).

Long on purpose: one script fits, chooses and reports every model's calibration from the same
probabilities, so its figures compare; the fitting itself lives in ``ecg.models.calibration``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.io.ptbxl import VALIDATION_FOLD  # noqa: E402
from ecg.models.calibration import (  # noqa: E402
    ECE_BINS,
    apply_temperature,
    choose_threshold,
    expected_calibration_error,
    prior_tilted,
    threshold_for_coverage,
)
from ecg.training.calibration_fit import (  # noqa: E402
    RULE_CHOICE,
    RULES,
    VALIDATION_COVERAGE,
    calibration_figures,
    choose_rule,
    class_prior,
    criterion_text,
    fitted_on_text,
    ptbxl_probabilities,
    with_ptbxl_validation,
)
from ecg.training.calibration_fit import ptbxl_records as ptbxl_records_in  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402
from ecg.training.selective import selective_at, selective_curve  # noqa: E402

MODELS = ("recording_mixed", "recording_spec_ctx", "beat_image_cnn", "spectrogram_cnn")
# Models chosen on MIT-BIH's validation records AND PTB-XL fold 9 (issue 17's validation data)
# are calibrated on both: their validation set adds fold-9 beats (``--ptbxl-validation``), the
# two sources weigh the same in the coverage that sets the threshold, and the rule's
# leave-out folds are the four MIT-BIH records plus fold 9's patients in ``PTBXL_GROUPS`` parts.
PTBXL_VALIDATED = ("recording_mixed",)
# Models trained on balanced epochs whose probabilities are set against the class prior of
# their MIT-BIH training records before the temperature is fitted (``calibration_fit.PRIOR_TAU``,
# chosen by benchmarks/prior_shift_ds1.py): every set below is tilted alike.
PRIOR_TILTED = ("recording_mixed",)
# The criterion for "uncertain" (VALIDATION_COVERAGE, calibration_fit): answer that share of
# the validation beats. The first candidate, a target accuracy of the answered validation beats
# (``TARGET_ACCURACY``), answers 0.3-3 % of them (record 124's right-bundle-branch-block beats
# are confidently wrong under every model), so it is reported beside the rule, not used. The
# issue's DS2 target (0.95 at >= 0.90 coverage) is reported, never tuned on.
TARGET_ACCURACY = 0.95
ISSUE_TARGET = {"accuracy_answered": 0.95, "coverage": 0.90}


def _round(x: Any, digits: int = 5) -> Any:
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {k: _round(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v, digits) for v in x]
    return x


def mitdb_probabilities(
    models_dir: Path, data_dir: Path, cache: Path | None, models: tuple[str, ...] = MODELS
) -> dict[str, dict[str, Any]]:
    """Per model: probabilities, labels and records of the validation and DS2 beats."""
    from ecg.models.bundle import load_bundle
    from ecg.training.dataset import build_beat_table, inter_patient_split, load_beat_table
    from ecg.training.evaluation import bundle_probabilities, bundle_rr_inputs

    if cache is not None and cache.is_file():
        table = load_beat_table(cache)
    else:
        table = build_beat_table(data_dir, progress=None)
    labels = table.labels("six")
    split = inter_patient_split(table.records, labels)
    out = {}
    for name in models:
        bundle = load_bundle(models_dir / name)
        rr_all = bundle_rr_inputs(bundle, table)
        sets = {}
        for part, index in (("validation", split.val), ("ds2", split.test)):
            print(f"{name}: {part} ({len(index)} beats)", flush=True)
            sets[part] = {
                "probs": bundle_probabilities(bundle, table, index, rr_all),
                "y": labels[index],
                "records": table.records[index],
            }
        out[name] = {"classes": bundle.classes, "sets": sets, "bundle": bundle}
    return out


def cached_probabilities(
    models_dir: Path,
    data_dir: Path,
    cache: Path | None,
    probs_cache: Path | None,
    models: tuple[str, ...] = MODELS,
) -> dict[str, dict[str, Any]]:
    """``mitdb_probabilities``, stored in / read from ``probs_cache`` (an .npz) if given."""
    from ecg.models.bundle import load_bundle

    if probs_cache is not None and probs_cache.is_file():
        with np.load(probs_cache) as data:
            out = {}
            for name in models:
                bundle = load_bundle(models_dir / name)
                sets = {
                    part: {k: data[f"{name}/{part}/{k}"] for k in ("probs", "y", "records")}
                    for part in ("validation", "ds2")
                }
                out[name] = {"classes": bundle.classes, "sets": sets, "bundle": bundle}
            return out
    out = mitdb_probabilities(models_dir, data_dir, cache, models)
    if probs_cache is not None:
        probs_cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            f"{name}/{part}/{k}": v
            for name, e in out.items()
            for part, s in e["sets"].items()
            for k, v in s.items()
        }
        np.savez(probs_cache, **arrays)
    return out


def ptbxl_records(max_normal: int, fold_number: int | None = None) -> list[dict[str, Any]]:
    """``calibration_fit.ptbxl_records`` of the PTB-XL folder found by default (none: [])."""
    from ecg.io.ptbxl import default_ptbxl_dir

    data_dir = default_ptbxl_dir()
    return ptbxl_records_in(data_dir, max_normal, fold_number) if data_dir else []


def calibrate_one(name: str, entry: dict[str, Any], ptbxl: dict[str, Any] | None) -> dict:
    classes = entry["classes"]
    val, ds2 = entry["sets"]["validation"], entry["sets"]["ds2"]
    rule, temperature, left_out = choose_rule(val)
    candidates = {
        k: RULES[k](val["probs"], val["y"], val["records"]) for k in RULES
    }  # each rule fitted on all four validation records
    val_cal = apply_temperature(val["probs"], temperature)
    threshold = threshold_for_coverage(val_cal, VALIDATION_COVERAGE, val.get("weights"))
    accuracy_rule = choose_threshold(val_cal, val["y"], TARGET_ACCURACY)
    ds2_cal = apply_temperature(ds2["probs"], temperature)
    result: dict[str, Any] = {
        "rule": rule,
        "temperature": temperature,
        "rules_fitted_on_validation": {
            k: {
                "temperature": t,
                "validation": calibration_figures(val["probs"], val["y"], t),
                "ds2_reported_only": calibration_figures(ds2["probs"], ds2["y"], t),
            }
            for k, t in candidates.items()
        },
        "uncertain_below": threshold,
        "validation": {
            **calibration_figures(val["probs"], val["y"], temperature),
            "at_threshold": selective_at(val_cal, val["y"], classes, threshold, val["records"]),
            "rejected_rule_target_accuracy": {
                "target_accuracy": TARGET_ACCURACY,
                **selective_at(val_cal, val["y"], classes, accuracy_rule),
            },
            "by_record_left_out": left_out,
            "sources": validation_sources(val, val_cal, classes, threshold),
        },
        "ds2": {
            **calibration_figures(ds2["probs"], ds2["y"], temperature),
            "at_threshold": selective_at(ds2_cal, ds2["y"], classes, threshold, ds2["records"]),
            "selective_curve": selective_curve(ds2_cal, ds2["y"], classes),
        },
        "validation_selective_curve": selective_curve(val_cal, val["y"], classes),
    }
    curve = result["ds2"]["selective_curve"]
    at_90 = next(r for r in curve if r["target_coverage"] == ISSUE_TARGET["coverage"])
    result["ds2"]["issue_target"] = {
        **ISSUE_TARGET,
        "accuracy_answered_at_coverage_0.90": at_90["accuracy_answered"],
        "met_at_coverage_0.90": bool(
            at_90["accuracy_answered"] >= ISSUE_TARGET["accuracy_answered"]
        ),
        "met_at_chosen_threshold": bool(
            result["ds2"]["at_threshold"]["coverage"] >= ISSUE_TARGET["coverage"]
            and result["ds2"]["at_threshold"]["accuracy_answered"]
            >= ISSUE_TARGET["accuracy_answered"]
        ),
    }
    if ptbxl is not None:
        p_cal = apply_temperature(ptbxl["probs"], temperature)
        result["ptbxl_fold10"] = {
            "n_records": ptbxl["n_records"],
            **calibration_figures(ptbxl["probs"], ptbxl["y"], temperature),
            "at_threshold": selective_at(p_cal, ptbxl["y"], classes, threshold, ptbxl["records"]),
            "selective_curve": selective_curve(p_cal, ptbxl["y"], classes),
        }
    return result


def validation_sources(
    val: dict[str, np.ndarray], val_cal: np.ndarray, classes: list[str], threshold: float
) -> dict[str, Any]:
    """Beats, ECE and coverage / answered accuracy at ``threshold`` of each validation source."""
    source = val.get("source", np.full(len(val["y"]), "mitdb"))
    out = {}
    for name in sorted(set(source.tolist())):
        m = source == name
        out[name] = {
            "n_beats": int(m.sum()),
            "ece_after": expected_calibration_error(val_cal[m], val["y"][m]),
            "at_threshold": selective_at(val_cal[m], val["y"][m], classes, threshold),
        }
    return out


def shipped_class_prior(cache: Path | None, data_dir: Path, n_classes: int) -> dict[str, Any]:
    """``calibration_fit.class_prior`` of the shipped recipe's MIT-BIH training records."""
    from ecg.training.dataset import build_beat_table, load_beat_table
    from ecg.training.mixed_pipeline import SHIPPED_PLAN

    records = list(SHIPPED_PLAN.mitdb_records)
    if cache is not None and cache.is_file():
        table = load_beat_table(cache)
        table = table.subset(np.flatnonzero(np.isin(table.records, records)))
    else:
        table = build_beat_table(data_dir, records, progress=None)
    return class_prior(table.labels("six"), n_classes)


def tilted(probs_set: dict[str, Any] | None, prior: dict[str, Any]) -> dict[str, Any] | None:
    """A set of probabilities (``{"probs": ...}``) set against ``prior``."""
    if probs_set is None:
        return None
    return probs_set | {"probs": prior_tilted(probs_set["probs"], prior)}


def metadata_entry(result: dict[str, Any]) -> dict[str, Any]:
    val = result["validation"]
    prior = {"class_prior": result["class_prior"]} if result.get("class_prior") else {}
    return {
        **prior,
        "temperature": round(result["temperature"], 6),
        "rule": result["rule"],
        "rule_choice": RULE_CHOICE,
        "uncertain_below": result["uncertain_below"],
        "criterion": criterion_text(weighted_sources=len(val["sources"]) > 1),
        "fitted_on": fitted_on_text(
            list(DS1_VALIDATION_RECORDS),
            val["sources"]["mitdb"]["n_beats"],
            val["sources"]["ptbxl_fold9"]["n_beats"] if "ptbxl_fold9" in val["sources"] else None,
        ),
        "ece_bins": ECE_BINS,
        "ece_before": round(val["ece_before"], 5),
        "ece_after": round(val["ece_after"], 5),
        "nll_before": round(val["nll_before"], 5),
        "nll_after": round(val["nll_after"], 5),
        "validation_coverage": round(val["at_threshold"]["coverage"], 5),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "script": "benchmarks/calibrate_models.py",
    }


def write_metadata(models_dir: Path, name: str, entry: dict[str, Any]) -> None:
    path = models_dir / f"{name}.json"
    meta = json.loads(path.read_text())
    meta["calibration"] = entry
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default="models", type=Path)
    parser.add_argument("--data-dir", default="../shared/data/mitdb", type=Path)
    parser.add_argument("--cache", type=Path, help="a beat table .npz to use instead of WFDB")
    parser.add_argument(
        "--probs-cache", type=Path, help="an .npz of the probabilities: reused if present"
    )
    parser.add_argument("--out", default="benchmarks/results/calibration.json", type=Path)
    parser.add_argument("--no-write-metadata", action="store_true")
    parser.add_argument(
        "--ptbxl",
        type=int,
        default=0,
        help="also PTB-XL fold 10: every L / R record and at most N normal ones (0: skip)",
    )
    parser.add_argument(
        "--ptbxl-validation",
        type=int,
        default=300,
        help="validation of the models in PTBXL_VALIDATED also takes PTB-XL fold 9: every L / R "
        "record and at most N normal ones (0: MIT-BIH validation records only)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=MODELS, help="calibrate only these (the others' results stay)"
    )
    args = parser.parse_args()
    models = tuple(args.only or MODELS)
    entries = cached_probabilities(
        args.models_dir, args.data_dir, args.cache, args.probs_cache, models
    )
    ptbxl_set = ptbxl_records(args.ptbxl) if args.ptbxl else []
    needs_fold9 = args.ptbxl_validation and any(n in PTBXL_VALIDATED for n in entries)
    fold9_set = ptbxl_records(args.ptbxl_validation, VALIDATION_FOLD) if needs_fold9 else []
    if needs_fold9 and not fold9_set:
        print("PTB-XL not found: validation is MIT-BIH's records only", flush=True)
    results = {}
    if args.only and args.out.is_file():  # keep the other models' figures of the last full run
        results = json.loads(args.out.read_text())["models"]
    for name, entry in entries.items():
        prior = None
        if name in PRIOR_TILTED:
            prior = shipped_class_prior(args.cache, args.data_dir, len(entry["classes"]))
            sets = {part: tilted(s, prior) for part, s in entry["sets"].items()}
            entry = entry | {"sets": sets}
        ptbxl = ptbxl_probabilities(entry["bundle"], ptbxl_set) if ptbxl_set else None
        if name in PTBXL_VALIDATED and fold9_set:
            fold9 = ptbxl_probabilities(entry["bundle"], fold9_set)
            if prior is not None:
                ptbxl, fold9 = tilted(ptbxl, prior), tilted(fold9, prior)
            if fold9 is not None:
                sets = entry["sets"]
                entry = entry | {
                    "sets": sets | {"validation": with_ptbxl_validation(sets["validation"], fold9)}
                }
        results[name] = calibrate_one(name, entry, ptbxl) | {"class_prior": prior}
        r = results[name]
        print(
            f"{name}: {r['rule']} T={r['temperature']:.3f} threshold={r['uncertain_below']:.3f} "
            f"val ECE {r['validation']['ece_before']:.4f}->{r['validation']['ece_after']:.4f} "
            f"DS2 ECE {r['ds2']['ece_before']:.4f}->{r['ds2']['ece_after']:.4f} "
            f"DS2 coverage {r['ds2']['at_threshold']['coverage']:.3f} "
            f"accuracy answered {r['ds2']['at_threshold']['accuracy_answered']:.4f}",
            flush=True,
        )
        if not args.no_write_metadata:
            write_metadata(args.models_dir, name, metadata_entry(r))
    report = {
        "description": __doc__.split("\n\n")[2].replace("\n", " "),
        "validation_coverage": VALIDATION_COVERAGE,
        "rejected_target_accuracy_on_validation": TARGET_ACCURACY,
        "ece_bins": ECE_BINS,
        "models": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_round(report), indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
