"""Issues 18 and 20: is asystole in a real recording listed as a pause? Spliced MIT-BIH records.

    python benchmarks/asystole_splice.py [--data-dir DIR] [--records 101,106] [--minutes 10]
                                         [--out PATH]

MIT-BIH has no pause long enough to empty a 5-s quality segment (the longest is 5.87 s, record
232), so the quiet-segment rule (``QualityThresholds.quiet_share``, kept by
``benchmarks/pause_quiet_ds1.py``) was only seen at work on synthetic ECG. Here real
recordings get real-looking asystole: after a reference beat, past its T wave (``CUT_AFTER_S``),
``GAP_S`` seconds of that record's own diastolic baseline are inserted (the samples between the
T wave and the next P wave, ``BASELINE_S``, mirrored back and forth so the trace stays
continuous; both leads), and every later beat moves on by the inserted length. One splice every
``EVERY_S`` seconds, the lengths cycling through ``GAP_S``; each splice is one reference pause.

Scored: a splice is found when a detected pause overlaps it; detected pauses overlapping no
reference pause (spliced or the record's own) are false. Two paths: the quality path of
``pause_quiet_ds1.py`` (detection, quality, no classifier: with the quiet rule off and on), and
the app (``analyse`` with the shipped recording model, the rule on; its ``summary["episodes"]``,
edge pauses included). Nothing is chosen here (the rule was kept on DS1 before this existed);
run on DS1 by default, ``--records`` for DS2. Writes ``benchmarks/results/asystole_splice.json``.
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

from benchmarks.noise_stress import parsed_excerpt  # noqa: E402
from benchmarks.pause_quiet_ds1 import (  # noqa: E402
    SETTINGS,
    condition,
    false_pauses,
    overlaps,
    reference_pauses,
)
from benchmarks.recording_model_option import recording_registry  # noqa: E402
from ecg.classes import BEAT_SYMBOLS, DS1_RECORDS  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402

GAP_S = (3.0, 5.0, 7.0, 10.0)
EVERY_S = 60.0
FIRST_S = 30.0
CUT_AFTER_S = 0.45  # past the T wave of the beat before the asystole
BASELINE_S = (0.45, 0.2)  # the diastolic baseline: 0.45 s after a beat to 0.2 s before the next


def _filler(signal: np.ndarray, start: int, stop: int, n: int) -> np.ndarray:
    """``n`` samples of ``signal[start:stop]`` mirrored back and forth (continuous at the
    joins)."""
    piece = signal[start:stop]
    cycle = np.concatenate([piece, piece[::-1]])
    reps = int(np.ceil(n / cycle.size)) + 1
    tiled = np.tile(cycle, reps)[:n]
    return tiled - tiled[0] + signal[start]  # joins the cut without a step


def spliced(parsed) -> tuple[Any, list[tuple[float, float]], list[float]]:
    """``parsed`` with asystole inserted, each splice's (start, end) in seconds (the beats
    either side), and the RR interval those two beats had before."""
    fs = parsed.fs
    is_beat = np.isin(parsed.ann_symbols, list(BEAT_SYMBOLS))
    beats = parsed.ann_samples[is_beat]
    pieces, cursor, inserted, gaps, own_rr = [], 0, 0, [], []
    shifts = np.zeros(parsed.ann_samples.size, dtype=np.int64)
    for k, at in enumerate(np.arange(FIRST_S, parsed.duration_s - 15.0, EVERY_S)):
        i = int(np.searchsorted(beats, at * fs))
        if i + 1 >= beats.size:
            break
        lo = beats[i] + int(BASELINE_S[0] * fs)
        hi = beats[i + 1] - int(BASELINE_S[1] * fs)
        if hi - lo < int(0.05 * fs):  # no baseline between these beats (fast or premature)
            continue
        cut = beats[i] + int(CUT_AFTER_S * fs)
        n = int(GAP_S[k % len(GAP_S)] * fs)
        pieces.append(parsed.signals[:, cursor:cut])
        pieces.append(np.stack([_filler(lead, lo, hi, n) for lead in parsed.signals]))
        cursor = cut
        shifts[parsed.ann_samples >= cut] += n
        gaps.append(((beats[i] + inserted) / fs, (beats[i + 1] + inserted + n) / fs))
        own_rr.append((beats[i + 1] - beats[i]) / fs)
        inserted += n
    pieces.append(parsed.signals[:, cursor:])
    signals = np.concatenate(pieces, axis=1).astype(np.float32)
    return replace(parsed, signals=signals, ann_samples=parsed.ann_samples + shifts), gaps, own_rr


def _score(detected: list[tuple[float, float]], gaps: list[tuple[float, float]],
           reference: list[tuple[float, float]]) -> dict[str, Any]:  # fmt: skip
    return {
        "found": [overlaps(g, detected) for g in gaps],
        "false_pauses": false_pauses(detected, reference),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--records", default=",".join(DS1_RECORDS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/asystole_splice.json"))
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    bundle = recording_registry(ROOT / "models").serving_bundle(task="recording")
    started = time.perf_counter()
    rows: dict[str, dict[str, Any]] = {}
    for record in [r for r in args.records.split(",") if r]:
        parsed, gaps, own_rr = spliced(parsed_excerpt(data_dir, record, args.minutes))
        reference = reference_pauses(parsed)  # the record's own and the spliced ones
        quality_path = condition(parsed, None)
        analysis = analyse(parsed, bundle)
        app = [(e["start_s"], e["end_s"]) for e in analysis.summary["episodes"]
               if e["kind"] == "pause"]  # fmt: skip
        rows[record] = {
            "splices": [(round(s, 2), round(e, 2)) for s, e in gaps],
            # the inserted length: the gap between the two beats less their own RR interval
            "inserted_s": [round(e - s - rr, 1) for (s, e), rr in zip(gaps, own_rr, strict=True)],
            **{f"quality_path_{name}": _score(quality_path[name]["pauses"], gaps, reference)
               for name in SETTINGS},
            "app": _score(app, gaps, reference),
        }  # fmt: skip
        found = sum(rows[record]["app"]["found"])
        print(f"{record}: app found {found} of {len(gaps)} splices, "
              f"{rows[record]['app']['false_pauses']} false pauses "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip

    def pooled(path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for gap in (None, *GAP_S):
            hits = [f for r in rows.values()
                    for f, g in zip(r[path]["found"], r["inserted_s"], strict=True)
                    if gap is None or g == gap]  # fmt: skip
            key = "all" if gap is None else f"{gap:g}_s"
            share = round(sum(hits) / len(hits), 4) if hits else None
            out[key] = {"splices": len(hits), "found": int(sum(hits)), "sensitivity": share}
        out["false_pauses"] = sum(r[path]["false_pauses"] for r in rows.values())
        return out

    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "records": list(rows),
        "minutes_per_record": args.minutes,
        "gap_s": list(GAP_S),
        "every_s": EVERY_S,
        "pooled": {
            path: pooled(path) for path in [*(f"quality_path_{n}" for n in SETTINGS), "app"]
        },
        "per_record": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["pooled"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
