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
with 95 % intervals over records (bootstrap). Also: runs of 3 or more classified ``!`` beats
(DS2 has no flutter, so every one is false), and pure noise / flat line / a sine (no beat may
be reported with a class).

Writes ``benchmarks/results/noise_stress.json``.
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

from ecg.classes import DS2_RECORDS, class_codes  # noqa: E402
from ecg.dsp.detection import DetectionError, match_to_reference  # noqa: E402
from ecg.features.beats import labels_for  # noqa: E402
from ecg.io.recording_io import parse_wfdb  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.models.registry import ModelRegistry  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402
from ecg.training.noise_stress import add_noise, noise_mix, noisy_mask  # noqa: E402

SNRS_DB = (24, 18, 12, 6, 0, -6)
TARGETS = {
    "noisy_not_answered_at_or_below_0_db": 0.90,
    "clean_ds2_not_answered_at_most": 0.02,
    "accuracy_answered_24_db": 0.97,
    "accuracy_answered_12_db": 0.90,
    "false_flutter_runs": 0,
}
RESAMPLES = 1000


def _parsed(data_dir: Path, record: str, minutes: float):
    named = {
        f"{record}{ext}": (data_dir / f"{record}{ext}").read_bytes()
        for ext in (".hea", ".dat", ".atr")
    }
    parsed = parse_wfdb(named)
    n = min(parsed.n_samples, int(round(minutes * 60 * parsed.fs)))
    keep = parsed.ann_samples < n
    return replace(
        parsed,
        signals=parsed.signals[:, :n],
        ann_samples=parsed.ann_samples[keep],
        ann_symbols=parsed.ann_symbols[keep],
    )


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


def _flutter_runs(analysis, min_run: int = 3) -> int:
    shown = np.where(np.asarray(analysis.states) == "classified", analysis.beats.labels, "")
    runs, length = 0, 0
    for label in shown:
        length = length + 1 if label == "!" else 0
        if length == min_run:
            runs += 1
    return runs


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--records", default=",".join(DS2_RECORDS))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/noise_stress.json"))
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    registry = ModelRegistry(args.models_dir)
    bundle = registry.serving_bundle(task="recording")
    records = [r for r in args.records.split(",") if r]
    started = time.perf_counter()
    conditions: dict[str, list] = {"clean": []}
    conditions.update({f"{snr}_db": [] for snr in SNRS_DB})
    flutter_runs: dict[str, dict[str, int]] = {}
    for record in records:
        parsed = _parsed(data_dir, record, args.minutes)
        mask = noisy_mask(parsed.n_samples, parsed.fs)
        clean = analyse(parsed, bundle)
        conditions["clean"].append(_counts(clean, parsed, mask))
        flutter_runs.setdefault("clean", {})[record] = _flutter_runs(clean)
        for snr in SNRS_DB:
            rng = np.random.default_rng([int(record), snr + 100])
            noisy = np.stack([
                add_noise(lead, parsed.fs, r_peaks=parsed.ann_samples, snr_db=snr,
                          noise=noise_mix(lead.size, parsed.fs, rng), mask=mask)
                for lead in parsed.signals
            ])  # fmt: skip
            analysis = analyse(replace(parsed, signals=noisy), bundle)
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
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"checks": checks, "targets_met": met}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
