"""Wire the two-lead model into the app (issue 17): ship, choose its fallback, calibrate, check.

    nice -n 10 python benchmarks/two_lead_study.py train --seed N      # N = 0, 1, 2 first
    nice -n 10 python benchmarks/two_lead_serving.py ship              # models/recording_two_lead.*
    nice -n 10 python benchmarks/two_lead_serving.py validate [--fold9-normal 300]
    nice -n 10 python benchmarks/two_lead_serving.py lite              # LiteRT vs Keras
    nice -n 10 python benchmarks/two_lead_serving.py report [--parts ds2 fold10]   # test sets

``ship`` averages the three seeds of ``benchmarks/two_lead_study.py`` (``build/two_lead/models``)
into one Keras model (``architectures.build_ensemble``, as ``ptbxl_mixed_ship.py`` did for
``recording_mixed``) and writes ``models/recording_two_lead.keras`` + ``.json`` (``channels: 2``,
``channel_leads``). ``validate`` runs every validation recording through the app's own path
(``ecg.recording_analysis.analyse``, LiteRT when exported) and writes
``benchmarks/results/two_lead_serving.json``: the study's objective for the wired bundle, the
fallback's choice (rule below), and the bundle's calibration (temperature and "uncertain"
threshold, ``ecg.training.calibration_fit`` as ``calibrate_models.py`` fits them) into the
bundle's metadata. ``lite`` compares the LiteRT export with Keras on real validation inputs.
``report`` runs the test sets through the same path, the wired bundle and the default fused
path side by side: MIT-BIH DS2 (22 records) and PTB-XL fold 10 -- ONLY reported, after every
choice above was made and committed; nothing is chosen on them.

Validation data (the study's, never DS2 / PTB-XL fold 10 / LUDB): MIT-BIH DS1 validation records
106, 124, 209, 223 (whole records, both leads, uploaded as the app receives them; beats matched
to the reference, EC57 150 ms, six classes) and PTB-XL fold 9 (every LBBB / RBBB record without
ectopy and 300 random normal ones, seed 0, ``lead_fusion_study.ptbxl_fold_records``; II primary,
V1 second; every beat labelled with its record's class). Objective: the mean over the two sources
of the six-class beat macro-F1 of the arg-max calls (the study's).

Fallback rule -- written before any figure of this script was computed:

- A beat of a two-lead model with no usable second lead (a one-lead upload, a lead the second
  channel was not trained on, or a second-lead segment that fails ``screen_second_lead``) gets
  either (a) its primary lead in both channels, the model's own fallback, one network call and
  no second model in memory; or (b) the named one-lead model ``recording_mixed`` on the primary
  lead alone (its own calibrated threshold would then have to apply to those beats).
- Decided on the one-lead case of the validation recordings (the second lead removed: every beat
  takes the fallback, so the comparison is not decided by the handful of screened beats):
  (b) is chosen only if its objective beats (a)'s by MORE THAN 0.01 (the study's margin); else
  (a). Both are computed through ``analyse`` on the same uploads. Also reported, not decided on:
  the whole validation run with the screen's beats taking (a) or (b).
- Said here, not hidden: the study's cached figures for this case were seen before this rule was
  written (two-lead model with the primary twice 0.835 vs the shipped model on the primary alone
  0.775, on the study's seeds and without the screen), and so was DS2's (0.623 vs 0.663, the
  other way round). The seeds retrained here are new; the rule reads only this run's validation.

Calibration: the rule among ``calibration_fit.RULES`` with the lowest held-out ECE (folds: the
four MIT-BIH records and four parts of fold 9's patients), and the threshold that answers 90 %
of the validation beats (``VALIDATION_COVERAGE``) with each source weighing the same, on the
wired app path's probabilities (the chosen fallback included) -- as ``calibrate_models.py`` does
for ``recording_mixed``.

Long on purpose: shipping, the fallback's choice, the calibration and the LiteRT check read the
same recordings through the same path; split apart, one could silently drift from the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

NAME = "recording_two_lead"
MODELS = ROOT / "models"
SEED_DIR = ROOT / "build" / "two_lead" / "models"
SEED_NAMES = ("two_lead_spec_ctx_v2", "two_lead_spec_ctx_v2_seed1", "two_lead_spec_ctx_v2_seed2")
ONE_LEAD = "recording_mixed"  # fallback (b): the named one-lead model
MARGIN = 0.01
CHANNEL_LEADS = [["MLII", "II"], ["V1", "V5"]]
RESULTS = ROOT / "benchmarks" / "results" / "two_lead_serving.json"
STUDY = ROOT / "benchmarks" / "results" / "two_lead.json"
CACHE = ROOT / "build" / "two_lead" / "serving_probs.npz"


def code_version() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()


def ship(args: argparse.Namespace) -> None:
    from ecg.models.architectures import build_ensemble
    from ecg.models.bundle import load_bundle, save_bundle

    members = [load_bundle(SEED_DIR / name) for name in SEED_NAMES]
    ensemble = build_ensemble([m.model for m in members], name=f"{NAME}_ensemble")
    first = members[0]
    meta = dict(first.metadata)
    study = json.loads(STUDY.read_text()) if STUDY.is_file() else {}
    study_scores = (study.get("validation") or {}).get("scores") or {}
    meta.update(
        name=NAME,
        version=1,
        lead="MLII",
        leads=CHANNEL_LEADS[0],  # the primary lead's channel (``trained_leads``: lead warnings)
        channels=2,
        channel_leads=CHANNEL_LEADS,
        training={
            "data": "MIT-BIH DS1 (minus the validation records) MLII + V1/V5 (else MLII twice) "
            "and PTB-XL folds 1-8 II + V1 at the same peaks, plus a one-lead copy (II twice) "
            "of a fixed random 25 % of the PTB-XL training records",
            "best_validation_macro_f1_per_seed": [
                m.metadata.get("training", {}).get("best_validation_macro_f1") for m in members
            ],
            "ensemble": {"seeds": [0, 1, 2], "members": [m.path.name for m in members]},
            "member_training": first.metadata.get("training", {}).get("config", {}),
            "script": "benchmarks/two_lead_study.py train, benchmarks/two_lead_serving.py ship",
        },
        selection={
            "rule": "benchmarks/two_lead_study.py docstring: the 3-seed two-lead ensemble ships "
            "if its validation objective (mean six-class beat macro-F1 over MIT-BIH DS1 "
            "validation records and PTB-XL fold 9, app path) beats the shipped fused path's by "
            "more than 0.01",
            "study_validation_objective": {
                k: v["objective"]
                for k, v in study_scores.items()
                if k in ("two_lead_ensemble", "shipped fused (mean)")
            },
            "study_results": "benchmarks/results/two_lead.json (earlier seeds of the same recipe)",
            "wired_validation": "benchmarks/results/two_lead_serving.json",
        },
    )
    for key in ("calibration", "lead_fusion", "metrics_summary"):
        meta.pop(key, None)  # calibration: fitted by ``validate``; no fusion for two channels
    path = save_bundle(ensemble, meta, MODELS / f"{NAME}.keras")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)


# -- the validation recordings, through the app's path ----------------------------------------


def mitdb_upload(data_dir: Path, name: str):
    from ecg.io.recording_io import parse_upload

    exts = (".hea", ".dat", ".atr")
    return parse_upload([(f"{name}{e}", (data_dir / f"{name}{e}").read_bytes()) for e in exts])


def one_lead(recording):
    from dataclasses import replace

    i = recording.lead_index
    return replace(recording, lead_names=[recording.lead_names[i]],
                   signals=recording.signals[i : i + 1].copy(), lead_index=0)  # fmt: skip


def ptbxl_recording(data_dir: Path, ecg_id: int):
    from ecg.io.ptbxl import load_ptbxl_record
    from ecg.io.recording_base import ParsedRecording

    ii = load_ptbxl_record(data_dir, ecg_id, lead="II")
    v1 = load_ptbxl_record(data_dir, ecg_id, lead="V1")
    signals = np.stack([ii.signal, v1.signal]).astype(np.float32)
    return ParsedRecording(name=f"ptbxl{ecg_id}", format="wfdb", fs=float(ii.fs),
                           lead_names=["II", "V1"], signals=signals, lead_index=0,
                           source_files=[f"{ecg_id:05d}_lr.hea"])  # fmt: skip


def ptbxl_lead_ii(data_dir, ecg_id: int):
    """(the PTB-XL record, its lead II as a one-lead upload the app would analyse)."""
    from ecg.io.ptbxl import load_ptbxl_record
    from ecg.io.recording_base import ParsedRecording

    record = load_ptbxl_record(data_dir, int(ecg_id))
    parsed = ParsedRecording(name=record.name, format="wfdb", fs=record.fs, lead_names=["II"],
                             signals=record.signal[None].astype(np.float32), lead_index=0,
                             source_files=[])  # fmt: skip
    return record, parsed


def screened_one_lead_probs(
    two, mixed, recording, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(the one-lead model on the primary lead at the analysis's beats, per beat: its second
    lead's segment failed the screen). The analysis's peaks and readable flags are recomputed
    by the same calls ``analyse`` makes."""
    from ecg.dsp.detection import detect_beats
    from ecg.dsp.lead_screen import beats_pass
    from ecg.dsp.quality import beats_readable
    from ecg.recording_analysis import (
        classify_at,
        recording_quality,
        screen_second_lead,
        second_lead_index,
    )

    peaks = detect_beats(recording.signal, recording.fs, second_lead=recording.second_lead)
    readable = beats_readable(recording_quality(recording.signal, recording.fs, peaks), peaks)
    alone = classify_at(mixed, recording.signal, recording.fs, peaks, readable=readable)
    where = {int(s): i for i, s in enumerate(alone.samples)}
    rows = np.array([where[int(s)] for s in samples], dtype=np.int64)
    screened = np.zeros(len(samples), bool)
    index = second_lead_index(two, recording)
    if index is not None:
        screen = screen_second_lead(recording.signals[index], recording.fs, peaks)
        if screen is not None:
            screened = ~beats_pass(screen[0], screen[1], samples)
    return alone.probabilities[rows], screened


def run_paths(two, mixed, recording, labels: np.ndarray | None) -> dict[str, Any] | None:
    """Every path's probabilities on one recording: ``labels`` None (MIT-BIH): the reference's
    matched beats; else the record's class for every beat (PTB-XL). None when the app reads no
    beat (no readable ECG: the app says so and classifies nothing)."""
    from ecg.dsp.detection import DetectionError
    from ecg.recording_analysis import analyse

    out: dict[str, Any] = {}
    try:
        for tag, bundle, rec in (("two_lead", two, recording), ("fused", mixed, recording),
                                 ("two_lead/one_lead", two, one_lead(recording)),
                                 ("mixed/one_lead", mixed, one_lead(recording))):  # fmt: skip
            result = analyse(rec, bundle)
            samples, probs = result.beats.samples, result.beats.probabilities
            if labels is None:
                codes = result.reference_labels
                keep = codes != ""
                y = np.array([bundle.classes.index(c) for c in codes[keep]], dtype=np.int64)
            else:
                keep = np.ones(len(samples), bool)
                y = np.full(len(samples), int(labels), dtype=np.int64)
            out[tag] = {"probs": probs[keep], "y": y, "samples": samples[keep]}
            if tag == "two_lead":
                alone, screened = screened_one_lead_probs(two, mixed, recording, samples)
                fb = np.where(screened[:, None], alone, probs)
                out["two_lead/fallback_b"] = {"probs": fb[keep], "y": y, "samples": samples[keep]}
                out["screened_beats"] = int(screened[keep].sum())
                out["fusion_entry"] = result.summary.get("lead_fusion")
    except DetectionError as exc:  # NoReadableSignal too
        print(f"{recording.name}: no beats read ({exc})", flush=True)
        return None
    return out


def collect(args: argparse.Namespace, two, mixed) -> dict[str, dict[str, np.ndarray]]:
    """Per source, per path: probabilities, labels, records (MIT-BIH names or PTB-XL patients)."""
    import lead_fusion_study as lfs

    from ecg.io.ptbxl import conducted_beat_label
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    if CACHE.is_file() and not args.fresh:
        with np.load(CACHE, allow_pickle=False) as d:
            out: dict[str, dict[str, np.ndarray]] = {}
            for key in d.files:
                source, rest = key.split("|", 1)
                out.setdefault(source, {})[rest] = d[key]
            return out
    parts: dict[str, dict[str, list]] = {"mitdb": {}, "ptbxl": {}}
    screened = {"mitdb": 0, "ptbxl": 0}

    def add(source: str, got: dict[str, Any], group: str) -> None:
        screened[source] += got.pop("screened_beats")
        got.pop("fusion_entry")
        for tag, e in got.items():
            for k in ("probs", "y"):
                parts[source].setdefault(f"{tag}|{k}", []).append(e[k])
            parts[source].setdefault(f"{tag}|records", []).append(np.full(len(e["y"]), group))

    for name in DS1_VALIDATION_RECORDS:
        t = time.perf_counter()
        got = run_paths(two, mixed, mitdb_upload(args.mitdb, name), None)
        if got is not None:
            seconds = time.perf_counter() - t
            print(f"{name}: {len(got['two_lead']['y'])} beats, screened {got['screened_beats']}, "
                  f"{got['fusion_entry']} ({seconds:.0f} s)", flush=True)  # fmt: skip
            add("mitdb", got, name)
    chosen = lfs.ptbxl_fold_records(args.ptbxl, 9, args.fold9_normal)
    t = time.perf_counter()
    for number, (ecg_id, row) in enumerate(chosen.iterrows()):
        label = two.classes.index(conducted_beat_label(row["scp_codes"]))
        got = run_paths(two, mixed, ptbxl_recording(args.ptbxl, int(ecg_id)), label)
        if got is not None and len(got["two_lead"]["y"]) >= 3:
            add("ptbxl", got, str(int(row["patient_id"])))
        if number % 50 == 0:
            print(f"PTB-XL fold 9: {number + 1}/{len(chosen)} ({time.perf_counter() - t:.0f} s)",
                  flush=True)  # fmt: skip
    out = {s: {k: np.concatenate(v) for k, v in p.items()} for s, p in parts.items()}
    for s in out:
        out[s]["screened_beats"] = np.array(screened[s])
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, **{f"{s}|{k}": v for s, p in out.items() for k, v in p.items()})
    return out


PATHS = ("two_lead", "two_lead/fallback_b", "two_lead/one_lead", "mixed/one_lead", "fused")


def objectives(data: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    from ecg.training.metrics import confusion_matrix, macro_f1

    scores = {}
    for path in PATHS:
        f1 = {}
        for source, d in data.items():
            cm = confusion_matrix(d[f"{path}|y"], d[f"{path}|probs"].argmax(1), 6)
            f1[source] = round(float(macro_f1(cm)), 4)
        scores[path] = {"objective": round(float(np.mean(list(f1.values()))), 4),
                        "macro_f1": f1, "beats": {s: int(len(d[f"{path}|y"]))
                                                  for s, d in data.items()}}  # fmt: skip
    return scores


def decide_fallback(scores: dict[str, Any]) -> dict[str, Any]:
    """The fallback rule of the module docstring."""
    a = scores["two_lead/one_lead"]["objective"]
    b = scores["mixed/one_lead"]["objective"]
    chosen = "b: recording_mixed on the primary alone" if b > a + MARGIN else "a: primary twice"
    return {"one_lead_case_a_primary_twice": a, "one_lead_case_b_recording_mixed": b,
            "margin": MARGIN, "chosen": chosen}  # fmt: skip


def calibrate(data: dict[str, dict[str, np.ndarray]], path: str, n_normal: int) -> dict[str, Any]:
    from ecg.models.calibration import ECE_BINS, apply_temperature, threshold_for_coverage
    from ecg.training.calibration_fit import (
        RULE_CHOICE,
        VALIDATION_COVERAGE,
        calibration_figures,
        choose_rule,
        criterion_text,
        with_ptbxl_validation,
    )

    mit = {k: data["mitdb"][f"{path}|{k}"] for k in ("probs", "y", "records")}
    ptb = {k: data["ptbxl"][f"{path}|{k}"] for k in ("probs", "y", "records")}
    ptb["n_records"] = int(len(np.unique(ptb["records"])))
    val = with_ptbxl_validation(mit, ptb)
    rule, temperature, left_out = choose_rule(val)
    cal = apply_temperature(val["probs"], temperature)
    threshold = threshold_for_coverage(cal, VALIDATION_COVERAGE, val["weights"])
    figures = calibration_figures(val["probs"], val["y"], temperature)
    answered = cal.max(axis=1) >= threshold
    coverage = float((val["weights"] * answered).sum() / val["weights"].sum())
    return {
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "criterion": criterion_text(weighted_sources=True),
        "fitted_on": f"the app path (analyse) of MIT-BIH DS1 validation records 106, 124, 209, "
        f"223 ({len(mit['y'])} matched beats) and PTB-XL fold 9 ({len(ptb['y'])} beats, II + V1: "
        f"every LBBB / RBBB record without ectopy and {n_normal} random normal ones)",
        "rule": rule,
        "rule_choice": RULE_CHOICE,
        "held_out_ece": {k: round(v["mean_held_out_ece"], 5) for k, v in left_out.items()},
        "temperature": float(temperature),
        "uncertain_below": float(threshold),
        "validation_coverage": round(coverage, 4),
        "ece_before": round(figures["ece_before"], 5),
        "ece_after": round(figures["ece_after"], 5),
        "nll_before": round(figures["nll_before"], 5),
        "nll_after": round(figures["nll_after"], 5),
        "ece_bins": ECE_BINS,
        "script": "benchmarks/two_lead_serving.py validate",
    }


def serving_bundles():
    from ecg.models.registry import ModelRegistry

    registry = ModelRegistry(MODELS, runtime="auto", recording_threads=2)
    two = registry.serving_bundle_at(MODELS / f"{NAME}.keras")
    mixed = registry.serving_bundle_at(MODELS / f"{ONE_LEAD}.keras")
    runtimes = {p.stem: r for p, r in registry.runtimes.items()}
    return two, mixed, runtimes


def validate(args: argparse.Namespace) -> None:
    two, mixed, runtimes = serving_bundles()
    print(f"runtimes: {runtimes}", flush=True)
    data = collect(args, two, mixed)
    scores = objectives(data)
    decision = decide_fallback(scores)
    print(json.dumps({"scores": scores, "decision": decision}, indent=1), flush=True)
    chosen_path = "two_lead" if decision["chosen"].startswith("a") else "two_lead/fallback_b"
    calibration = calibrate(data, chosen_path, args.fold9_normal)
    result = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    result.update(
        about=__doc__.split("\n\n")[1].strip(),
        fallback_rule=__doc__.split("Fallback rule")[1].split("Calibration:")[0].strip(),
        code_version=code_version(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        runtimes=runtimes,
        validation={
            "paths": {
                "two_lead": "recording_two_lead through analyse, both leads; beats whose second "
                "lead fails the screen: primary twice (fallback a)",
                "two_lead/fallback_b": "the same, screened beats from recording_mixed on the "
                "primary alone (fallback b)",
                "two_lead/one_lead": "recording_two_lead on the upload with the second lead "
                "removed (fallback a on every beat; its own beat detection)",
                "mixed/one_lead": "recording_mixed on the same one-lead upload (fallback b)",
                "fused": "recording_mixed through analyse, both leads (the default path: lead "
                "fusion, mean, with the second lead's screen)",
            },
            "scores": scores,
            "screened_beats": {s: int(d["screened_beats"]) for s, d in data.items()},
            "fallback_decision": decision,
            "study_objective_two_lead_ensemble_earlier_seeds": (
                json.loads(STUDY.read_text())["validation"]["scores"]["two_lead_ensemble"][
                    "objective"
                ]
                if STUDY.is_file()
                else None
            ),  # fmt: skip
        },
        calibration=calibration,
    )
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    meta_path = MODELS / f"{NAME}.json"
    meta = json.loads(meta_path.read_text())
    meta["calibration"] = calibration
    meta["two_lead_fallback"] = {
        "rule": "primary lead in both channels" if chosen_path == "two_lead" else ONE_LEAD,
        "chosen_on": "benchmarks/two_lead_serving.py (benchmarks/results/two_lead_serving.json)",
    }
    meta.setdefault("selection", {})["wired_validation_objective"] = scores[chosen_path][
        "objective"
    ]
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS} and the calibration into {meta_path}", flush=True)


def lite(args: argparse.Namespace) -> None:
    """LiteRT export of the shipped bundle, and its probabilities against Keras on real
    two-lead inputs (the first ten minutes of MIT-BIH 209, a validation record)."""
    from ecg.dsp.detection import detect_beats
    from ecg.models import lite_runtime
    from ecg.models.bundle import load_bundle
    from ecg.models.two_lead_inputs import two_lead_windows

    path = MODELS / f"{NAME}.keras"
    info = lite_runtime.export_lite(path)
    if not lite_runtime.lite_is_fresh(MODELS / f"{ONE_LEAD}.keras"):
        lite_runtime.export_lite(MODELS / f"{ONE_LEAD}.keras")  # ``validate`` serves both
    keras_bundle = load_bundle(path)
    lite_bundle = lite_runtime.load_lite_bundle(path, num_threads=2)
    rec = mitdb_upload(args.mitdb, "209")
    n = int(600 * rec.fs)
    primary, second = rec.signals[0][:n], rec.signals[1][:n]
    peaks = detect_beats(primary, rec.fs, second_lead=second)
    _, windows, rr = two_lead_windows(keras_bundle, primary, second, rec.fs, peaks)
    images = keras_bundle.render_channels(windows)
    diff = np.abs(keras_bundle.predict_proba(images, rr) - lite_bundle.predict_proba(images, rr))
    out = {"export": info, "record": "209 (first 10 min)", "beats": int(len(images)),
           "max_abs_diff_real_inputs": float(diff.max())}  # fmt: skip
    result = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    result["litert_vs_keras"] = out
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(out, indent=1), flush=True)


def reported_figures(y: np.ndarray, probs: np.ndarray, groups: np.ndarray, classes) -> dict:
    """``lead_fusion_study.beat_figures`` (intervals over ``groups``) plus AAMI VEB / SVEB over
    the beats with a six-class label, as the study reports them."""
    import lead_fusion_study as lfs

    from ecg.training.aami import SIX_TO_AAMI

    out = lfs.beat_figures(y, probs, groups, list(classes))
    aami = np.array([SIX_TO_AAMI[c] for c in classes])
    truth, pred = aami[y], aami[probs.argmax(1)]
    for code in ("VEB", "SVEB"):
        tp = int(((truth == code) & (pred == code)).sum())
        out[code] = {"Se": round(tp / max(1, int((truth == code).sum())), 4),
                     "+P": round(tp / max(1, int((pred == code).sum())), 4),
                     "support": int((truth == code).sum())}  # fmt: skip
    return out


def report_part(args: argparse.Namespace, part: str, two, mixed) -> dict[str, np.ndarray]:
    """Per path ("two_lead", "fused"): probabilities, labels, records, patients, states."""
    import lead_fusion_study as lfs

    from ecg.classes import DS2_RECORDS
    from ecg.dsp.detection import DetectionError
    from ecg.io.ptbxl import conducted_beat_label
    from ecg.recording_analysis import analyse

    path = ROOT / "build" / "two_lead" / f"report_{part}.npz"
    if path.is_file() and not args.fresh:
        return dict(np.load(path, allow_pickle=False))
    if part == "ds2":
        jobs = [
            (name, lambda n=name: mitdb_upload(args.mitdb, n), None, name) for name in DS2_RECORDS
        ]
    else:
        rows = lfs.ptbxl_fold_records(args.ptbxl, 10, 100_000)
        jobs = [(f"ptbxl{i}", lambda i=i: ptbxl_recording(args.ptbxl, int(i)),
                 two.classes.index(conducted_beat_label(r["scp_codes"])), str(int(r["patient_id"])))
                for i, r in rows.iterrows()]  # fmt: skip
    parts: dict[str, list] = {}
    started = time.perf_counter()
    for number, (name, load, label, patient) in enumerate(jobs):
        rec = load()
        got = {}
        try:
            for tag, bundle in (("two_lead", two), ("fused", mixed)):
                result = analyse(rec, bundle)
                probs, states = result.beats.probabilities, result.states.astype(str)
                if label is None:
                    keep = result.reference_labels != ""
                    y = np.array([two.classes.index(c) for c in result.reference_labels[keep]])
                else:
                    keep = np.ones(len(probs), bool)
                    y = np.full(len(probs), label)
                got[tag] = (probs[keep], y.astype(np.int64), states[keep])
        except DetectionError:
            continue  # the app reads no beat there
        if label is not None and len(got["two_lead"][1]) < 3:
            continue
        for tag, (probs, y, states) in got.items():
            for key, value in (("probs", probs), ("y", y), ("states", states),
                               ("records", np.full(len(y), name)),
                               ("patients", np.full(len(y), patient))):  # fmt: skip
                parts.setdefault(f"{tag}|{key}", []).append(value)
        if part == "ds2" or number % 100 == 0:
            print(f"{part} {number + 1}/{len(jobs)} {name} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    out = {k: np.concatenate(v) for k, v in parts.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def report(args: argparse.Namespace) -> None:
    """The test sets, only reported (see the module docstring)."""
    import lead_fusion_study as lfs

    two, mixed, runtimes = serving_bundles()
    result = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    section = result.setdefault("reported_only_test_sets", {})
    for part in args.parts:
        d = report_part(args, part, two, mixed)
        figures = {"runtimes": runtimes}
        for tag in ("two_lead", "fused"):
            y, probs = d[f"{tag}|y"], d[f"{tag}|probs"]
            groups = d[f"{tag}|records"] if part == "ds2" else d[f"{tag}|patients"]
            f = reported_figures(y, probs, groups, two.classes)
            states = d[f"{tag}|states"]
            f["answered_share"] = round(float((states == "classified").mean()), 4)
            if part == "fold10":
                f["record_level"] = lfs.record_f1(
                    {"records": d[f"{tag}|records"], "y": y, "patients": d[f"{tag}|patients"]},
                    probs, list(two.classes),
                )  # fmt: skip
            figures[tag] = f
        section[part] = figures
        print(part, json.dumps({t: {"macro_f1": figures[t]["macro_f1"], "SVEB": figures[t]["SVEB"],
                                    "VEB": figures[t]["VEB"]} for t in ("two_lead", "fused")}),
              flush=True)  # fmt: skip
    section["note"] = ("MIT-BIH DS2 and PTB-XL fold 10 through analyse (the screen on), the wired "
                       "two-lead bundle and the default fused path; reported only, chosen on "
                       "nothing")  # fmt: skip
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}", flush=True)


def main() -> None:
    from ecg.io.ptbxl import default_ptbxl_dir
    from ecg.io.records import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["ship", "validate", "lite", "report"])
    parser.add_argument("--parts", nargs="+", default=["ds2", "fold10"])
    parser.add_argument("--mitdb", default=None, type=Path)
    parser.add_argument("--ptbxl", type=Path, default=None)
    parser.add_argument("--fold9-normal", type=int, default=300)
    parser.add_argument("--fresh", action="store_true", help="ignore the probabilities cache")
    args = parser.parse_args()
    args.mitdb = args.mitdb or default_data_dir() or Path("../shared/data/mitdb")
    args.ptbxl = args.ptbxl or default_ptbxl_dir() or Path("../shared/data/ptbxl")
    {"ship": ship, "validate": validate, "lite": lite, "report": report}[args.what](args)


if __name__ == "__main__":
    main()
