"""Issue 18's noise stress test: does the app say "unreadable / uncertain" where noise hides the
ECG, and stay quiet on clean ECG?

    python benchmarks/noise_stress.py [--data-dir DIR] [--records 100,103] [--minutes 30]

Every MIT-BIH DS2 record (test patients only: nothing here chooses a parameter) is analysed by
the app's own path (``ecg.recording_analysis.analyse`` with the shipped recording model, as
served) clean, then with synthetic baseline wander + muscle + electrode-motion noise
(``ecg.training.noise_stress``) in the NST's pattern (5 clean minutes, then 2 minutes noisy,
2 clean...) at SNR 24, 18, 12, 6, 0 and -6 dB. Detected beats are matched to the reference
beats (150 ms); a reference beat's class is its six-class label (beats outside the six classes
are left out of accuracy). Per SNR, for beats in noisy and in clean segments: the share
unreadable, the share uncertain, and the accuracy of the answered (classified) beats, pooled,
with 95 % intervals over records (bootstrap). Also: the flutter runs the app reports (``VFL``
episodes; DS2 has no flutter, so every one is false), pure noise / flat line / a sine (no beat
may be reported with a class), and real noise: PTB-XL fold-10 records whose annotators noted
drift, noise or electrode problems (``ptbxl_real_noise``; ``--ptbxl-only`` runs that part alone,
a few minutes, into ``noise_stress_ptbxl.json``).

The quality thresholds were chosen on DS1 (``benchmarks/quality_ds1.py``), never here.

Writes ``benchmarks/results/noise_stress.json``; ``--model recording_two_lead`` runs another
installed recording model into ``noise_stress_two_lead.json`` (``recording_model_option``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recording_model_option import recording_registry, results_path  # noqa: E402
from ecg.classes import DS2_RECORDS, class_codes  # noqa: E402
from ecg.dsp.detection import DetectionError, detect_beats, match_to_reference  # noqa: E402
from ecg.features.beats import labels_for  # noqa: E402
from ecg.io.recording_io import Limits, parse_upload  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402
from ecg.training import noise_stress as nst  # noqa: E402

SNRS_DB = (24, 18, 12, 6, 0, -6)
TARGETS = {
    "noisy_not_answered_at_or_below_0_db": 0.90,
    "clean_ds2_not_answered_at_most": 0.02,
    "accuracy_answered_24_db": 0.97,
    "accuracy_answered_12_db": 0.90,
    "false_flutter_runs": 0,
}
RESAMPLES = 1000


def parsed_excerpt(data_dir: Path, record: str, minutes: float):
    named = {
        f"{record}{ext}": (data_dir / f"{record}{ext}").read_bytes()
        for ext in (".hea", ".dat", ".atr")
    }
    # through the upload parser, so the lead is the one the app analyses (record 114 stores V5
    # first and MLII second: parse_wfdb alone would hand over V5)
    parsed = parse_upload(list(named.items()), limits=Limits(max_bytes=10**9))
    n = min(parsed.n_samples, int(round(minutes * 60 * parsed.fs)))
    keep = parsed.ann_samples < n
    return replace(
        parsed,
        signals=parsed.signals[:, :n],
        ann_samples=parsed.ann_samples[keep],
        ann_symbols=parsed.ann_symbols[keep],
    )


def with_noise(parsed, record: str, snr: float, mask: np.ndarray):
    """``parsed`` with the synthetic noise mix added where ``mask`` is true, at ``snr`` dB
    (seeded by record and SNR, so every run and the DS1 selection see the same noise)."""
    rng = np.random.default_rng([int(record), int(snr) + 100])
    noisy = np.stack([
        nst.add_noise(lead, parsed.fs, r_peaks=parsed.ann_samples, snr_db=snr,
                      noise=nst.noise_mix(lead.size, parsed.fs, rng), mask=mask)
        for lead in parsed.signals
    ])  # fmt: skip
    return replace(parsed, signals=noisy)


def _counts(analysis, parsed, mask: np.ndarray) -> dict[str, dict[str, int]]:
    """Per segment kind (noisy / clean): reference beats, matched, unreadable, uncertain,
    answered with a six-class reference, correct among those."""
    codes = np.array([*class_codes("six"), ""])  # index -1: outside the six classes
    reference = codes[labels_for(np.asarray(parsed.ann_symbols), "six")]
    samples = analysis.beats.samples
    states = np.asarray(analysis.states)
    labels = analysis.beats.labels
    matched = match_to_reference(parsed.ann_samples, samples, parsed.fs)
    out = {}
    for kind, want in (("noisy", True), ("clean", False)):
        in_kind = mask[np.clip(samples, 0, mask.size - 1)] == want
        m = in_kind & (matched >= 0)
        ref = np.where(matched >= 0, reference[np.clip(matched, 0, None)], "")
        answered = m & (states == "classified") & (ref != "")
        out[kind] = {
            "reference_beats": int((mask[parsed.ann_samples] == want).sum()),
            "detected": int(in_kind.sum()),
            "matched": int(m.sum()),
            "unreadable": int((m & (states == "unreadable")).sum()),
            "uncertain": int((m & (states == "uncertain")).sum()),
            "answered_with_reference": int(answered.sum()),
            "correct": int((answered & (labels == ref)).sum()),
        }
    return out


def _flutter_runs(analysis) -> int:
    """Flutter runs the app reports (``VFL`` episodes: 3+ classified ``!`` beats, none across
    an unreadable beat or stretch)."""
    return sum(1 for e in analysis.summary["episodes"] if e["kind"] == "VFL")


def _pooled(per_record: list[dict[str, int]], num: tuple[str, ...], den: str) -> dict:
    """The pooled ratio sum(num) / sum(den) and its 95 % interval over records (bootstrap)."""
    nums = np.array([sum(r[k] for k in num) for r in per_record])
    denominators = np.array([r[den] for r in per_record])
    total = denominators.sum()
    value = float(nums.sum() / total) if total else None
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, len(per_record), len(per_record))
        d = denominators[pick].sum()
        if d:
            draws.append(nums[pick].sum() / d)
    interval = [round(float(q), 4) for q in np.percentile(draws, [2.5, 97.5])] if draws else None
    return {"value": None if value is None else round(value, 4), "interval_95": interval,
            "n": int(total)}  # fmt: skip


def _summary(per_record: list[dict[str, dict[str, int]]]) -> dict[str, Any]:
    out = {}
    for kind in ("noisy", "clean"):
        rows = [r[kind] for r in per_record]
        if not sum(r["matched"] for r in rows):
            continue
        out[kind] = {
            "not_answered_share": _pooled(rows, ("unreadable", "uncertain"), "matched"),
            "unreadable_share": _pooled(rows, ("unreadable",), "matched"),
            "uncertain_share": _pooled(rows, ("uncertain",), "matched"),
            "accuracy_answered": _pooled(rows, ("correct",), "answered_with_reference"),
            "detection_sensitivity": _pooled(rows, ("matched",), "reference_beats"),
        }
    return out


def _synthetic_checks(bundle) -> dict[str, Any]:
    """Inputs with no ECG at all: no beat may come back with a class."""
    from ecg.io.recording_base import ParsedRecording

    fs, n = 360.0, int(60 * 360)
    rng = np.random.default_rng(0)
    t = np.arange(n) / fs
    cases = {
        "gaussian_noise_0.02_mV": rng.normal(0, 0.02, n),
        "flat_line": np.zeros(n),
        "sine_1.2_Hz_1_mV": np.sin(2 * np.pi * 1.2 * t),
    }
    out = {}
    for name, x in cases.items():
        parsed = ParsedRecording(name=name, format="csv", fs=fs, lead_names=["lead 1"],
                                 signals=x[None].astype(np.float32), lead_index=0,
                                 source_files=[])  # fmt: skip
        try:
            analysis = analyse(parsed, bundle)
        except DetectionError as exc:  # NoReadableSignal is one
            out[name] = {"classified_beats": 0, "outcome": f"refused: {exc}"}
            continue
        classified = int((np.asarray(analysis.states) == "classified").sum())
        out[name] = {"classified_beats": classified, "outcome": "analysed",
                     "beats": len(analysis.beats)}  # fmt: skip
    return out


def ptbxl_real_noise(bundle) -> dict[str, Any] | None:
    """Real noise: PTB-XL fold-10 records whose annotators noted baseline drift, static or burst
    noise or electrode problems (``ptbxl.has_noise_note``), lead II at 100 Hz, through
    ``analyse``. Only records with a conducted-beat label (``ptbxl.conducted_beat_label``) and
    no ectopy: every detected beat takes the record's label. Per record: detected beats,
    unreadable, uncertain, answered and correct; pooled with intervals over records. A record
    refused as "no readable ECG" counts all its detected beats as unreadable. Beside it, a
    control: as many fold-10 records without a noise note, same rules."""
    from ecg.io.ptbxl import TEST_FOLD, default_ptbxl_dir, load_ptbxl_table, noise_note_groups

    data_dir = default_ptbxl_dir()
    if data_dir is None:
        return None
    table = load_ptbxl_table(data_dir)
    fold = table[table["strat_fold"] == TEST_FOLD]
    noted, usable = noise_note_groups(fold)
    chosen = fold[noted & usable]
    # The control: as many records without a noise note (a fixed random draw), same rules.
    quiet = np.flatnonzero(~noted & usable)
    picked = np.sort(np.random.default_rng(0).choice(quiet, min(len(chosen), len(quiet)),
                                                     replace=False))  # fmt: skip
    control = _ptbxl_counts(data_dir, fold.iloc[picked], bundle)[0]
    rows, by_note = _ptbxl_counts(data_dir, chosen, bundle)

    def figures(part: list[dict[str, int]]) -> dict[str, Any]:
        return {
            "records": len(part),
            "not_answered_share": _pooled(part, ("unreadable", "uncertain"), "detected"),
            "unreadable_share": _pooled(part, ("unreadable",), "detected"),
            "accuracy_answered": _pooled(part, ("correct",), "answered"),
        }

    return {
        "set": "PTB-XL fold 10, noise noted (baseline_drift / static_noise / burst_noise / "
        "electrodes_problems), conducted-beat label, no ectopy; lead II, 100 Hz",
        "records_chosen": int(len(chosen)),
        "records_all_unreadable": sum(1 for r in rows if r["refused"]),
        "all": figures(rows),
        "by_note": {k: figures(v) for k, v in sorted(by_note.items())},
        "control_without_note": figures(control),
        "control_records_all_unreadable": sum(1 for r in control if r["refused"]),
        "per_record": rows,
    }


def _ptbxl_counts(data_dir, chosen, bundle) -> tuple[list[dict], dict[str, list[dict]]]:
    """Per record of ``chosen`` (PTB-XL table rows): beats detected, unreadable, uncertain,
    answered, correct; and the same rows grouped by noise note."""
    from benchmarks.two_lead_serving import ptbxl_lead_ii
    from ecg.io.ptbxl import NOISE_COLUMNS, conducted_beat_label
    from ecg.recording_analysis import NoReadableSignal

    rows: list[dict] = []
    by_note: dict[str, list[dict]] = {}
    for ecg_id, row in chosen.iterrows():
        record, parsed = ptbxl_lead_ii(data_dir, ecg_id)
        label = conducted_beat_label(row["scp_codes"])
        try:
            analysis = analyse(parsed, bundle)
            states = np.asarray(analysis.states)
            answered = states == "classified"
            correct = int((answered & (analysis.beats.labels == label)).sum())
        except NoReadableSignal:
            detected = len(detect_beats(record.signal, record.fs))
            states, answered, correct = np.full(detected, "unreadable"), np.zeros(0, bool), 0
        except DetectionError:  # no beat found: nothing to count
            continue
        counts = {
            "record": int(ecg_id),
            "patient": int(row["patient_id"]),
            "detected": int(states.size),
            "unreadable": int((states == "unreadable").sum()),
            "uncertain": int((states == "uncertain").sum()),
            "answered": int(answered.sum()),
            "correct": correct,
            "refused": bool(states.size and (states == "unreadable").all()),
        }
        rows.append(counts)
        for column in NOISE_COLUMNS:
            if isinstance(row.get(column), str) and row[column].strip(" ,"):
                by_note.setdefault(column, []).append(counts)
    return rows, by_note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--records", default=",".join(DS2_RECORDS))
    parser.add_argument("--minutes", type=float, default=30.0, help="per record, at least 7")
    parser.add_argument(
        "--model",
        default=None,
        help="the recording model to run (default: the served one, recording_mixed); a named "
        "model's results go to noise_stress_<name>.json unless --out says otherwise",
    )
    parser.add_argument("--out", default=None, help="JSON path (default noise_stress.json)")
    parser.add_argument(
        "--no-ptbxl",
        action="store_true",
        help="leave out the PTB-XL real-noise set (ptbxl_real_noise: null)",
    )
    parser.add_argument(
        "--ptbxl-only",
        action="store_true",
        help="only the PTB-XL real-noise set, into noise_stress_ptbxl.json",
    )
    args = parser.parse_args(argv)
    if problem := nst.excerpt_problem(args.minutes):  # it was KeyError: 'noisy'
        parser.error(problem)
    args.out = args.out or str(
        results_path(ROOT / "benchmarks/results/noise_stress.json", args.model)
    )
    registry = recording_registry(args.models_dir, args.model)
    bundle = registry.serving_bundle(task="recording")
    if args.ptbxl_only:
        started = time.perf_counter()
        real = ptbxl_real_noise(bundle)
        out_path = Path(args.out).with_name(
            results_path("noise_stress_ptbxl.json", args.model).name
        )
        out_path.write_text(json.dumps({
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": {"name": bundle.name, "version": bundle.version},
            "ptbxl_real_noise": real, "seconds": round(time.perf_counter() - started, 1),
        }, indent=1) + "\n")  # fmt: skip
        print(json.dumps(real and {k: real[k] for k in ("records_chosen", "all")}, indent=1))
        return 0
    data_dir = resolve_data_dir(args.data_dir)
    records = [r for r in args.records.split(",") if r]
    started = time.perf_counter()
    conditions: dict[str, list] = {"clean": []}
    conditions.update({f"{snr}_db": [] for snr in SNRS_DB})
    flutter_runs: dict[str, dict[str, int]] = {}
    for record in records:
        parsed = parsed_excerpt(data_dir, record, args.minutes)
        mask = nst.noisy_mask(parsed.n_samples, parsed.fs)
        clean = analyse(parsed, bundle)
        conditions["clean"].append(_counts(clean, parsed, mask))
        flutter_runs.setdefault("clean", {})[record] = _flutter_runs(clean)
        for snr in SNRS_DB:
            analysis = analyse(with_noise(parsed, record, snr, mask), bundle)
            conditions[f"{snr}_db"].append(_counts(analysis, parsed, mask))
            flutter_runs.setdefault(f"{snr}_db", {})[record] = _flutter_runs(analysis)
        print(f"{record}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    results = {name: _summary(rows) for name, rows in conditions.items()}
    # On the clean records every beat is "clean": the mask only marks where noise would go.
    clean_all = [
        {k: r["noisy"][k] + r["clean"][k] for k in r["noisy"]} for r in conditions["clean"]
    ]
    results["clean"] = {
        "all": _summary([{"noisy": row, "clean": row} for row in clean_all])["clean"]
    }
    checks = {
        "noisy_not_answered_at_or_below_0_db": {
            f"{snr}_db": results[f"{snr}_db"]["noisy"]["not_answered_share"]["value"]
            for snr in SNRS_DB if snr <= 0
        },
        "clean_ds2_not_answered": results["clean"]["all"]["not_answered_share"]["value"],
        "accuracy_answered_24_db": results["24_db"]["noisy"]["accuracy_answered"]["value"],
        "accuracy_answered_12_db": results["12_db"]["noisy"]["accuracy_answered"]["value"],
        "clean_ds2_accuracy_answered": results["clean"]["all"]["accuracy_answered"]["value"],
        "false_flutter_runs": {k: sum(v.values()) for k, v in flutter_runs.items()},
    }  # fmt: skip
    met = {
        "noisy_not_answered_at_or_below_0_db": all(
            v is not None and v >= TARGETS["noisy_not_answered_at_or_below_0_db"]
            for v in checks["noisy_not_answered_at_or_below_0_db"].values()
        ),
        "clean_ds2_not_answered": checks["clean_ds2_not_answered"]
        <= TARGETS["clean_ds2_not_answered_at_most"],
        "accuracy_answered_24_db": (checks["accuracy_answered_24_db"] or 0)
        >= TARGETS["accuracy_answered_24_db"],
        "accuracy_answered_12_db": (checks["accuracy_answered_12_db"] or 0)
        >= TARGETS["accuracy_answered_12_db"],
        "false_flutter_runs": sum(checks["false_flutter_runs"].values()) == 0,
    }
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": {"name": bundle.name, "version": bundle.version},
        "records": records,
        "minutes_per_record": args.minutes,
        "noise": "synthetic baseline wander + muscle + electrode motion, equal power "
        "(ecg.training.noise_stress); NST pattern: 5 min clean, then 2 min noisy / 2 min clean",
        "targets": TARGETS,
        "checks": checks,
        "targets_met": met,
        "by_condition": results,
        "flutter_runs_per_record": flutter_runs,
        "no_ecg_inputs": _synthetic_checks(bundle),
        "ptbxl_real_noise": None if args.no_ptbxl else ptbxl_real_noise(bundle),
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"checks": checks, "targets_met": met}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
