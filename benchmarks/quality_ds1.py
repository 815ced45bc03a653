"""Issue 18: choose the signal-quality thresholds on DS1 (the training patients), never DS2.

    python benchmarks/quality_ds1.py [--data-dir DIR] [--records 101,106] [--minutes 30]

No classifier is involved: every MIT-BIH DS1 record is run through the analysis's own detection
(``detect_beats``) and quality scoring (``recording_quality``), clean and with the stress
test's synthetic noise (``benchmarks/noise_stress.py``'s ``with_noise``: same noise, same NST
pattern) at 24 to -6 dB. The indices of every 5-s segment are kept, and each candidate setting
of ``QualityThresholds`` is applied to them (``readable_segments``). Per candidate: the share of
reference beats (every MIT-BIH beat symbol) in unreadable segments, in the noisy segments at
each SNR and in the clean records.

The rule, written down before any figure was looked at:

1. clean DS1 (all 22 records, whole excerpt): at most 1 % of the beats unreadable (pooled);
2. record 207's flutter beats (``!``), clean: at least 95 % readable (the flutter guard of
   ``tests/ml/test_quality.py``: the most dangerous rhythm is never hidden);
3. among those, the most noisy-segment beats unreadable, averaged over 6, 0 and -6 dB (each
   pooled over the records);
   If no candidate meets 1 and 2 (the first run found none; this fallback was written down
   after learning that and before seeing any figure), the limits become relative to the
   previous thresholds: clean share at most the previous one + 0.5 percentage point (or 1 %,
   the larger), flutter readable share at least the previous one (or 95 %, the smaller);
4. ties (within 0.1 percentage point): the lower clean share, then the candidate listed first
   (the grid starts from the previous thresholds, ``PREVIOUS``).

``--report`` chooses nothing: it scores only ``PREVIOUS`` and the shipped thresholds
(``QualityThresholds()``), for reporting on other records (DS2).

Writes ``benchmarks/results/quality_ds1.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import pickle
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.noise_stress import SNRS_DB, parsed_excerpt, with_noise  # noqa: E402
from ecg.classes import BEAT_SYMBOLS, DS1_RECORDS  # noqa: E402
from ecg.dsp.detection import detect_beats  # noqa: E402
from ecg.dsp.quality import QualityThresholds, readable_segments  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.recording_analysis import recording_quality  # noqa: E402
from ecg.training.noise_stress import noisy_mask  # noqa: E402

CLEAN_MAX = 0.01
FLUTTER_MIN_READABLE = 0.95
CHOSEN_ON_DB = (6, 0, -6)
# The grid: the current thresholds first, then every combination.
GRID = {
    "periodic": (0.3, 0.4, 0.5, 0.6, 0.7, 1.01),
    "template_floor": (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85),
    "agreement_good": (0.8, 0.9),
    "agreement_floor": (0.5, 0.6),
    "kurtosis_clean": (5.0, 7.0, 9.0),
}


# The thresholds before this selection (the literature's starting points): the grid's first row.
PREVIOUS = QualityThresholds(
    kurtosis_clean=5.0, agreement_good=0.8, agreement_floor=0.5, periodic=0.3, template_floor=0.0
)


def candidates() -> list[QualityThresholds]:
    grid = [replace(PREVIOUS, **dict(zip(GRID, values, strict=True)))
            for values in itertools.product(*GRID.values())]  # fmt: skip
    return [PREVIOUS, *[c for c in grid if c != PREVIOUS]]


def scored(parsed) -> dict[str, Any]:
    """The indices of every segment of the analysed lead, and each reference beat's segment."""
    peaks = detect_beats(parsed.signal, parsed.fs, second_lead=parsed.second_lead)
    quality = recording_quality(parsed.signal, parsed.fs, peaks)
    is_beat = np.isin(parsed.ann_symbols, list(BEAT_SYMBOLS))
    beats = parsed.ann_samples[is_beat]
    segment = np.clip(np.searchsorted(quality.ends, beats, side="right"), 0, quality.ends.size - 1)
    return {
        "indices": {
            "peak_to_peak_mv": quality.peak_to_peak_mv,
            "clipped_share": quality.clipped_share,
            "kurtosis": quality.kurtosis,
            "in_band_ratio": quality.in_band_ratio,
            "detector_agreement": quality.detector_agreement,
            "concentration": quality.concentration,
            "template_correlation": quality.template_correlation,
        },
        "beat_segment": segment,
        "beat_samples": beats,
        "flutter_segment": segment[parsed.ann_symbols[is_beat] == "!"],
    }


def unreadable_beats(score: dict[str, Any], thresholds: QualityThresholds,
                     in_kind: np.ndarray | None = None) -> tuple[int, int]:  # fmt: skip
    """(beats in unreadable segments, beats) of one scored record, over ``in_kind`` beats."""
    readable, _ = readable_segments(**score["indices"], thresholds=thresholds)
    segments = score["beat_segment"] if in_kind is None else score["beat_segment"][in_kind]
    return int((~readable[segments]).sum()), int(segments.size)


def _allowed(rows: list[dict[str, Any]], limits: dict[str, float]) -> list[dict[str, Any]]:
    return [
        r for r in rows
        if r["clean_unreadable_share"] <= limits["clean_at_most"]
        and (r["flutter_207_readable_share"] is None
             or r["flutter_207_readable_share"] >= limits["flutter_readable_at_least"])
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--records", default=",".join(DS1_RECORDS))
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/quality_ds1.json"))
    parser.add_argument("--cache", default=None, help="a file to keep (and reuse) the scores in")
    parser.add_argument(
        "--report",
        action="store_true",
        help="choose nothing: only the previous and the shipped thresholds (e.g. on DS2)",
    )
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    records = [r for r in args.records.split(",") if r]
    started = time.perf_counter()
    clean: dict[str, dict] = {}
    noisy: dict[int, dict[str, tuple[dict, np.ndarray]]] = {snr: {} for snr in SNRS_DB}
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        with cache.open("rb") as handle:
            clean, noisy = pickle.load(handle)  # our own file, written below
        records = [r for r in records if r not in clean]
    for record in records:
        parsed = parsed_excerpt(data_dir, record, args.minutes)
        mask = noisy_mask(parsed.n_samples, parsed.fs)
        clean[record] = scored(parsed)
        for snr in SNRS_DB:
            score = scored(with_noise(parsed, record, snr, mask))
            noisy[snr][record] = (score, mask[score["beat_samples"]])
        print(f"{record}: scored ({time.perf_counter() - started:.0f} s)", flush=True)
        if cache is not None:  # a long run's scores survive a failure after it
            with cache.open("wb") as handle:
                pickle.dump((clean, noisy), handle)
    records = list(clean)

    rows = []
    for thresholds in [PREVIOUS, QualityThresholds()] if args.report else candidates():
        counts = [unreadable_beats(s, thresholds) for s in clean.values()]
        clean_share = sum(c[0] for c in counts) / max(sum(c[1] for c in counts), 1)
        per_record_clean = {r: unreadable_beats(s, thresholds) for r, s in clean.items()}
        flutter = [s["flutter_segment"] for s in clean.values() if s["flutter_segment"].size]
        readable_flutter = None
        if flutter:
            verdicts = [readable_segments(**s["indices"], thresholds=thresholds)[0]
                        for s in clean.values() if s["flutter_segment"].size]  # fmt: skip
            hits = sum(int(v[f].sum()) for v, f in zip(verdicts, flutter, strict=True))
            readable_flutter = hits / sum(f.size for f in flutter)
        noisy_share = {}
        for snr, by_record in noisy.items():
            c = [unreadable_beats(s, thresholds, kind) for s, kind in by_record.values()]
            noisy_share[f"{snr}_db"] = round(sum(x[0] for x in c) / max(sum(x[1] for x in c), 1), 4)
        rows.append({
            "thresholds": asdict(thresholds),
            "clean_unreadable_share": round(clean_share, 4),
            "clean_worst_record": max(
                ((r, round(u / max(n, 1), 4)) for r, (u, n) in per_record_clean.items()),
                key=lambda item: item[1]),
            "flutter_207_readable_share": None if readable_flutter is None
            else round(readable_flutter, 4),
            "noisy_unreadable_share": noisy_share,
            "score": round(float(np.mean([noisy_share[f"{s}_db"] for s in CHOSEN_ON_DB])), 4),
        })  # fmt: skip
    if args.report:
        out = {
            "description": "Unreadable shares of the previous (first row) and the shipped "
            "(second row) quality thresholds; nothing is chosen on these records.",
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "records": records,
            "minutes_per_record": args.minutes,
            "candidates": rows,
        }
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps(rows, indent=1))
        return 0
    limits = {"clean_at_most": CLEAN_MAX, "flutter_readable_at_least": FLUTTER_MIN_READABLE}
    allowed = _allowed(rows, limits)
    if not allowed:  # the fallback of rule 3: limits relative to the previous thresholds
        previous = rows[0]
        limits = {
            "clean_at_most": max(CLEAN_MAX, previous["clean_unreadable_share"] + 0.005),
            "flutter_readable_at_least": min(
                FLUTTER_MIN_READABLE, previous["flutter_207_readable_share"] or 1.0
            ),
        }
        allowed = _allowed(rows, limits)
    best_score = max(r["score"] for r in allowed)
    tied = [r for r in allowed if r["score"] >= best_score - 0.001]
    chosen = min(tied, key=lambda r: r["clean_unreadable_share"])
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "records": records,
        "minutes_per_record": args.minutes,
        "rule": {
            "clean_unreadable_at_most": CLEAN_MAX,
            "flutter_207_readable_at_least": FLUTTER_MIN_READABLE,
            "maximise_mean_noisy_unreadable_at_db": list(CHOSEN_ON_DB),
        },
        "grid": {k: list(v) for k, v in GRID.items()},
        "previous": rows[0],
        "chosen": chosen,
        "limits_applied": limits,
        "candidates_allowed": len(allowed),
        "candidates": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"previous": rows[0], "chosen": chosen}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
