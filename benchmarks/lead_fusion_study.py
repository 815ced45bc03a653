"""Read bundle-branch blocks on the second lead (V1) too: a validation study (issue 17).

    nice -n 10 python benchmarks/lead_fusion_study.py [--parts validation ds2 fold10]
        [--fold9-normal 300] [--fold10-normal N (default: all)]
        [--out benchmarks/results/lead_fusion.json]

The shipped recording model (``models/recording_mixed``) classifies ONE lead (MLII by default),
yet it was trained on MLII, II, V1 and V5, and LBBB vs RBBB is read clinically on V1. This study
classifies each beat on both leads of a recording (the SAME R peaks, windows cut from each lead,
through the app's path: ``detect_beats`` with the second lead, ``recording_quality``,
``recording_analysis.classify_at``) and fuses the two rows of probabilities by each rule of
``ecg.features.lead_fusion.RULES``.

Selection rule -- written before any figure of this study was looked at:

- candidates: (a) ``primary`` (the shipped behaviour), (c) ``consult`` (the mean of both leads
  for beats whose primary top class is L or R, or N with L / R as runner-up), (b) ``mean`` (the
  mean of both leads, every beat), (d) ``geometric`` (normalised geometric mean), (e)
  ``bundle_vote`` (primary keeps A / V / ! and the L+N+R total; the second lead shares that
  total between L, N, R). In that order: cheapest first.
- fusion only where the second lead is one the model was trained on (``fusion_applies``: V1,
  V5, II, MLII); elsewhere the primary probabilities stand (MIT-BIH 124's second lead is V4).
- validation data, chosen here and nothing else: MIT-BIH DS1 validation records 106, 124, 209,
  223 (second leads V1, V4, V1, V1), every detected beat matched (EC57, 150 ms) to a reference
  beat of the six-class label set; and PTB-XL fold 9 (lead II primary, V1 second): every LBBB /
  RBBB record without ectopy and 300 random normal ones (``calibration_fit.ptbxl_records``'s
  choice, seed 0), every detected beat labelled with its record's class.
- objective: the mean over the two sources (each weighing the same) of the six-class beat
  macro-F1 (``metrics.macro_f1``: classes present in that source) of the arg-max calls.
- the rule with the highest objective wins; a rule within 0.005 of the best counts as a tie and
  the cheapest tied rule (earliest in the order above) wins, so ``primary`` stays unless a
  fusion beats it by more than 0.005.
- if a fusion wins, the "uncertain below" threshold is refitted on the fused validation
  probabilities by the shipped criterion (``threshold_for_coverage``: 90 % of the validation
  beats answered, each source weighing the same; temperature 1, as shipped), since fusion
  changes the probability scale the shipped threshold was fitted on.

Only reported, never used to choose: MIT-BIH DS2 (22 records; second lead V1 on 17, V2 on
103 and 117 and V5 on 100 and 123 -- V2 is not a trained lead, so primary only there) and PTB-XL
fold 10 (the same record choice as fold 9, ``--fold10-normal`` normal records): per-class Se /
+P with 95 % bootstrap intervals over records (MIT-BIH) or patients (PTB-XL), beat macro-F1,
PTB-XL record-level F1 (majority vote, ``mixed_eval.f1_with_intervals``), and the compute cost
(share of beats whose second lead must be classified).

Per-record probabilities are cached under ``build/lead_fusion/<model sha>/`` (re-runs of the same
model file only re-score).

Long on purpose: the selection rule, the validation run and the two reported test sets must
read the same beats the same way; split apart, a change to one could silently differ.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.classes import DS2_RECORDS  # noqa: E402
from ecg.features import lead_fusion  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402

MODEL = Path("models/recording_mixed")
CACHE = Path("build/lead_fusion")


@functools.cache
def cache_dir() -> Path:
    """``CACHE/<model sha>``: the cached probabilities belong to one version of the model file
    (a model shipped since must not be scored with its predecessor's probabilities)."""
    from ecg.models.bundle import file_sha256

    return CACHE / file_sha256(MODEL.with_suffix(".keras"))[:12]


TIE = 0.005
COVERAGE = 0.90  # calibration_fit.VALIDATION_COVERAGE, the shipped criterion


def _app_path_probs(bundle: Any, primary: np.ndarray, second: np.ndarray | None, fs: float):
    """(samples, primary probs, second probs or None) at the app's detected peaks."""
    from ecg.dsp.detection import detect_beats
    from ecg.dsp.quality import beats_readable
    from ecg.recording_analysis import classify_at, recording_quality

    peaks = detect_beats(primary, fs, second_lead=second)
    quality = recording_quality(primary, fs, peaks)
    readable = beats_readable(quality, peaks)
    b1 = classify_at(bundle, primary, fs, peaks, readable=readable)
    if second is None:
        return b1.samples, b1.probabilities, None
    b2 = classify_at(bundle, second, fs, peaks, readable=readable)
    # Below the model rate each lead re-centres its peaks on its own extremum, so a beat near
    # an end may have a window on one lead only: as in the app (``fuse_aligned``), such a beat
    # keeps its primary probabilities (a second row equal to the first fuses to itself).
    where = {int(s): i for i, s in enumerate(b2.samples)}
    rows = np.array([where.get(int(s), -1) for s in b1.samples], dtype=np.int64)
    p2 = b1.probabilities.copy()
    p2[rows >= 0] = b2.probabilities[rows[rows >= 0]]
    return b1.samples, b1.probabilities, p2


def mitdb_record(bundle: Any, data_dir: Path, name: str) -> dict[str, np.ndarray]:
    """One MIT-BIH record through the app's path, matched to its reference beats."""
    import wfdb

    from ecg.dsp.detection import match_to_reference
    from ecg.features.beats import labels_for
    from ecg.io.records import load_record

    path = cache_dir() / "mitdb" / f"{name}.npz"
    if path.is_file():
        return dict(np.load(path))
    raw = wfdb.rdrecord(str(data_dir / name), physical=True)
    signals = np.asarray(raw.p_signal.T, dtype=np.float32)
    leads = [str(s) for s in raw.sig_name]
    ref = load_record(data_dir, name, lead=leads[0])
    samples, p1, p2 = _app_path_probs(bundle, signals[0], signals[1], float(raw.fs))
    match = match_to_reference(ref.ann_samples, samples, float(raw.fs))
    y = np.full(len(samples), -1, np.int64)
    y[match >= 0] = labels_for(ref.ann_symbols, "six")[match[match >= 0]]
    out = {"samples": samples, "p1": p1, "p2": p2, "y": y, "second_lead": np.array(leads[1])}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def ptbxl_fold_records(data_dir: Path, fold: int, max_normal: int) -> Any:
    """The PTB-XL rows both lead studies read: every record of ``fold`` with one conducted-beat
    label and no ectopy code, normal records sampled down to ``max_normal`` (seed 0)."""
    from ecg.io.ptbxl import conducted_beat_label, has_ectopy, load_ptbxl_table

    table = load_ptbxl_table(data_dir)
    rows = table[table["strat_fold"] == fold]
    labels = rows["scp_codes"].map(conducted_beat_label)
    usable = labels.notna() & ~rows["scp_codes"].map(has_ectopy)
    normal = np.flatnonzero(usable & (labels == "N"))
    if len(normal) > max_normal:
        normal = np.random.default_rng(0).choice(normal, max_normal, replace=False)
    blocks = np.flatnonzero(usable & (labels != "N"))
    return rows.iloc[np.sort(np.concatenate([blocks, normal]))]


def ptbxl_fold(bundle: Any, data_dir: Path, fold: int, max_normal: int) -> dict[str, np.ndarray]:
    """Every usable record of a PTB-XL fold (``calibration_fit.ptbxl_records``'s choice) on
    lead II with V1 as second lead; each beat labelled with its record's class."""
    from ecg.io.ptbxl import conducted_beat_label, load_ptbxl_record

    path = cache_dir() / f"ptbxl_fold{fold}_n{max_normal}.npz"
    if path.is_file():
        return dict(np.load(path))
    chosen = ptbxl_fold_records(data_dir, fold, max_normal)
    parts: dict[str, list] = {k: [] for k in ("p1", "p2", "y", "records", "patients")}
    skipped = 0
    for ecg_id, row in chosen.iterrows():
        ii = load_ptbxl_record(data_dir, int(ecg_id), lead="II")
        v1 = load_ptbxl_record(data_dir, int(ecg_id), lead="V1")
        try:
            _, p1, p2 = _app_path_probs(bundle, ii.signal, v1.signal, ii.fs)
        except Exception as exc:  # noqa: BLE001 -- a record without beats is skipped, counted
            print(f"ptbxl{ecg_id}: skipped ({type(exc).__name__}: {exc})", flush=True)
            skipped += 1
            continue
        if len(p1) < 3:
            skipped += 1
            continue
        n = len(p1)
        parts["p1"].append(p1)
        parts["p2"].append(p2)
        parts["y"].append(np.full(n, bundle.classes.index(conducted_beat_label(row["scp_codes"]))))
        parts["records"].append(np.full(n, f"ptbxl{ecg_id}"))
        parts["patients"].append(np.full(n, str(int(row["patient_id"]))))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["skipped"] = np.array(skipped)  # records without three classified beats
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def mitdb_set(bundle: Any, data_dir: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Pooled matched beats of MIT-BIH records; ``applies``: the second lead is a trained one."""
    from ecg.models.bundle import trained_leads

    parts: dict[str, list] = {k: [] for k in ("p1", "p2", "y", "records", "applies")}
    leads = trained_leads(bundle.metadata)
    for name in names:
        started = time.perf_counter()
        rec = mitdb_record(bundle, data_dir, name)
        keep = rec["y"] >= 0
        n = int(keep.sum())
        parts["p1"].append(rec["p1"][keep])
        parts["p2"].append(rec["p2"][keep])
        parts["y"].append(rec["y"][keep])
        parts["records"].append(np.full(n, name))
        applies = lead_fusion.fusion_applies(str(rec["second_lead"]), leads)
        parts["applies"].append(np.full(n, applies))
        print(f"{name}: {n} beats, second {rec['second_lead']} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    return {k: np.concatenate(v) for k, v in parts.items()}


def fused(data: dict[str, np.ndarray], classes: list[str], rule: str) -> np.ndarray:
    out = data["p1"].astype(np.float32).copy()
    applies = data.get("applies", np.ones(len(out), bool))
    if applies.any():
        out[applies] = lead_fusion.fuse(data["p1"][applies], data["p2"][applies], classes, rule)
    return out


def consult_share(data: dict[str, np.ndarray], classes: list[str], rule: str) -> float:
    """Share of beats whose second lead must be classified under ``rule``."""
    applies = data.get("applies", np.ones(len(data["p1"]), bool))
    if rule == lead_fusion.PRIMARY or not len(applies):
        return 0.0
    if rule == lead_fusion.CONSULT:
        return float((lead_fusion.consult_mask(data["p1"], classes) & applies).mean())
    return float(applies.mean())


def beat_figures(
    y: np.ndarray, probs: np.ndarray, records: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    from ecg.training.metrics import (
        bootstrap_intervals,
        confusion_matrix,
        macro_f1,
        per_class_from_confusion,
        per_record_confusions,
    )

    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(classes))
    per_class = per_class_from_confusion(cm, classes)
    intervals = bootstrap_intervals(per_record_confusions(y, pred, records, len(classes)), classes)
    return {
        "beats": int(len(y)),
        "macro_f1": round(macro_f1(cm), 4),
        "macro_f1_interval": _r(intervals["macro_f1"]),
        "per_class": {
            c: {
                "support": per_class[c]["support"],
                "Se": _r(per_class[c]["sensitivity"]),
                "Se_interval": _r(intervals["per_class"][c]["sensitivity"]),
                "+P": _r(per_class[c]["precision"]),
                "+P_interval": _r(intervals["per_class"][c]["precision"]),
            }
            for c in classes
            if per_class[c]["support"] or per_class[c]["predicted"]
        },
        "interval_unit": "record (MIT-BIH) / patient (PTB-XL), 1000 resamples, 95 %",
    }


def _r(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, list):
        return [round(float(v), 4) for v in x]
    return round(float(x), 4)


def record_f1(data: dict[str, np.ndarray], probs: np.ndarray, classes: list[str]) -> dict:
    """PTB-XL record-level calls (majority vote), Se / +P / F1 with intervals over patients."""
    from ecg.training.mixed_eval import f1_with_intervals, majority_vote

    names, calls = majority_vote(probs.argmax(axis=1), data["records"], len(classes))
    first = {r: i for i, r in reversed(list(enumerate(data["records"])))}
    truth = np.array([data["y"][first[r]] for r in names])
    patients = np.array([data["patients"][first[r]] for r in names])
    out = f1_with_intervals(truth, calls, patients, classes, ["L", "N", "R"])
    return {c: {k: _r(v) if k != "records" else v for k, v in f.items()} for c, f in out.items()}


def validation(bundle: Any, mitdb_dir: Path, ptbxl_dir: Path, n_normal: int) -> dict[str, Any]:
    from ecg.models.calibration import threshold_for_coverage
    from ecg.training.metrics import confusion_matrix, macro_f1

    classes = list(bundle.classes)
    sources = {
        "mitdb_ds1_validation": mitdb_set(bundle, mitdb_dir, DS1_VALIDATION_RECORDS),
        "ptbxl_fold9": ptbxl_fold(bundle, ptbxl_dir, 9, n_normal),
    }
    scores: dict[str, Any] = {}
    for rule in lead_fusion.RULES:
        per_source = {}
        for name, data in sources.items():
            cm = confusion_matrix(data["y"], fused(data, classes, rule).argmax(1), len(classes))
            per_source[name] = round(macro_f1(cm), 4)
        scores[rule] = {
            "objective": round(float(np.mean(list(per_source.values()))), 4),
            "macro_f1": per_source,
            "second_lead_share": {
                n: round(consult_share(d, classes, rule), 4) for n, d in sources.items()
            },  # fmt: skip
        }
    best = max(s["objective"] for s in scores.values())
    chosen = next(r for r in lead_fusion.RULES if scores[r]["objective"] >= best - TIE)
    # The shipped criterion on the chosen rule's validation probabilities (each source half).
    probs = np.concatenate([fused(d, classes, chosen) for d in sources.values()])
    weights = np.concatenate([np.full(len(d["y"]), 0.5 / len(d["y"])) for d in sources.values()])
    threshold = threshold_for_coverage(probs, COVERAGE, weights)
    primary_probs = np.concatenate([d["p1"] for d in sources.values()])
    return {
        "scores": scores,
        "chosen": chosen,
        "tie_margin": TIE,
        "beats": {n: int(len(d["y"])) for n, d in sources.items()},
        "ptbxl_fold9_records": int(len(np.unique(sources["ptbxl_fold9"]["records"]))),
        "ptbxl_fold9_records_skipped": int(sources["ptbxl_fold9"]["skipped"]),
        "uncertain_below_refit": round(float(threshold), 5),
        "uncertain_below_primary_same_beats": round(
            float(threshold_for_coverage(primary_probs, COVERAGE, weights)), 5
        ),
        "uncertain_below_shipped": bundle.metadata.get("calibration", {}).get("uncertain_below"),
        "per_source_figures": {
            n: {
                r: beat_figures(d["y"], fused(d, classes, r), d["records"], classes)
                for r in (lead_fusion.PRIMARY, chosen)
            }
            for n, d in sources.items()
        },  # fmt: skip
    }


def reported(data: dict[str, np.ndarray], classes: list[str], rules: list[str], groups: str):
    out = {}
    for rule in rules:
        probs = fused(data, classes, rule)
        entry = beat_figures(data["y"], probs, data[groups], classes)
        entry["second_lead_share"] = round(consult_share(data, classes, rule), 4)
        if "patients" in data:
            entry["record_level"] = record_f1(data, probs, classes)
        else:  # MIT-BIH: which records a rule helps or hurts, and where each class's beats go
            entry["per_record_se"] = per_record_se(data, probs, classes)
        entry["confusion"] = {
            "rows": "reference class, columns: call, classes in model order",
            "matrix": confusion_of(data["y"], probs, classes),
        }
        out[rule] = entry
    return out


def confusion_of(y: np.ndarray, probs: np.ndarray, classes: list[str]) -> list[list[int]]:
    from ecg.training.metrics import confusion_matrix

    return confusion_matrix(y, probs.argmax(axis=1), len(classes)).astype(int).tolist()


def per_record_se(data: dict[str, np.ndarray], probs: np.ndarray, classes: list[str]) -> dict:
    """Per record: [beats, Se] of each class with at least 20 beats in it."""
    pred = probs.argmax(axis=1)
    out = {}
    for name in np.unique(data["records"]):
        mask = data["records"] == name
        out[str(name)] = {
            classes[c]: [int((data["y"][mask] == c).sum()),
                         round(float((pred[mask][data["y"][mask] == c] == c).mean()), 4)]
            for c in range(len(classes))
            if (data["y"][mask] == c).sum() >= 20
        }  # fmt: skip
    return out


def write_metadata(path: Path, chosen: dict[str, Any]) -> None:
    """The model's ``"lead_fusion"`` entry: the chosen rule and, for a fusion, the threshold
    refitted on the fused validation probabilities (``primary``: the entry says so, no fusion)."""
    meta = json.loads(path.read_text())
    meta["lead_fusion"] = {
        "rule": chosen["chosen"],
        "uncertain_below": chosen["uncertain_below_refit"],
        "chosen_on": "mean six-class beat macro-F1 over MIT-BIH DS1 validation records 106, 124, "
        "209, 223 and PTB-XL fold 9 (II + V1), each source weighing the same; ties within "
        f"{TIE} go to the cheaper rule",
        "threshold": "90 % of the fused validation beats answered, each source weighing the same",
        "script": "benchmarks/lead_fusion_study.py (benchmarks/results/lead_fusion.json)",
    }
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def main() -> None:
    from ecg.io.ptbxl import default_ptbxl_dir
    from ecg.models.bundle import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb", type=Path)
    parser.add_argument("--ptbxl", type=Path, default=None)
    parser.add_argument("--parts", nargs="+", default=["validation", "ds2", "fold10"])
    parser.add_argument("--fold9-normal", type=int, default=300)
    parser.add_argument("--fold10-normal", type=int, default=100_000)  # all
    parser.add_argument("--out", default="benchmarks/results/lead_fusion.json", type=Path)
    parser.add_argument(
        "--write-metadata",
        action="store_true",
        help="write the chosen rule and refitted threshold to the model's metadata "
        '("lead_fusion", read by recording_analysis.fuse_second_lead)',
    )
    args = parser.parse_args()
    ptbxl_dir = args.ptbxl or default_ptbxl_dir() or Path("../shared/data/ptbxl")
    bundle = load_bundle(MODEL)
    classes = list(bundle.classes)
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    result.update(
        about=__doc__.split("\n\n")[1].strip(),
        model=str(MODEL),
        code_version=subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        path="app path: detect_beats(primary, second_lead=second), recording_quality, "
        "classify_at on each lead at the same peaks (Keras bundle)",
    )
    if "validation" in args.parts:
        result["validation"] = validation(bundle, args.mitdb, ptbxl_dir, args.fold9_normal)
        print(json.dumps(result["validation"]["scores"], indent=1), flush=True)
        if args.write_metadata:
            write_metadata(MODEL.with_suffix(".json"), result["validation"])
    chosen = result.get("validation", {}).get("chosen", lead_fusion.PRIMARY)
    rules = list(dict.fromkeys([lead_fusion.PRIMARY, chosen, lead_fusion.CONSULT,
                                lead_fusion.MEAN]))  # fmt: skip
    if "ds2" in args.parts:
        data = mitdb_set(bundle, args.mitdb, DS2_RECORDS)
        result["ds2"] = reported(data, classes, rules, "records")
    if "fold10" in args.parts:
        data = ptbxl_fold(bundle, ptbxl_dir, 10, args.fold10_normal)
        data = {**data, "records_or_patients": data["patients"]}
        result["ptbxl_fold10"] = reported(data, classes, rules, "records_or_patients")
        result["ptbxl_fold10"]["records"] = int(len(np.unique(data["records"])))
        result["ptbxl_fold10"]["records_skipped"] = int(data["skipped"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
