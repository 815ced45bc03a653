"""Issue 18: do the signal-quality thresholds (chosen on DS1 at 360 Hz) hold at 100-500 Hz?

    python benchmarks/quality_rates.py [--records 101,106] [--minutes 30] [--ptbxl-per-group 300]

Nothing is chosen here unless a rate breaks the rule below. Three parts, all with the shipped
``QualityThresholds()`` and the analysis's own detection (``detect_beats``) and quality
scoring (``recording_quality``), as ``benchmarks/quality_ds1.py`` does:

* **DS1 resampled**: every MIT-BIH DS1 record (training patients), its first ``--minutes``
  (30 by default, as ``quality_ds1.py``: five clean minutes, then two noisy, two clean... in
  the NST pattern), resampled from
  360 Hz to 100, 250 and 500 Hz (``scipy.signal.resample_poly``; the reference beats moved to
  the new rate), clean and with the stress test's noise (``noise_stress.with_noise``, added at
  360 Hz before resampling, so every rate sees the same noise) at 6, 0 and -6 dB. Per rate: the
  share of reference beats in unreadable segments, clean (whole excerpt) and in the noisy
  segments at each SNR (pooled over records), and record 207's flutter beats readable.
* **PTB-XL folds 1-8** (never 9-10), lead II at 100 Hz: a fixed random draw (seed 0) of
  ``--ptbxl-per-group`` records with a noise note (static_noise, burst_noise, baseline_drift,
  electrodes_problems) and as many without. Per group: the share of detected beats in
  unreadable segments (pooled) and the share of records with no readable segment.
* **LUDB**, lead II at 500 Hz, all 200 records (none has a noise note; clean-ish): the share of
  annotated QRS complexes in unreadable segments.

The rule, written down before any figure was looked at: a rate **breaks** the thresholds when,
on DS1 resampled to it, (1) more than 1 % of the clean beats are unreadable (pooled; the DS1
rule's clean limit), or (2) the mean noisy-segment unreadable share over 6, 0 and -6 dB is more
than 10 percentage points below the same figure at 360 Hz (the native rate). PTB-XL and LUDB
are reported, not used to choose anything.

Writes ``benchmarks/results/quality_rates.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.noise_stress import parsed_excerpt, with_noise  # noqa: E402
from benchmarks.quality_ds1 import scored, unreadable_beats  # noqa: E402
from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.dsp.detection import DetectionError, detect_beats  # noqa: E402
from ecg.dsp.quality import QualityThresholds, beat_segment_reasons  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.recording_analysis import recording_quality  # noqa: E402
from ecg.training.noise_stress import noisy_mask  # noqa: E402

NATIVE_FS = 360
RATES = (100, 250, 360, 500)
SNRS = (6, 0, -6)
CLEAN_MAX = 0.01
NOISY_DROP_MAX = 0.10


def resampled(parsed, fs: int):
    """``parsed`` (at 360 Hz) resampled to ``fs``, its reference beats moved with it."""
    if fs == parsed.fs:
        return parsed
    ratio = Fraction(int(fs), int(parsed.fs))
    signals = sps.resample_poly(parsed.signals, ratio.numerator, ratio.denominator, axis=1)
    n = signals.shape[1]
    samples = np.clip(np.round(parsed.ann_samples * fs / parsed.fs).astype(np.int64), 0, n - 1)
    return replace(parsed, fs=float(fs), signals=signals.astype(np.float32), ann_samples=samples)


def _share(counts: list[tuple[int, int]]) -> float | None:
    total = sum(c[1] for c in counts)
    return round(sum(c[0] for c in counts) / total, 4) if total else None


def ds1_part(data_dir: Path, records: list[str], minutes: float) -> dict[str, Any]:
    thresholds = QualityThresholds()
    clean: dict[int, list] = {fs: [] for fs in RATES}
    noisy: dict[int, dict[int, list]] = {fs: {snr: [] for snr in SNRS} for fs in RATES}
    flutter: dict[int, list] = {fs: [] for fs in RATES}
    per_record: dict[str, dict[int, float]] = {}
    for record in records:
        parsed = parsed_excerpt(data_dir, record, minutes)
        mask = noisy_mask(parsed.n_samples, parsed.fs)
        noisy_parsed = {snr: with_noise(parsed, record, snr, mask) for snr in SNRS}
        per_record[record] = {}
        for fs in RATES:
            score = scored(resampled(parsed, fs))
            counts = unreadable_beats(score, thresholds)
            clean[fs].append(counts)
            per_record[record][fs] = round(counts[0] / max(counts[1], 1), 4)
            if score["flutter_segment"].size:
                verdict = _readable(score, thresholds)
                flutter[fs].append((int(verdict[score["flutter_segment"]].sum()),
                                    int(score["flutter_segment"].size)))  # fmt: skip
            for snr in SNRS:
                noisy_score = scored(resampled(noisy_parsed[snr], fs))
                # the reference beats keep their order, so the 360 Hz mask still marks them
                in_noise = mask[parsed_beats(parsed)]
                noisy[fs][snr].append(unreadable_beats(noisy_score, thresholds, in_noise))
        print(f"{record}: {per_record[record]}", flush=True)
    rates = {}
    for fs in RATES:
        noisy_share = {f"{snr}_db": _share(noisy[fs][snr]) for snr in SNRS}
        rates[str(fs)] = {
            "clean_unreadable_share": _share(clean[fs]),
            "noisy_unreadable_share": noisy_share,
            "noisy_mean_6_0_-6_db": round(float(np.mean(list(noisy_share.values()))), 4),
            "flutter_207_readable_share": _share(flutter[fs]) if flutter[fs] else None,
            "clean_worst_record": max(
                ((r, v[fs]) for r, v in per_record.items()), key=lambda item: item[1]
            ),  # fmt: skip
        }
    native = rates[str(NATIVE_FS)]["noisy_mean_6_0_-6_db"]
    for row in rates.values():
        row["breaks_rule"] = bool(
            row["clean_unreadable_share"] > CLEAN_MAX
            or row["noisy_mean_6_0_-6_db"] < native - NOISY_DROP_MAX
        )
    return {"records": records, "minutes_per_record": minutes, "rates": rates,
            "clean_per_record": per_record}  # fmt: skip


def parsed_beats(parsed) -> np.ndarray:
    """The reference beat samples ``scored`` counts (every MIT-BIH beat symbol)."""
    from ecg.classes import BEAT_SYMBOLS

    return parsed.ann_samples[np.isin(parsed.ann_symbols, list(BEAT_SYMBOLS))]


def _readable(score: dict[str, Any], thresholds: QualityThresholds) -> np.ndarray:
    from ecg.dsp.quality import readable_segments

    return readable_segments(**score["indices"], thresholds=thresholds)[0]


def _lead_counts(
    signal: np.ndarray, fs: float, peaks: np.ndarray | None = None, detector=detect_beats
) -> dict:
    """One lead's beats in unreadable segments, beats, whether no segment is readable, the
    beats detected and the unreadable beats' reasons; ``peaks`` are the beats to count
    (reference beats), else the detected ones. ``detector`` finds the beats (the app's
    ``detect_beats`` unless a candidate is measured)."""
    signal = np.asarray(signal, dtype=np.float64)
    try:
        detected = detector(signal, fs)
    except DetectionError:
        detected = np.empty(0, np.int64)
    quality = recording_quality(signal, fs, detected)
    beats = detected if peaks is None else np.asarray(peaks, np.int64)
    reasons = [r for r in beat_segment_reasons(quality, beats) if r]
    return {
        "unreadable": len(reasons),
        "beats": int(beats.size),
        "all_unreadable": bool(not quality.readable.any()),
        "detected": int(detected.size),
        "reasons": reasons,
    }


def _tally(counts: list[dict]) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    for c in counts:
        for r in c["reasons"]:
            reasons[r] = reasons.get(r, 0) + 1
    return {
        "records": len(counts),
        "beats": sum(c["beats"] for c in counts),
        "unreadable_share": _share([(c["unreadable"], c["beats"]) for c in counts]),
        "records_all_unreadable": sum(c["all_unreadable"] for c in counts),
        "unreadable_beats_by_reason": dict(sorted(reasons.items())),
    }


def ptbxl_part(per_group: int) -> dict[str, Any] | None:
    from ecg.io.ptbxl import (
        TRAIN_FOLDS,
        conducted_beat_label,
        default_ptbxl_dir,
        has_ectopy,
        has_noise_note,
        load_ptbxl_record,
        load_ptbxl_table,
    )

    data_dir = default_ptbxl_dir()
    if data_dir is None:
        return None
    table = load_ptbxl_table(data_dir)
    folds = table[table["strat_fold"].isin(TRAIN_FOLDS)]
    noted = folds.apply(has_noise_note, axis=1).to_numpy()
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"folds": sorted(int(f) for f in TRAIN_FOLDS), "lead": "II", "fs": 100}
    for name, want in (("with_noise_note", True), ("without_noise_note", False)):
        pool = np.flatnonzero(noted == want)
        picked = np.sort(rng.choice(pool, min(per_group, pool.size), replace=False))
        counts, plain = [], []
        for ecg_id in folds.index[picked]:
            record = load_ptbxl_record(data_dir, int(ecg_id))
            counts.append(_lead_counts(record.signal, record.fs))
            codes = folds.loc[ecg_id, "scp_codes"]
            if conducted_beat_label(codes) is not None and not has_ectopy(codes):
                plain.append(counts[-1])
        out[name] = {
            "records_available": int(pool.size),
            **_tally(counts),
            # the subset noise_stress.py's fold-10 set is drawn from: every beat conducted
            "conducted_beat_label_no_ectopy": _tally(plain),
        }
        print(f"PTB-XL {name}: {out[name]}", flush=True)
    return out


def ludb_part() -> dict[str, Any] | None:
    """LUDB lead II at its own 500 Hz and, as a control, resampled to 360 Hz (the rate the
    thresholds were chosen at): what changes between the two is the rate alone. Issue 18 adds
    ``500_hz_360_hz_search``: the 500 Hz lead with its beats found by the candidate detector
    of ``benchmarks/detection_rates.py`` (searched at 360 Hz, returned at 500 Hz), reported
    only."""
    from benchmarks.detection_rates import candidate_detect_beats  # here: it imports this module
    from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record

    data_dir = default_ludb_dir()
    if data_dir is None:
        return None
    runs = {"500_hz": (500, detect_beats), "360_hz": (360, detect_beats),
            "500_hz_360_hz_search": (500, candidate_detect_beats)}  # fmt: skip
    by_rate: dict[str, list[dict]] = {key: [] for key in runs}
    for name in list_ludb_records(data_dir):
        record = load_ludb_record(data_dir, name, lead="ii")
        qrs = np.asarray(record.delineation.qrs[:, 1], np.int64)
        signal = np.asarray(record.signal, np.float64)
        for key, (fs, detector) in runs.items():
            x = signal if fs == record.fs else sps.resample_poly(signal, fs, int(record.fs))
            reference = np.round(qrs * fs / record.fs).astype(np.int64)
            c = _lead_counts(x, fs, reference, detector)
            by_rate[key].append({"record": name, **c})
    out: dict[str, Any] = {"lead": "II"}
    for key, counts in by_rate.items():
        # a record whose detector finds under half its annotated QRS is a detection failure
        # (no beat of it would be shown), not a quality verdict: reported apart
        missed = [c for c in counts if c["detected"] < 0.5 * c["beats"]]
        found = [c for c in counts if c["detected"] >= 0.5 * c["beats"]]
        out[key] = {
            **_tally(counts),
            "records_detection_failed": [c["record"] for c in missed],
            "detection_ok": _tally(found),
            "records_with_unreadable_beats": [
                (c["record"], c["unreadable"], c["beats"], sorted(set(c["reasons"])))
                for c in found
                if c["unreadable"]
            ],
        }
        print(f"LUDB {key}: {out[key]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--records", default=",".join(DS1_RECORDS))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--ptbxl-per-group", type=int, default=300)
    parser.add_argument("--parts", default="ds1,ptbxl,ludb")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/quality_rates.json"))
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    started = time.perf_counter()
    out: dict[str, Any] = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "thresholds": QualityThresholds().__dict__,  # the shipped thresholds
        "rule": {
            "clean_unreadable_at_most": CLEAN_MAX,
            "noisy_mean_drop_from_360_hz_at_most": NOISY_DROP_MAX,
        },  # fmt: skip
    }
    if "ludb" in parts:
        out["ludb"] = ludb_part()
    if "ptbxl" in parts:
        out["ptbxl_folds_1_8"] = ptbxl_part(args.ptbxl_per_group)
    if "ds1" in parts:
        records = [r for r in args.records.split(",") if r]
        out["ds1_resampled"] = ds1_part(resolve_data_dir(args.data_dir), records, args.minutes)
    out["seconds"] = round(time.perf_counter() - started, 1)
    if parts != {"ds1", "ptbxl", "ludb"} and Path(args.out).is_file():
        # a rerun of some parts keeps the other parts' figures
        out = json.loads(Path(args.out).read_text()) | out
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "ds1_resampled"} | {
        "ds1": (out.get("ds1_resampled") or {}).get("rates")}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
