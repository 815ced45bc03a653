"""Beat detection per lead set on every non-paced MIT-BIH record.

    python benchmarks/detection_benchmark.py [--data-dir ../shared/data/mitdb] [--records 208 ...]
                                             [--seconds 600] [--output PATH]

For each record the detector (``ecg.dsp.detection.detect_beats``) runs on the MLII lead
alone, on the second lead alone, and on both (MLII with the second lead's gap filling, as the
app runs a two-lead upload). Each is scored against the reference beat annotations (EC57
matching, 150 ms): sensitivity (Se) and positive predictivity (+P) per record, and gross (all
beats pooled) and mean over records per lead set. Target: Se and +P >= 99.5 % on MLII alone.

Writes ``benchmarks/results/detection.json`` (all records) unless ``--records`` or
``--seconds`` narrows the run (then nothing is written unless ``--output`` is given).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.classes import PACED_RECORDS  # noqa: E402
from ecg.dsp.detection import detect_beats, evaluate_detection  # noqa: E402
from ecg.io.recording_io import Limits, parse_upload  # noqa: E402
from ecg.io.records import default_data_dir, list_records  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "detection.json"
LEAD_SETS = ("mlii", "second", "both")
TARGET = 0.995


def record_scores(data_dir: Path, name: str, seconds: float | None) -> dict:
    files = [
        (f"{name}{ext}", (data_dir / f"{name}{ext}").read_bytes())
        for ext in (".hea", ".dat", ".atr")
    ]
    recording = parse_upload(files, limits=Limits(max_bytes=10**9))
    fs = recording.fs
    mlii, second = recording.signal, recording.second_lead
    reference = recording.ann_samples
    if seconds is not None:
        end = int(seconds * fs)
        mlii, second = mlii[:end], second[:end]
        reference = reference[reference < end]
    row: dict = {
        "record": name,
        "leads": [recording.lead, recording.lead_names[1 - recording.lead_index]],
    }
    runs = {
        "mlii": lambda: detect_beats(mlii, fs),
        "second": lambda: detect_beats(second, fs),
        "both": lambda: detect_beats(mlii, fs, second_lead=second),
    }
    for lead_set, run in runs.items():
        start = time.perf_counter()
        detected = run()
        score = evaluate_detection(reference, detected, fs)
        row[lead_set] = {
            "sensitivity": round(score.sensitivity, 5),
            "positive_predictivity": round(score.positive_predictivity, 5),
            "reference_beats": score.reference_beats,
            "false_negatives": score.false_negatives,
            "false_positives": score.false_positives,
            "detect_s": round(time.perf_counter() - start, 3),
        }
    return row


def summary(rows: list[dict]) -> dict:
    out = {}
    for lead_set in LEAD_SETS:
        scores = [row[lead_set] for row in rows]
        beats = sum(s["reference_beats"] for s in scores)
        fn = sum(s["false_negatives"] for s in scores)
        fp = sum(s["false_positives"] for s in scores)
        out[lead_set] = {
            "gross_sensitivity": round((beats - fn) / beats, 5),
            "gross_positive_predictivity": round((beats - fn) / (beats - fn + fp), 5),
            "mean_sensitivity": round(sum(s["sensitivity"] for s in scores) / len(scores), 5),
            "mean_positive_predictivity": round(
                sum(s["positive_predictivity"] for s in scores) / len(scores), 5
            ),
            "false_negatives": fn,
            "false_positives": fp,
            "records_below_target": [
                row["record"]
                for row, s in zip(rows, scores, strict=True)
                if min(s["sensitivity"], s["positive_predictivity"]) < TARGET
            ],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--records", nargs="*", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="only the first N seconds")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or default_data_dir()
    if data_dir is None:
        sys.exit("MIT-BIH not found: pass --data-dir")
    names = args.records or [n for n in list_records(data_dir) if n not in PACED_RECORDS]
    rows = []
    for name in names:
        row = record_scores(Path(data_dir), name, args.seconds)
        rows.append(row)
        print(
            f"{name}: "
            + "  ".join(
                f"{s} Se {row[s]['sensitivity']:7.2%} +P {row[s]['positive_predictivity']:7.2%}"
                f" (FN {row[s]['false_negatives']}, FP {row[s]['false_positives']})"
                for s in LEAD_SETS
            ),
            flush=True,
        )
    result = {
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": platform.processor() or platform.machine(),
        "seconds": args.seconds,
        "target": TARGET,
        "summary": summary(rows),
        "records": rows,
    }
    for lead_set, figures in result["summary"].items():
        print(lead_set, json.dumps(figures))
    output = args.output or (RESULTS if args.records is None and args.seconds is None else None)
    if output is not None:
        output.write_text(json.dumps(result, indent=1) + "\n")
        print(f"written to {output}")


if __name__ == "__main__":
    main()
