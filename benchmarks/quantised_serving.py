"""Serve the recording model from its int8 conversion? Decided on validation data (issue 17).

    nice -n 10 python benchmarks/quantised_serving.py validate [--model recording_mixed]
    nice -n 10 python benchmarks/quantised_serving.py report [--parts ds2 fold10]

Why: issue 17 asks for 2,000 beats/s on a whole recording on 2 cores, and the recording model's
networks take about two thirds of the analysis's CPU time (two leads, three networks each). Its
int8 conversion (``manage.py export_lite_models`` writes ``models/<name>.int8.tflite``:
dynamic-range quantisation, int8 weights, float32 activations; ``ecg.models.lite_runtime``) runs
the same networks in about 45 % less CPU time. It moves the probabilities a little, so whether
the app serves it (settings ``RECORDING_MODEL_PRECISION``) is decided here, on what the app
would show, before the speed is measured (``recording_benchmark.py``; speed is the reason for
the change, the rule guards the answers).

``--model recording_two_lead`` (opt-in, ``RECORDING_MODEL``) applies the same rule to another
installed recording model, into ``quantised_serving_two_lead.json``: the setting is one for
whichever recording model serves.

``validate`` runs every validation recording through the app's own path
(``ecg.recording_analysis.analyse``: detection, quality, the second lead's screen, lead fusion,
calibration, states) twice -- the model's float32 LiteRT conversion and its int8 one -- and
writes ``benchmarks/results/quantised_serving.json``. ``report`` does the same on the test
sets, MIT-BIH DS2 (22 records) and PTB-XL fold 10, ONLY reported, after the rule's answer was
committed; nothing is chosen on them.

Validation data (``two_lead_serving.py``'s, never DS2 / PTB-XL fold 10 / LUDB): MIT-BIH DS1
validation records 106, 124, 209, 223 (whole records, both leads, uploaded as the app receives
them; beats matched to the reference, EC57 150 ms, six classes) and PTB-XL fold 9 (every LBBB /
RBBB record without ectopy and 300 random normal ones, seed 0; II primary, V1 second; each beat
labelled with its record's class).

Rule -- written before any figure of this script was computed. The only figures seen before:
record 100's first 30 minutes (2,271 reference beats, one lead, the network alone): arg-max
agreement with float32 100 %, largest probability difference 0.012, network CPU 0.42 s against
0.77 s; and the export check on random inputs (largest difference 0.0024 for
``recording_mixed``).

- The app serves the recording model's int8 conversion by default (``RECORDING_MODEL_PRECISION``
  = int8) if and only if, on the validation data above, BOTH hold:
  1. the answer the app shows for a beat -- its state (classified / uncertain / unreadable) and,
     when classified, its class -- is the same as with float32 for at least 99.5 % of the beats
     of EACH source (MIT-BIH, PTB-XL); and
  2. the objective (the mean over the two sources of the six-class beat macro-F1 of the arg-max
     calls, ``two_lead_serving.py``'s) is at most 0.005 below float32's.
- Otherwise float32 stays the default and int8 remains a documented option.
- The calibrated "uncertain" threshold is not refitted for int8 (condition 1 bounds how many
  states it moves); DS2 and fold 10 figures, reported after the choice, say how the published
  figures measured with float32 move.

Long on purpose: the rule, the validation run and the reported test sets read the same
recordings through the same path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RESULTS = ROOT / "benchmarks" / "results" / "quantised_serving.json"
PRECISIONS = ("float32", "int8")
DEFAULT_MODEL = "recording_mixed"  # the served one; another model's results go to their own file
MIN_AGREEMENT = 0.995
MAX_OBJECTIVE_DROP = 0.005


def bundles(models_dir: Path, model: str) -> dict[str, Any]:
    """{precision: the serving bundle}, each from its own registry, as the app loads it; exits
    when the int8 conversion is missing (the comparison would be float32 against itself)."""
    from ecg.models.registry import ModelRegistry

    out = {}
    for precision in PRECISIONS:
        registry = ModelRegistry(models_dir, preferred={"recording": model}, recording_threads=2,
                                 recording_precision=precision)  # fmt: skip
        bundle = registry.serving_bundle(task="recording")
        used = registry.runtimes[registry.recording_model_path()]
        if used != ("litert" if precision == "float32" else "litert-int8"):
            raise SystemExit(f"{model}: {precision} runs on {used}; run export_lite_models")
        out[precision] = bundle
    return out


def shown_answers(states: np.ndarray, probs: np.ndarray, classes: list[str]) -> np.ndarray:
    """What the app shows per beat: its class when classified, else its state."""
    names = np.asarray(classes)[probs.argmax(1)]
    return np.where(states == "classified", names, states)


def run_recording(pair: dict[str, Any], recording, label: int | None) -> dict[str, Any] | None:
    """Both precisions on one recording: per precision the labelled beats' probabilities,
    states and labels, and the analysis's CPU seconds. ``label`` None (MIT-BIH): the reference's
    matched beats; else the record's class for every beat (PTB-XL). None when the app reads no
    beat."""
    from ecg.dsp.detection import DetectionError
    from ecg.recording_analysis import analyse

    out: dict[str, Any] = {}
    try:
        for precision, bundle in pair.items():
            started = time.process_time()
            result = analyse(recording, bundle)
            cpu = time.process_time() - started
            classes = list(bundle.classes)
            if label is None:
                keep = result.reference_labels != ""
                y = np.array([classes.index(c) for c in result.reference_labels[keep]])
            else:
                keep = np.ones(len(result.beats), bool)
                y = np.full(int(keep.sum()), label)
            out[precision] = {
                "samples": result.beats.samples[keep],
                "probs": result.beats.probabilities[keep],
                "states": result.states.astype(str)[keep],
                "y": y.astype(np.int64),
                "cpu_s": cpu,
            }
    except DetectionError:  # NoReadableSignal too: the app classifies nothing there
        return None
    if not np.array_equal(out["float32"]["samples"], out["int8"]["samples"]):
        raise RuntimeError(f"{recording.name}: the two precisions analysed different beats")
    return out


def jobs_for(part: str, args: argparse.Namespace, classes: list[str]) -> list[tuple]:
    """(name, loader, label or None, patient or record) for each recording of ``part``."""
    import lead_fusion_study as lfs
    from two_lead_serving import mitdb_upload, ptbxl_recording

    from ecg.classes import DS2_RECORDS
    from ecg.io.ptbxl import conducted_beat_label
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    if part in ("ds1_validation", "ds2"):
        names = DS1_VALIDATION_RECORDS if part == "ds1_validation" else DS2_RECORDS
        return [(n, lambda n=n: mitdb_upload(args.mitdb, n), None, n) for n in names]
    fold, normal = (9, args.fold9_normal) if part == "fold9" else (10, 100_000)
    rows = lfs.ptbxl_fold_records(args.ptbxl, fold, normal)
    return [(f"ptbxl{i}", lambda i=i: ptbxl_recording(args.ptbxl, int(i)),
             classes.index(conducted_beat_label(r["scp_codes"])), str(int(r["patient_id"])))
            for i, r in rows.iterrows()]  # fmt: skip


def collect(part: str, args: argparse.Namespace, pair: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per precision: probabilities, states, labels and groups of every beat of ``part``
    (cached under build/quantised/<model>/<model sha>[-af-merge]/, so a model shipped since is
    never scored with its predecessor's probabilities; ``--fresh`` recomputes)."""
    from ecg.features import af_context
    from ecg.models.bundle import file_sha256

    digest = file_sha256(args.models_dir / f"{args.model}.keras")[:12]
    # The analysis's A-in-AF reading moves probabilities too: its setting keys the cache.
    digest += "-af-merge" if af_context.MERGE_ATRIAL_IN_AF else ""
    cache = ROOT / "build" / "quantised" / args.model / digest / f"{part}.npz"
    if cache.is_file() and not args.fresh:
        return dict(np.load(cache, allow_pickle=False))
    classes = list(pair["float32"].classes)
    parts: dict[str, list] = {}
    started = time.perf_counter()
    jobs = jobs_for(part, args, classes)
    for number, (name, load, label, group) in enumerate(jobs):
        got = run_recording(pair, load(), label)
        if got is None or (label is not None and len(got["float32"]["y"]) < 3):
            continue
        for precision, e in got.items():
            for key in ("probs", "states", "y"):
                parts.setdefault(f"{precision}|{key}", []).append(e[key])
            parts.setdefault(f"{precision}|groups", []).append(np.full(len(e["y"]), group))
            parts.setdefault(f"{precision}|cpu_s", []).append(np.array([e["cpu_s"]]))
        if label is None or number % 100 == 0:
            print(f"{part} {number + 1}/{len(jobs)} {name} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    out = {k: np.concatenate(v) for k, v in parts.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def compare(data: dict[str, np.ndarray], classes: list[str]) -> dict[str, Any]:
    """Agreement of the shown answers, macro-F1 of the arg-max calls and the answered share per
    precision, and the CPU seconds of the analyses."""
    from ecg.training.metrics import confusion_matrix, macro_f1

    shown = {p: shown_answers(data[f"{p}|states"], data[f"{p}|probs"], classes) for p in PRECISIONS}
    out: dict[str, Any] = {
        "beats": int(len(shown["float32"])),
        "shown_answer_agreement": round(float((shown["float32"] == shown["int8"]).mean()), 5),
        "argmax_agreement": round(
            float((data["float32|probs"].argmax(1) == data["int8|probs"].argmax(1)).mean()), 5
        ),  # fmt: skip
        "state_agreement": round(float((data["float32|states"] == data["int8|states"]).mean()), 5),
        "max_abs_probability_difference": round(
            float(np.abs(data["float32|probs"] - data["int8|probs"]).max()), 5
        ),
    }
    for p in PRECISIONS:
        y, probs, states = data[f"{p}|y"], data[f"{p}|probs"], data[f"{p}|states"]
        cm = confusion_matrix(y, probs.argmax(1), len(classes))
        answered = states == "classified"
        out[p] = {
            "macro_f1": round(float(macro_f1(cm)), 4),
            "answered_share": round(float(answered.mean()), 4),
            "answered_accuracy": round(float((probs.argmax(1) == y)[answered].mean()), 4)
            if answered.any()
            else None,
            "analysis_cpu_s": round(float(data[f"{p}|cpu_s"].sum()), 2),
        }
    return out


def decide(sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The module docstring's rule on the validation sources' comparisons."""
    agreement_ok = all(s["shown_answer_agreement"] >= MIN_AGREEMENT for s in sources.values())
    objective = {
        p: round(float(np.mean([s[p]["macro_f1"] for s in sources.values()])), 4)
        for p in PRECISIONS
    }
    drop = round(objective["float32"] - objective["int8"], 4)
    serve_int8 = bool(agreement_ok and drop <= MAX_OBJECTIVE_DROP)
    return {
        "rule": (
            f"int8 by default iff the shown answer agrees with float32 on >= "
            f"{MIN_AGREEMENT:.1%} of each validation source's beats and the objective "
            f"(mean of the sources' six-class macro-F1) is at most {MAX_OBJECTIVE_DROP} "
            "below float32's"
        ),  # fmt: skip
        "agreement_ok": bool(agreement_ok),
        "objective": objective,
        "objective_drop": drop,
        "serve_int8": serve_int8,
        "default_precision": "int8" if serve_int8 else "float32",
    }


def figures(data: dict[str, np.ndarray], classes: list[str]) -> dict[str, Any]:
    """Per precision, ``two_lead_serving.reported_figures`` (intervals over the groups, AAMI
    VEB / SVEB) for the reported test sets."""
    from two_lead_serving import reported_figures

    return {
        p: reported_figures(data[f"{p}|y"], data[f"{p}|probs"], data[f"{p}|groups"], classes)
        for p in PRECISIONS
    }


def write(section: str, value: dict[str, Any], args: argparse.Namespace) -> None:
    """Into ``quantised_serving.json`` for the default model, ``quantised_serving_<short
    name>.json`` for another (``recording_model_option.results_path``)."""
    from recording_model_option import results_path

    path = results_path(RESULTS, None if args.model == DEFAULT_MODEL else args.model)
    result = json.loads(path.read_text()) if path.is_file() else {}
    result[section] = value
    result["model"] = args.model
    result["written_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}", flush=True)


def main() -> None:
    from ecg.io.ptbxl import default_ptbxl_dir
    from ecg.io.records import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["validate", "report"])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--mitdb", type=Path, default=None)
    parser.add_argument("--ptbxl", type=Path, default=None)
    parser.add_argument("--fold9-normal", type=int, default=300)
    parser.add_argument("--parts", nargs="+", default=["ds2", "fold10"])
    parser.add_argument("--fresh", action="store_true", help="ignore build/quantised/ caches")
    args = parser.parse_args()
    args.mitdb = args.mitdb or default_data_dir()
    args.ptbxl = args.ptbxl or default_ptbxl_dir()
    pair = bundles(args.models_dir, args.model)
    classes = list(pair["float32"].classes)
    if args.what == "validate":
        sources = {
            "mitdb": compare(collect("ds1_validation", args, pair), classes),
            "ptbxl": compare(collect("fold9", args, pair), classes),
        }
        decision = decide(sources)
        print(json.dumps({"sources": sources, "decision": decision}, indent=1), flush=True)
        write("validation", {"sources": sources, "decision": decision}, args)
        return
    reported = {}
    for part in args.parts:
        data = collect(part, args, pair)
        reported[part] = {"comparison": compare(data, classes), **figures(data, classes)}
        print(part, json.dumps(reported[part]["comparison"], indent=1), flush=True)
    reported["note"] = (
        "MIT-BIH DS2 and PTB-XL fold 10 through analyse, float32 and int8 conversions of the "
        "same model; reported only, chosen on nothing"
    )
    write("reported_only_test_sets", reported, args)


if __name__ == "__main__":
    main()
