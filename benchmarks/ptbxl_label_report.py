"""The PTB-XL beat-label rule, counted and spot-checked (issue 17, point 2).

    python benchmarks/ptbxl_label_report.py [--workers 2]

1. Builds (or reads from build/) the PTB-XL beat tables of every split on leads II and V1
   (``ecg.training.ptbxl_beats``) and counts, per split and label, the records, patients and
   beats the rule yields and the beats the dominant-beat test dropped in records with PVC /
   PAC statements; also how many beats that test WOULD drop in records without such statements
   (where nearly every beat should be conducted: an estimate of its false-drop rate).
2. Spot-checks the labels with the library's QRS width (``context.qrs_widths``) on leads II and
   V1: L and R beats should be wide (>= 120 ms), N beats narrow.
3. Applies the same rule to LUDB's header diagnoses and compares each label with the
   cardiologists' QRS durations of lead II.

Writes benchmarks/results/ptbxl_labels.json and ptbxl_labels.md. Nothing is chosen here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.dsp.signal import MODEL_FS  # noqa: E402
from ecg.features.beats import POST_S, PRE_S, window_bounds  # noqa: E402
from ecg.features.context import qrs_widths  # noqa: E402
from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record  # noqa: E402
from ecg.io.ptbxl import (  # noqa: E402
    BEAT_LABEL_RULES,
    conducted_beat_label,
    default_ptbxl_dir,
    load_ptbxl_table,
    ptbxl_splits,
)
from ecg.training.ptbxl_beats import (  # noqa: E402
    MIN_CORRELATION,
    PREMATURE_RR_RATIO,
    build_ptbxl_beats,
    dominant_beats,
    labelled_records,
)

OUT_JSON = ROOT / "benchmarks" / "results" / "ptbxl_labels.json"
OUT_MD = ROOT / "benchmarks" / "results" / "ptbxl_labels.md"
SPLITS = ("train", "validation", "test")
LABELS = ("L", "R", "N")
LEADS = ("II", "V1")
WIDE_S = 0.120


def width_stats(widths_s: np.ndarray) -> dict:
    """Median and quartiles (ms) and the share >= 120 ms of a set of QRS widths."""
    if widths_s.size == 0:
        return {"n": 0}
    q1, med, q3 = np.percentile(widths_s * 1000, [25, 50, 75])
    return {
        "n": int(widths_s.size),
        "median_ms": round(float(med), 1),
        "iqr_ms": [round(float(q1), 1), round(float(q3), 1)],
        "share_ge_120ms": round(float((widths_s >= WIDE_S).mean()), 3),
    }


def split_report(beats, chosen) -> tuple[dict, dict, dict]:
    """Counts per label, QRS width figures per label, and the widths themselves (beats, record
    medians) of one split's table."""
    table = beats.table
    pre, _ = window_bounds(MODEL_FS, table.pre_s, 0.0)
    r_index, _ = window_bounds(MODEL_FS, PRE_S, 0.0)
    windows = table.crop(PRE_S, POST_S)
    widths = qrs_widths(windows, MODEL_FS, r_index) if len(windows) else np.zeros(0)
    ectopy = dict(zip(("ptbxl" + chosen.index.astype(str)), chosen["ectopy"], strict=True))
    fibrillation = dict(
        zip(
            ("ptbxl" + chosen.index.astype(str)),
            chosen["scp_codes"].map(lambda c: bool(set(c) & {"AFIB", "AFLT"})),
            strict=True,
        )
    )
    counts, spot, raw = {}, {}, {}
    for label in LABELS:
        rows = table.symbols == label
        names = table.records[rows]
        in_ectopy = np.array([ectopy[n] for n in names], dtype=bool)
        # the test's drop rate where no ectopy is stated (all beats were kept there)
        # [beats, would drop, premature only] in records without / with AF or flutter
        tally = {False: [0, 0, 0], True: [0, 0, 0]}
        for name in np.unique(names[~in_ectopy]):
            idx = np.flatnonzero(table.records == name)
            rr_prev = table.rr[idx, 0]
            keep = dominant_beats(table.windows[idx], rr_prev, MODEL_FS, pre)
            premature = rr_prev < PREMATURE_RR_RATIO * np.median(rr_prev)
            t = tally[fibrillation[name]]
            t[0] += len(idx)
            t[1] += int((~keep).sum())
            t[2] += int(premature.sum())
        kept = tally[False][0] + tally[True][0]
        would_drop = tally[False][1] + tally[True][1]
        part = chosen[chosen["label"] == label]
        counts[label] = {
            "records_labelled": int(len(part)),
            "records_with_ectopy_statement": int(part["ectopy"].sum()),
            "records_with_beats": int(beats.records_used.get(label, 0)),
            "patients": int(np.unique(beats.patients[rows]).size),
            "beats": int(rows.sum()),
            "beats_from_ectopy_records": int(in_ectopy.sum()),
            "beats_dropped_as_ectopic": int(beats.ectopic_dropped.get(label, 0)),
            "share_test_would_drop_without_ectopy_statement": round(would_drop / kept, 4)
            if kept
            else None,
            "without_ectopy_statement_by_af": {
                ("with_af_or_flutter" if af else "without_af"): {
                    "beats": t[0],
                    "share_would_drop": round(t[1] / t[0], 4) if t[0] else None,
                    "share_premature": round(t[2] / t[0], 4) if t[0] else None,
                }
                for af, t in tally.items()
            },
        }
        record_medians = np.array([np.median(widths[table.records == n]) for n in np.unique(names)])
        spot[label] = {
            "beats": width_stats(widths[rows]),
            "record_medians": width_stats(record_medians),
        }
        raw[label] = (widths[rows], record_medians)
    counts["records_failed_any_label"] = int(beats.records_failed)
    return counts, spot, raw


def ludb_statements(diagnoses: list[str]) -> set[str]:
    """LUDB header diagnoses as the SCP-ECG statements the rule reads (documented mapping)."""
    text = " | ".join(diagnoses).lower()
    codes: set[str] = set()
    for line in (d.lower() for d in diagnoses):
        if "bundle branch block" in line:
            side = "L" if "left" in line else "R"
            codes.add(("I" if "incomplete" in line else "C") + side + "BBB")
        if "pacing" in line:
            codes.add("PACE")
        if "intravintricular conduction delay" in line or "intraventricular" in line:
            codes.add("IVCD")
        if "i degree av block" in line:
            codes.add("1AVB")
        if "iii degree av" in line:
            codes.add("3AVB")
        if "left anterior hemiblock" in line:
            codes.add("LAFB")
        if "ventricular extrasystole" in line:
            codes.add("PVC")
        if "atrial extrasystole" in line:
            codes.add("PAC")
        if "fibrillation" in line:
            codes.add("AFIB")
        if "flutter" in line:
            codes.add("AFLT")
    # LUDB has no "normal ECG" statement: a sinus rhythm with none of the statements above
    # stands for NORM (hypertrophy or ischaemia do not change which class a QRS belongs to).
    if "rhythm: sinus" in text and not codes:
        codes.add("NORM")
    return codes


def ludb_report(data_dir: Path) -> dict:
    """Per rule label on LUDB: records, and cardiologists' lead-II QRS duration per record."""
    per_label: dict[str, list[float]] = {}
    estimated: dict[str, list[float]] = {}
    r_index, _ = window_bounds(MODEL_FS, PRE_S, 0.0)
    from ecg.dsp.signal import prepare_signal, rescale_samples
    from ecg.features.beats import extract_windows

    for name in list_ludb_records(data_dir):
        rec = load_ludb_record(data_dir, name, lead="ii")
        label = conducted_beat_label(ludb_statements(rec.diagnoses)) or "-"
        qrs = rec.delineation.qrs
        if len(qrs) == 0:
            continue
        per_label.setdefault(label, []).append(float(np.median(qrs[:, 2] - qrs[:, 0]) / rec.fs))
        clean = prepare_signal(rec.signal, rec.fs, MODEL_FS)
        windows, _ = extract_windows(
            clean,
            rescale_samples(qrs[:, 1], rec.fs, MODEL_FS),
            MODEL_FS,
            pre_s=PRE_S,
            post_s=POST_S,
        )
        if len(windows):
            estimated.setdefault(label, []).append(
                float(np.median(qrs_widths(windows, MODEL_FS, r_index)))
            )
    return {
        label: {
            "records": len(per_label[label]),
            "annotated_qrs_record_medians": width_stats(np.array(per_label[label])),
            "qrs_widths_record_medians": width_stats(np.array(estimated.get(label, []))),
        }
        for label in sorted(per_label)
    }


def markdown(result: dict) -> str:
    lines = [
        "# PTB-XL beat labels: counts and spot-check",
        "",
        "Written by `benchmarks/ptbxl_label_report.py` (figures in `ptbxl_labels.json`).",
        f"Dominant-beat test in records with PVC/PAC statements: drop a beat whose RR before is "
        f"< {PREMATURE_RR_RATIO} x the record's median RR or whose correlation with the "
        f"record's median beat is < {MIN_CORRELATION}. Lead II.",
        "",
        "| split | label | records | with PVC/PAC | patients | beats | dropped as ectopic "
        "| test's drop rate w/o PVC/PAC |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for split in SPLITS:
        for label in LABELS:
            c = result["splits"][split]["II"]["counts"][label]
            lines.append(
                f"| {split} | {label} | {c['records_with_beats']} | "
                f"{c['records_with_ectopy_statement']} | {c['patients']} | {c['beats']} | "
                f"{c['beats_dropped_as_ectopic']} | "
                f"{c['share_test_would_drop_without_ectopy_statement']:.1%} |"
            )
    lines += [
        "",
        "QRS width (`context.qrs_widths`) per label, all splits, beats: median [IQR] ms, "
        "share >= 120 ms",
        "",
        "| lead | label | beats | median [IQR] ms | >= 120 ms | records' medians >= 120 ms |",
        "|---|---|---:|---|---:|---:|",
    ]
    for lead in LEADS:
        for label in LABELS:
            s = result["qrs_width_all_splits"][lead][label]
            b, r = s["beats"], s["record_medians"]
            lines.append(
                f"| {lead} | {label} | {b['n']} | {b['median_ms']} [{b['iqr_ms'][0]}, "
                f"{b['iqr_ms'][1]}] | {b['share_ge_120ms']:.0%} | {r['share_ge_120ms']:.0%} |"
            )
    lines += [
        "",
        "LUDB: the rule on the header diagnoses; lead II QRS duration per record (median of "
        "its beats): cardiologists' delineation and `context.qrs_widths`",
        "",
        "| label | records | annotated median [IQR] ms | annotated >= 120 ms "
        "| estimated median [IQR] ms |",
        "|---|---:|---|---:|---|",
    ]
    for label, s in result["ludb"].items():
        a, e = s["annotated_qrs_record_medians"], s["qrs_widths_record_medians"]
        lines.append(
            f"| {label} | {s['records']} | {a['median_ms']} [{a['iqr_ms'][0]}, {a['iqr_ms'][1]}] "
            f"| {a['share_ge_120ms']:.0%} | {e['median_ms']} [{e['iqr_ms'][0]}, {e['iqr_ms'][1]}] |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    ptbxl, ludb = default_ptbxl_dir(), default_ludb_dir()
    if ptbxl is None or ludb is None:
        print(
            "PTB-XL or LUDB not found (../shared/data or $PTBXL_DIR / $LUDB_DIR)", file=sys.stderr
        )
        return 2
    started = time.perf_counter()
    splits = ptbxl_splits(load_ptbxl_table(ptbxl))
    result: dict = {
        "rule": [{"label": k, "when": v} for k, v in BEAT_LABEL_RULES],
        "dominant_beat_test": {
            "premature_rr_ratio": PREMATURE_RR_RATIO,
            "min_correlation": MIN_CORRELATION,
        },
        "model_fs": MODEL_FS,
        "splits": {},
        "qrs_width_all_splits": {},
    }
    widths_by_lead: dict[str, dict[str, list]] = {}
    for split in SPLITS:
        chosen = labelled_records(splits[split])
        result["splits"][split] = {}
        for lead in LEADS:
            beats = build_ptbxl_beats(ptbxl, split, lead=lead, workers=args.workers)
            counts, spot, raw = split_report(beats, chosen)
            result["splits"][split][lead] = {"counts": counts, "qrs_width": spot}
            for label, (beat_widths, record_medians) in raw.items():
                store = widths_by_lead.setdefault(lead, {}).setdefault(label, [[], []])
                store[0].append(beat_widths)
                store[1].append(record_medians)
            print(
                f"{split} {lead}: {len(beats.table)} beats ({time.perf_counter() - started:.0f} s)"
            )
    for lead, per_label in widths_by_lead.items():
        result["qrs_width_all_splits"][lead] = {
            label: {
                "beats": width_stats(np.concatenate(v[0])),
                "record_medians": width_stats(np.concatenate(v[1])),
            }
            for label, v in per_label.items()
        }
    result["ludb"] = ludb_report(ludb)
    result["seconds"] = round(time.perf_counter() - started, 1)
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(result, indent=2) + "\n")
    OUT_MD.write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
