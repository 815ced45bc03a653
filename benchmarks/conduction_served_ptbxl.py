"""The conduction finding as the app serves it, on PTB-XL fold 10 (issue 17, point 7).

    nice -n 10 python benchmarks/conduction_served_ptbxl.py [--limit N]

``conduction_ptbxl`` and ``conduction_leads_ptbxl`` chose the rules from the network's
probabilities on the training pipeline's beat tables. This runs the product's own path instead:
every labelled fold-10 record (CLBBB, CRBBB, NORM under the label rule) uploaded as the app
reads a four-lead recording (leads II, III, V1, V5 of the 100-Hz files, II analysed unless it
is unreadable throughout: ``lead_choice.with_readable_lead``, then the leads as stored:
``lead_choice.as_stored``), through ``recording_analysis.analyse`` with the served model (int8
LiteRT, as the worker loads it): detection, signal quality, beat states, and the finding with
every trained lead. Record-level Se / +P / F1 with intervals over patients, and the same with
II alone (the finding's single-lead rule on the same analysis's lead-II beats). Nothing is
chosen here: fold 10 was scored by the studies after their decisions.

With ``--fold 9``: the validation fold through the same path (a diagnostic of the path where
choices may be made; ``conduction_served_ptbxl_validation.json``, no REPORT sidecar).

With ``--ludb`` (an external set, never trained or chosen on): every LUDB record uploaded with
leads II, III, V1, V5 of its twelve (500 Hz, II analysed), the findings counted per
header-diagnosis group, into ``conduction_served_ludb.json`` (the same upload path).

Writes ``benchmarks/results/conduction_served_ptbxl.json`` and, for ``models/REPORT.md``
(``python manage.py evaluate_model --report-only``), ``models/recording_mixed.conduction.json``
with the model file's checksum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.dsp.detection import DetectionError  # noqa: E402
from ecg.features import conduction  # noqa: E402
from ecg.io.ptbxl import (  # noqa: E402
    default_ptbxl_dir,
    load_ptbxl_record,
    load_ptbxl_table,
    ptbxl_splits,  # noqa: E402
)
from ecg.io.recording_base import ParsedRecording  # noqa: E402
from ecg.io.records import RecordError  # noqa: E402
from ecg.lead_choice import as_stored, with_readable_lead  # noqa: E402
from ecg.models.bundle import file_sha256  # noqa: E402
from ecg.models.lite_runtime import load_serving_bundle  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402
from ecg.training.mixed_eval import f1_with_intervals  # noqa: E402
from ecg.training.ptbxl_beats import labelled_records  # noqa: E402

MODEL = ROOT / "models" / "recording_mixed.keras"
LEADS = ("II", "III", "V1", "V5")
CODES = ("L", "R", "N", "-")
RESULT = ROOT / "benchmarks" / "results" / "conduction_served_ptbxl.json"


def four_lead_recording(data_dir: Path, ecg_id: int) -> ParsedRecording:
    records = [load_ptbxl_record(data_dir, ecg_id, lead=lead) for lead in LEADS]
    n = min(len(r.signal) for r in records)
    signals = np.stack([r.signal[:n] for r in records]).astype(np.float32)
    return ParsedRecording(name=f"ptbxl{ecg_id}", format="wfdb", fs=records[0].fs,
                           lead_names=list(LEADS), signals=signals, lead_index=0,
                           source_files=[])  # fmt: skip


def uploaded(recording: ParsedRecording) -> ParsedRecording:
    """``recording`` as an upload without a named lead reaches the analysis."""
    return as_stored(with_readable_lead(recording))


def lead_ii(finding: dict) -> list[dict]:
    """Lead II's evidence (``II alone``), analysed or not."""
    return [entry for entry in finding["leads"] if entry["lead"] == "II"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N records (a check)")
    parser.add_argument("--ludb", action="store_true", help="LUDB instead of PTB-XL fold 10")
    parser.add_argument(
        "--fold",
        type=int,
        default=10,
        choices=(9, 10),
        help="9: the validation fold, a diagnostic of the served path where choices may be made "
        "(its own file, no REPORT sidecar)",
    )
    parser.add_argument(
        "--precision",
        default="int8",
        choices=("int8", "float32"),
        help="float32: a diagnostic beside the served int8 (its own file, no REPORT sidecar)",
    )
    args = parser.parse_args(argv)
    if args.ludb:
        return ludb_main()
    data_dir = default_ptbxl_dir()
    if data_dir is None:
        print("PTB-XL not found (set PTBXL_DIR)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    bundle, runtime = load_serving_bundle(MODEL, precision=args.precision)
    suffix = ("" if args.precision == "int8" else f"_{args.precision}") + (
        "_validation" if args.fold == 9 else "")  # fmt: skip
    out = RESULT.with_name(f"conduction_served_ptbxl{suffix}.json")
    classes = list(bundle.classes)
    split = "validation" if args.fold == 9 else "test"
    rows = labelled_records(ptbxl_splits(load_ptbxl_table(data_dir))[split])
    if args.limit:
        rows = rows.iloc[: args.limit]
    truth, served, alone, patients, failed = [], [], [], [], 0
    for number, (ecg_id, row) in enumerate(rows.iterrows()):
        try:
            recording = uploaded(four_lead_recording(data_dir, int(ecg_id)))
            finding = analyse(recording, bundle).summary["conduction"]
        except (RecordError, DetectionError):
            failed += 1  # no finding: a miss for the record's class
            finding = {"call": None, "leads": []}
        own = lead_ii(finding)
        truth.append(CODES.index(row["label"]))
        served.append(CODES.index(finding["call"] or "-"))
        single = conduction.finding_from_leads(own, classes)["call"] if own else None
        alone.append(CODES.index(single or "-"))
        patients.append(int(row["patient_id"]))
        if number % 100 == 0:
            print(f"{number} / {len(rows)} records", flush=True)
    report = list(CODES[:3])
    figures = {
        name: f1_with_intervals(np.array(truth), np.array(calls), np.array(patients),
                                list(CODES), report)
        for name, calls in (("all trained leads (served)", served), ("II alone", alone))
    }  # fmt: skip
    result = {
        "about": f"benchmarks/conduction_served_ptbxl.py: PTB-XL fold {args.fold} through "
        "recording_analysis.analyse (leads II, III, V1, V5; II analysed), served model",
        "runtime": runtime,
        "records": {c: int(sum(t == CODES.index(c) for t in truth)) for c in report},
        "analysis_failed": failed,
        "figures": figures,
        "seconds": round(time.perf_counter() - started, 1),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    if not args.limit and out == RESULT:
        sidecar = {
            "source": RESULT.relative_to(ROOT).as_posix(),
            "about": f"{len(truth)} labelled records uploaded with leads II, III, V1, V5, II "
            f"analysed, {runtime}; 'II alone': the single-lead rule on the same analysis",
            "model_sha256": file_sha256(MODEL),
            "figures": figures,
        }
        MODEL.with_suffix(".conduction.json").write_text(
            json.dumps(sidecar, indent=1, sort_keys=True, default=float) + "\n"
        )
    for name, f in figures.items():
        print(name, {c: round(f[c]["F1"], 3) for c in report})
    return 0


def ludb_main() -> int:
    """LUDB: the findings per header-diagnosis group, all trained leads and II alone."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ptbxl_mixed_eval import ludb_groups

    from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record

    data_dir = default_ludb_dir()
    if data_dir is None:
        print("LUDB not found (set LUDB_DIR)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    bundle, runtime = load_serving_bundle(MODEL, precision="int8")
    classes = list(bundle.classes)
    served, alone, diagnoses = {}, {}, {}
    for name in list_ludb_records(data_dir):
        leads = [load_ludb_record(data_dir, name, lead=lead.lower()) for lead in LEADS]
        diagnoses[name] = leads[0].diagnoses
        signals = np.stack([r.signal for r in leads]).astype(np.float32)
        recording = ParsedRecording(name=f"ludb{name}", format="wfdb", fs=leads[0].fs,
                                    lead_names=list(LEADS), signals=signals, lead_index=0,
                                    source_files=[])  # fmt: skip
        try:
            finding = analyse(uploaded(recording), bundle).summary["conduction"]
        except DetectionError:
            finding = {"call": None, "leads": []}
        own = lead_ii(finding)
        served[f"ludb{name}"] = finding["call"]
        alone[f"ludb{name}"] = conduction.finding_from_leads(own, classes)["call"] if own else None
    result: dict = {
        "about": "benchmarks/conduction_served_ptbxl.py --ludb: every LUDB record uploaded "
        "with leads II, III, V1, V5 (500 Hz, II analysed), served model; findings per "
        "header-diagnosis group (groups may overlap); external, never chosen on",
        "runtime": runtime,
        "groups": {},
        "seconds": None,
    }
    for group, members in ludb_groups(diagnoses).items():
        result["groups"][group] = {
            variant: {conduction.FINDINGS[c]: sum(calls[m] == c for m in members)
                      for c in (*conduction.BLOCKS, conduction.NORMAL, None)}
            for variant, calls in (("all trained leads (served)", served), ("II alone", alone))
        }  # fmt: skip
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULT.with_name("conduction_served_ludb.json").write_text(
        json.dumps(result, indent=1, default=float) + "\n"
    )
    for group, counts in result["groups"].items():
        print(group, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
