"""Issue 19: strips on ECG paper wider than the digitiser's working width (scans at 200-350 dpi).

    python benchmarks/digitise_wide_scans.py [--cases 40] [--seed 1]

An image wider than ``digitise.MAX_WIDTH`` (2,600 px) is reduced before it is read: a 10-s strip
scanned at 300 dpi (11.8 px/mm) is about 3,000 px wide, a 30-s one 9,000. The image property
tests pinned two defects of that reduction: the grid's period misread once the 1 mm lines
blur together (47.9 s at 10.5 px/mm read as 18.4 s), and a 1-px trace greyed by the averaging
past the brightness cut between trace and grid (R waves lost). The change measured: the pink
grid's period and rotation read on a full-resolution crop (``full_resolution_grid``), and the
image reduced keeping each block's darkest pixel (``ink_pooled``) when it has that grid.

Cases: synthetic strips (``tests/hostile``'s ``long_ecg``, no database) drawn by the property
tests' ``paper_case`` wider than 2,600 px: 8-14 px/mm, 8-40 s, 45-150 a minute, 0.6-2.0 mV,
1-3 px lines, pink paper twice as often as grey, a third turned by up to 2 degrees, half saved
as JPEG (quality 60-95). A reading is *right* when the trace is read at the grid's scale with
its duration and px/mm within 3 %, every R wave (peaks over half the tallest) found, and the
median R height within 15 %.

The change was developed on ``--seed 0`` (30 cases, right before / after: 9 / 23). Tried
there and dropped: spreading the darkest ink over each block before averaging (all ink: 20; the
trace's darkest core only, or the ink that is not pink: 21-24, but a JPEG-tinted 1-px line then
lost its R waves, greyed unevenly against the cut); reading the grid at full resolution alone
(11). The grid's angle from the crop was added last (21 -> 23).

The rule, written before the held-out figures: it ships if on ``--seed 1`` (40 cases, never
looked at) the right readings rise and at most one case read right before is read wrong after.
Writes ``benchmarks/results/digitise_wide_scans.json``.

Version 2 (``--version 2``, after version 1 shipped: pink 9 -> 26 of 30 on seed 1, grey paper
0 of 10 either way): paper that is not pink too, its grid found at full resolution by
``paper_grid_angle``, the image then pooled alike. Developed on the grey cases of seeds 0 and
1 (right with version 1 / 2: 2 / 4 of 8 and 0 / 6 of 10, none newly wrong); judged by the same
rule on ``--seed 2`` (40 new cases) against version 1 (the arm ``pink_only``), written before
its figures. Writes ``digitise_wide_scans_v2.json``.

Version 3 (``--version 3``, after version 2 shipped: 24 -> 35 of 40 on seed 2, the five still
wrong 1-px lines turned by 1.4-2.0 degrees): an image whose grid is turned is turned upright at
full resolution, before the reduction (``TURN_AT_FULL_RESOLUTION``), not after it. Developed
on the turned cases of seeds 0-2 (right with version 2 / 3: 23 / 36 of 38, none newly wrong);
judged by the same rule on ``--seed 3`` (40 new cases) against version 2 (the arm
``turned_reduced``), written before its figures. Writes ``digitise_wide_scans_v3.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecgsite.settings")

MAX_NEWLY_WRONG = 1


# Each arm's full-resolution grid reader, from the shipped one: "before" reads none (the image
# averaged down, its grid read at the reduced size), "pink_only" version 1, "after" the code.
def _pink_only(reader):
    def read(rgb):
        found = reader(rgb)
        return found if found is not None and found.pink else None

    return read


# (reader, whether a turned grid is turned upright before the reduction) of each arm:
# "turned_reduced" is version 2, "after" the code.
ARMS = {
    "before": (lambda reader: lambda rgb: None, False),
    "pink_only": (_pink_only, False),
    "turned_reduced": (lambda reader: reader, False),
    "after": (lambda reader: reader, True),
}
BASE = {1: "before", 2: "pink_only", 3: "turned_reduced"}  # what each version is judged against


def _case(rng: np.random.Generator, i: int):
    from tests.hostile.test_image_properties import FS, long_ecg, paper_case

    px = float(rng.uniform(8, 14))
    duration = float(rng.uniform(8, 40))
    bpm = float(rng.uniform(45, 150))
    line = int(rng.integers(1, 4))
    paper = str(rng.choice(["pink", "pink", "grey"]))
    degrees = float(rng.choice([0.0, 0.0, rng.uniform(-2, 2)]))
    quality = None if rng.random() < 0.5 else int(rng.integers(60, 95))
    amp = float(rng.uniform(0.6, 2.0))
    if (duration * 25 + 10) * px <= 2600:  # wider than MAX_WIDTH, always
        duration = 2700 / px / 25 + 1
    x = long_ecg(FS, duration, rr_s=60 / bpm, seed=i % 4) * amp
    case = paper_case(x, px_per_mm=px, duration=duration, bpm=bpm, amp=amp, line=line,
                      quality=quality, degrees=degrees, paper=paper, seed=i % 4)  # fmt: skip
    params = {"px_per_mm": round(px, 2), "duration_s": round(duration, 1), "line": line,
              "paper": paper, "degrees": round(degrees, 2), "jpeg_quality": quality,
              "width_px": case.truth["width"]}  # fmt: skip
    return case, x, params


def r_wave_reading(case, x: np.ndarray, px_per_mm: float) -> tuple[dict, object | None]:
    """``check_ecg_image``'s reading of ``case`` against the signal ``x`` drawn in it at
    ``px_per_mm``: its status and scale source, the R waves (peaks over half the tallest) found
    of the true ones and, on a grid reading that found any, its px/mm and median R height
    errors; with the digitised trace (None when refused or flagged)."""
    from ecg.imaging.ecg_check import check_ecg_image
    from tests.hostile.test_image_properties import FS, decoded

    verdict = check_ecg_image(decoded(case.data))
    d = verdict.digitised
    if d is None or verdict.status != "ecg":
        return {"status": verdict.status}, None
    truth = x - np.median(x)
    r_true, _ = find_peaks(truth, height=0.5 * truth.max(), distance=int(0.25 * FS))
    read = d.signal - np.median(d.signal)
    r_read, _ = find_peaks(read, height=0.5 * read.max(), distance=max(1, int(0.25 * d.fs)))
    out = {"status": "ecg", "scale_source": d.scale_source,
           "r_waves": f"{r_read.size}/{r_true.size}"}  # fmt: skip
    if d.scale_source == "grid" and d.px_per_mm is not None and r_read.size > 0:
        out["px_per_mm_error"] = round(d.px_per_mm / px_per_mm - 1, 3)
        out["r_height_error"] = round(
            float(np.median(read[r_read]) / np.median(truth[r_true]) - 1), 3
        )
    return out, d


def read_at_grid(out: dict) -> bool:
    """An ``r_wave_reading`` at the grid's scale within 3 %, every R wave found and the
    median R height within 15 %."""
    found, true = out["r_waves"].split("/")
    return bool(
        "r_height_error" in out
        and abs(out["px_per_mm_error"]) < 0.03
        and found == true
        and abs(out["r_height_error"]) < 0.15
    )


def _reading(case, x: np.ndarray, params: dict) -> dict:
    from tests.hostile.test_image_properties import FS

    out, d = r_wave_reading(case, x, params["px_per_mm"])
    if d is None:
        return out | {"right": False}
    out["duration_error"] = round(d.duration_s / params["duration_s"] - 1, 3)
    out["right"] = read_at_grid(out) and abs(d.duration_s / (len(x) / FS) - 1) < 0.03
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--version", type=int, choices=sorted(BASE), default=1)
    parser.add_argument(
        "--out", default=None, help="default: results/digitise_wide_scans[_v2].json"
    )
    args = parser.parse_args(argv)
    suffix = "" if args.version == 1 else f"_v{args.version}"
    out_path = Path(args.out or ROOT / f"benchmarks/results/digitise_wide_scans{suffix}.json")
    import django

    django.setup()
    import ecg.imaging.digitise as digitise

    reader = digitise.full_resolution_grid
    rng = np.random.default_rng(args.seed)
    rows = []
    for i in range(args.cases):
        case, x, params = _case(rng, i)
        row = {"case": params}
        for arm, (wrap, turn) in ARMS.items():
            digitise.full_resolution_grid = wrap(reader)
            digitise.TURN_AT_FULL_RESOLUTION = turn
            row[arm] = _reading(case, x, params)
        digitise.full_resolution_grid = reader
        digitise.TURN_AT_FULL_RESOLUTION = True
        rows.append(row)
    right = {arm: sum(r[arm]["right"] for r in rows) for arm in ARMS}
    by_paper = {
        paper: {arm: sum(r[arm]["right"] for r in rows if r["case"]["paper"] == paper)
                for arm in ARMS} | {"cases": sum(r["case"]["paper"] == paper for r in rows)}
        for paper in ("pink", "grey")
    }  # fmt: skip
    base = BASE[args.version]
    newly_wrong = [r["case"] for r in rows if r[base]["right"] and not r["after"]["right"]]
    ship = right["after"] > right[base] and len(newly_wrong) <= MAX_NEWLY_WRONG
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": args.seed,
        "version": args.version,
        "judged_against": base,
        "rule": {"right_readings_rise": True, "newly_wrong_at_most": MAX_NEWLY_WRONG},
        "cases": len(rows),
        "right": right,
        "right_by_paper": by_paper,
        "newly_wrong": newly_wrong,
        "ship": bool(ship),
        "rows": rows,
    }
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("cases", "right", "right_by_paper", "newly_wrong",
                                          "ship")}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
