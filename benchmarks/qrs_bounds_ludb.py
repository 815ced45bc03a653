"""QRS bounds of the record-context features against LUDB's cardiologist delineation (issue 17.5).

For every annotated QRS of lead II of LUDB's 200 records, a QRS-bounds estimator of
``ecg.features.context`` (``--estimator``: v1 ``qrs_bounds_v1``, v2 ``qrs_bounds``, v3
``qrs_bounds_v3``) is run the way serving runs it: the lead resampled and band-passed to
``MODEL_FS`` (``prepare_signal``), beats detected (``detect_beats``), the model window cut around
the detected R peak. The estimated duration is compared with the annotated one (offset - onset).

LUDB is also an external test set of the classifier. v1 and v2 were not tuned on it; v3's
constants were chosen on the DEVELOPMENT half (the odd-numbered records), so every run also
reports that half and the HELD-OUT half (the even-numbered records) apart, beside all 200. Each
run times v2 and v3 on the same windows (beats per second, one recording per call as serving
calls them).

    python benchmarks/qrs_bounds_ludb.py --label before --estimator v1
    python benchmarks/qrs_bounds_ludb.py --label after --estimator v2
    python benchmarks/qrs_bounds_ludb.py --label v3 --estimator v3

Each run writes its figures under its label in benchmarks/results/qrs_bounds_ludb.json,
keeping the other labels' figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.dsp.detection import detect_beats  # noqa: E402
from ecg.dsp.signal import MODEL_FS, prepare_signal, rescale_samples  # noqa: E402
from ecg.features.beats import POST_S, PRE_S, extract_windows, window_bounds  # noqa: E402
from ecg.features.context import qrs_bounds, qrs_bounds_v1, qrs_bounds_v3  # noqa: E402
from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "qrs_bounds_ludb.json"
TARGET_MS = 10.0
RESAMPLES = 1000
ESTIMATORS = {"v1": qrs_bounds_v1, "v2": qrs_bounds, "v3": qrs_bounds_v3}
SPEED_REPEATS = 20


def is_development(name: str) -> bool:
    """v3's constants were chosen on the odd-numbered records only."""
    return int(name) % 2 == 1


def diagnosis_group(diagnoses: list[str]) -> str:
    """One group per record from its header: complete BBB, incomplete BBB, paced, other."""
    text = " ".join(diagnoses).lower()
    if "pacing" in text:
        return "paced"
    if "complete left bundle branch block" in text and "incomplete left" not in text:
        return "complete_bbb"
    if "complete right bundle branch block" in text and "incomplete right" not in text:
        return "complete_bbb"
    if "incomplete" in text and "bundle branch block" in text:
        return "incomplete_bbb"
    return "no_bbb"


def measure_record(data_dir: Path, name: str, lead: str, estimator: str = "v2") -> dict:
    """Annotated and estimated QRS onset/offset (s from the R peak) of every annotated QRS."""
    rec = load_ludb_record(data_dir, name, lead=lead)
    clean = prepare_signal(rec.signal, rec.fs, MODEL_FS)
    detected = detect_beats(clean, MODEL_FS)
    qrs = rescale_samples(rec.delineation.qrs, rec.fs, MODEL_FS)  # (n, 3) at MODEL_FS
    peaks, from_detector = [], []
    for onset, peak, offset in qrs:
        inside = detected[(detected >= onset) & (detected <= offset)]
        if inside.size:  # the serving path: the detector's R peak
            peaks.append(int(inside[np.argmin(np.abs(inside - peak))]))
            from_detector.append(True)
        else:  # a QRS the detector missed: its largest deflection, as refine_peaks would take
            seg = np.abs(clean[onset : offset + 1])
            peaks.append(int(onset + np.argmax(seg)) if seg.size else int(peak))
            from_detector.append(False)
    peaks_arr = np.array(peaks, dtype=np.int64)
    windows, kept = extract_windows(clean, peaks_arr, MODEL_FS, pre_s=PRE_S, post_s=POST_S)
    r_index, _ = window_bounds(MODEL_FS, PRE_S, 0.0)
    if len(windows) == 0:  # no annotated QRS far enough from the record's edges
        est_on = est_off = np.zeros(0)
    else:
        est_on, est_off = ESTIMATORS[estimator](windows, MODEL_FS, r_index)
    true_on = (rec.delineation.qrs[kept, 0] / rec.fs) - peaks_arr[kept] / MODEL_FS
    true_off = (rec.delineation.qrs[kept, 2] / rec.fs) - peaks_arr[kept] / MODEL_FS
    return {
        "record": name,
        "group": diagnosis_group(rec.diagnoses),
        "true_on": true_on,
        "true_off": true_off,
        "est_on": est_on,
        "est_off": est_off,
        "detected": np.array(from_detector, dtype=bool)[kept],
        "windows": windows,
        "r_index": r_index,
    }


def beats_per_second(rows: list[dict], estimators: tuple[str, ...] = ("v2", "v3")) -> dict:
    """Best of SPEED_REPEATS passes over every record's windows, one call per record, for each
    estimator; the estimators take turns within a repeat so a busy machine slows both alike."""
    beats = sum(len(r["windows"]) for r in rows)
    best = {e: float("inf") for e in estimators}
    for _ in range(SPEED_REPEATS):
        for estimator in estimators:
            bounds = ESTIMATORS[estimator]
            started = time.perf_counter()
            for r in rows:
                if len(r["windows"]):
                    bounds(r["windows"], MODEL_FS, r["r_index"])
            best[estimator] = min(best[estimator], time.perf_counter() - started)
    return {e: round(beats / best[e]) for e in estimators}


def summary(rows: list[dict], seed: int = 0) -> dict:
    """Duration error figures over the beats of ``rows``, with a 95% interval of the median
    absolute error from resampling whole records (patients)."""
    if not rows:
        return {"records": 0, "beats": 0}
    per_record = []
    for r in rows:
        true = (r["true_off"] - r["true_on"]) * 1000
        est = (r["est_off"] - r["est_on"]) * 1000
        per_record.append((est - true, est, true, r))
    err = np.concatenate([p[0] for p in per_record])
    est = np.concatenate([p[1] for p in per_record])
    true = np.concatenate([p[2] for p in per_record])
    on_err = np.concatenate([(r["est_on"] - r["true_on"]) * 1000 for r in rows])
    off_err = np.concatenate([(r["est_off"] - r["true_off"]) * 1000 for r in rows])
    rng = np.random.default_rng(seed)
    medians = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, len(per_record), len(per_record))
        medians.append(np.median(np.abs(np.concatenate([per_record[i][0] for i in pick]))))
    return {
        "records": len(rows),
        "beats": int(err.size),
        "median_abs_duration_error_ms": round(float(np.median(np.abs(err))), 2),
        "median_abs_duration_error_ms_95ci_over_records": [
            round(float(np.percentile(medians, 2.5)), 2),
            round(float(np.percentile(medians, 97.5)), 2),
        ],
        "mean_duration_error_ms": round(float(err.mean()), 2),
        "p90_abs_duration_error_ms": round(float(np.percentile(np.abs(err), 90)), 2),
        "share_within_10ms": round(float((np.abs(err) <= 10).mean()), 4),
        "share_zero_width": round(float((est <= 0).mean()), 4),
        "median_true_duration_ms": round(float(np.median(true)), 1),
        "median_estimated_duration_ms": round(float(np.median(est)), 1),
        "median_onset_error_ms": round(float(np.median(on_err)), 2),
        "median_offset_error_ms": round(float(np.median(off_err)), 2),
        "beats_not_detected": int(sum((~r["detected"]).sum() for r in rows)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="key of this run in the JSON")
    parser.add_argument("--data-dir", help="LUDB folder (default ../shared/data/ludb)")
    parser.add_argument("--lead", default="ii")
    parser.add_argument("--estimator", choices=sorted(ESTIMATORS), default="v2")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else default_ludb_dir()
    if data_dir is None:
        print("LUDB not found: pass --data-dir", file=sys.stderr)
        return 2
    started = time.perf_counter()
    names = list_ludb_records(data_dir)
    rows = [measure_record(data_dir, n, args.lead, args.estimator) for n in names]
    development = [r for r in rows if is_development(r["record"])]
    held_out = [r for r in rows if not is_development(r["record"])]
    groups = sorted({r["group"] for r in rows})
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    result = {
        "estimator": args.estimator,
        "lead": args.lead,
        "model_fs": MODEL_FS,
        "window_s": [PRE_S, POST_S],
        "code_commit": commit,
        "target_median_abs_error_ms": TARGET_MS,
        "all": summary(rows),
        "by_group": {g: summary([r for r in rows if r["group"] == g]) for g in groups},
        "development_half_odd_records": summary(development),
        "held_out_half_even_records": summary(held_out),
        "held_out_by_group": {g: summary([r for r in held_out if r["group"] == g]) for g in groups},
        "beats_per_second": beats_per_second(rows),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(args.out)
    existing = json.loads(out.read_text()) if out.is_file() else {}
    existing["about"] = (
        "QRS-bounds estimators of ecg.features.context against LUDB lead II cardiologist QRS "
        "onsets/offsets; written by benchmarks/qrs_bounds_ludb.py. 'before' is qrs_bounds_v1, "
        "'after' qrs_bounds (v2), neither tuned on LUDB; 'v3' is qrs_bounds_v3, whose constants "
        "were chosen on the odd-numbered records (development half): its held-out figures are "
        "the even-numbered records'"
    )
    existing[args.label] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(existing, indent=2) + "\n")
    halves = [
        ("development (odd)", result["development_half_odd_records"]),
        ("held-out (even)", result["held_out_half_even_records"]),
    ]
    for name, s in [("all", result["all"]), *halves, *result["by_group"].items()]:
        print(
            f"{args.label} {name}: {s['beats']} QRS of {s['records']} records, median |error| "
            f"{s['median_abs_duration_error_ms']} ms, zero widths {s['share_zero_width']:.1%}, "
            f"bias {s['mean_duration_error_ms']} ms"
        )
    print(f"beats/s: {result['beats_per_second']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
