"""Printouts photographed at an angle: square the page from its grid first? (issue 19)

    nice -n 10 python benchmarks/digitise_photo_printout.py [--cases 12] [--workers 2]

Why: every photo benchmark so far photographed single strips and beats; docs/digitise.md said
"no photographed or scanned printout was tried". A probe of this session (not kept) drew four
printouts of the layout benchmark (``digitise_layout.draw``) and photographed them: square
photos read right, but a page with its left side 5 % shorter had its rhythm strip read at 10 s
with an aligned correlation of 0.38-0.56, and a page narrower at the top by 3 % at 10.25 s with
0.15-0.44, without a warning. ``perspective.column_scales`` reads a strip turned to one side,
but a rhythm strip cut from a turned page is also sloped and sheared, and a tilt towards the
top changes scale with the row. The candidate (``recording_image.SQUARE_PAGE``,
``ecg.imaging.page_perspective``): the grid's 5 mm spacing measured in 25 mm tiles over the
page, two planes fitted (one per line family), and when they tell the same vanishing line and
the page changes scale by 2-40 %, the page is squared (affine rectification) before its rows
are read. It was developed on that probe's first MIT-BIH DS1 validation printout (pink and grey
paper, turned 5 and 10 % to one side, 3 and 8 % at the top).

Images: the layout benchmark's printouts (``digitise_layout.draw``: 25 mm/s, 10 mm/mV, 8 px/mm,
lead names, 6 mm marks), pink and grey paper, "2x2+rhythm" (MIT-BIH: MLII and V1/V5 of three
10-s windows a record; PTB-XL: II, III, V1, V5) and LUDB's "3x4+rhythm"; each photographed
(``digitise_photo_lighting.photographed``: even light or a gradient, a warm or cool cast, noise,
JPEG 85) in one of five poses: square; turned to one side (left or right narrower by 3-10 %);
tilted (top or bottom narrower by 3-10 %); both (2-6 % each); turned to one side after a
1.5-degree rotation. Read by ``parse_image`` (the recording upload) with and without the
squaring. *Read right*: the rhythm strip read from its row, lasting 10 s within 3 %, correlating
with the truth at one lag (``aligned_scores``) at 0.8 or more.

PRINTOUT_RULE (written before this script's first run): the recording upload squares pages if
and only if, on the development sets (MIT-BIH DS1 validation records, PTB-XL fold 9, the
layout benchmark's choice), pooled:

1. printouts photographed at an angle (the four angled poses): read right rises by at least
   20 points;
2. no (paper, pose) cell, the square photos included, has more than one printout fewer read
   right;
3. printouts without a rhythm strip ("2x2", turned or tilted photos): none read as a
   recording with the squaring;
4. strip images (the lighting benchmark's strip renderers, square and turned 5 % to one side,
   DS1 validation records): no more than one fewer read right, and squared on none;
5. non-ECG images (the digitise benchmark's makers, 10 a kind): none read as a recording with
   the squaring that was not without it.

PTB-XL fold 10 and LUDB are reported after the decision. Results:
``benchmarks/results/digitise_photo_printout.json``.

PRINTOUT_RULE v1 was met (``digitise_photo_printout_v1.json``: angled development photos read
right 16.7 -> 71.9 %) and the squaring served. Its misreads, looked at on the development sets,
showed three causes: grey pages photographed turned (after a rotation, or 8 % to one side)
were not squared (not pink paper's own grid test fails on a turned, blurred photo: 1 of 24 read
right); pink pages whose middle read the 5 mm lines as 1 mm were not squared (tiles five times
too large); and the filled area around a squared photo met the paper in an edge. v2 of the
module: for paper that is not pink, faint lines in every row and column suffice (the planes'
checks stand), the tiles are tried at a fifth of the middle's scale when they fail at it, and
the squared page is cropped to the photo instead of filled.

PRINTOUT_RULE v2 (written after seeing v1's figures on every set, before v2's first run): the
same five checks as v1, on new draws (every photo's seed salted "v2"), and checks 1-3 must hold
on the report sets (PTB-XL fold 10, LUDB) as well, against the images read without the squaring;
v2 is served only if it meets them. Results: ``digitise_photo_printout.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import digitise_layout as DL  # noqa: E402
from benchmarks.digitise_benchmark import aligned_scores, non_ecg_makers  # noqa: E402
from benchmarks.digitise_photo_blur import keystoned  # noqa: E402
from benchmarks.digitise_photo_lighting import STRIP_RENDERERS, photographed, png  # noqa: E402
from ecg.io import recording_image  # noqa: E402
from ecg.io.recording_base import RecordingFormatError  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "digitise_photo_printout.json"
PAPERS = ("pink_tick", "grey_tick")
POSES = ("square", "side", "top", "side_and_top", "rotated_side")
ANGLED = POSES[1:]
FS = 360.0
MIN_CORR, DURATION_TOL = 0.8, 0.03
RULE_GAIN, RULE_CELL_LOSS = 0.20, 1
NON_ECG_PER_KIND = 10
DEVELOPMENT, REPORT = ("mitdb_ds1_val", "ptbxl_fold9"), ("ptbxl_fold10", "ludb")
DRAW = "v2"  # PRINTOUT_RULE v2's new draws (v1's seeds had no salt)


def with_squaring(on: bool):
    return mock.patch.object(recording_image, "SQUARE_PAGE", on)


def _share(pose: str, rng: np.random.Generator) -> float:
    """How much narrower one side is: 2-6 % each way when turned and tilted, else 3-10 %."""
    return float(rng.uniform(0.02, 0.06) if pose == "side_and_top" else rng.uniform(0.03, 0.1))


def posed(image: Image.Image, pose: str, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """``image`` as photographed in ``pose`` (see the module docstring), and how."""
    how: dict = {"pose": pose}
    if pose == "rotated_side":
        image = image.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=False,
                             fillcolor=(255, 255, 255))  # fmt: skip
    if pose in ("side", "rotated_side", "side_and_top"):
        share = _share(pose, rng)
        side = "right" if rng.random() < 0.5 else "left"
        how.update(side=side, side_share=round(share, 4))
        image = keystoned(image, side, share)
    if pose in ("top", "side_and_top"):
        share = _share(pose, rng)
        edge = "bottom" if rng.random() < 0.5 else "top"
        how.update(edge=edge, top_share=round(share, 4))
        image = keystoned(image, edge, share)
    return image, how


def read(data: bytes, truth: np.ndarray | None, on: bool) -> dict:
    """``data`` through the recording upload, with the squaring ``on`` or off."""
    with with_squaring(on):
        try:
            parsed = recording_image.parse_image("photo.jpg", data)
        except RecordingFormatError as exc:
            return {"read": False, "right": False, "why": str(exc)[:100]}
    out = {
        "read": True,
        "from_row": any(n.startswith("an ECG printout with") for n in parsed.notes),
        "squared": any("page squared" in n for n in parsed.notes),
    }
    x = parsed.signals[parsed.lead_index].astype(np.float64)
    out["duration_s"] = round(len(x) / parsed.fs, 3)
    if truth is not None:
        corr = aligned_scores(SimpleNamespace(signal=x, fs=parsed.fs), truth)["corr_aligned"]
        out["corr"] = round(float(corr), 4)
        out["right"] = bool(abs(out["duration_s"] / 10.0 - 1) <= DURATION_TOL and corr >= MIN_CORR)
    return out


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def printout_job(job: tuple) -> dict:
    """One printout photographed once, read with and without the squaring."""
    set_name, case, layout, paper, pose = job
    spec = case["layouts"][layout]
    rng = np.random.default_rng(_seed(DRAW, set_name, case["id"], layout, paper, pose))
    drawn = DL.draw(case, layout, spec, paper).image.convert("RGB")
    image, how = posed(drawn, pose, rng)
    data = photographed(image, "gradient" if rng.random() < 0.5 else "even", rng)
    truth = None
    if spec["rhythm"]:
        lead = case["leads"][spec["rhythm"]][: int(10 * case["fs"])]
        truth = DL.truth_at(lead, case["fs"])
    row = {"set": set_name, "case": case["id"], "layout": layout, "paper": paper, **how}
    for on in (False, True):
        row["after" if on else "before"] = read(data, truth, on)
    return row


def strip_job(job: tuple) -> dict:
    name, renderer, share, strip = job
    image = STRIP_RENDERERS[renderer](strip).image.convert("RGB")
    if share:
        image = keystoned(image, "left", share)
    rng = np.random.default_rng(_seed(DRAW, "strip", name, renderer, share))
    data = photographed(image, "even", rng)
    row = {"record": name, "renderer": renderer, "side_share": share}
    for on in (False, True):
        row["after" if on else "before"] = read(data, strip, on)
    return row


def non_ecg_rows(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    newly, counts = [], {"n": 0, "read_before": 0, "read_after": 0}
    for kind, make in non_ecg_makers(rng).items():
        for i in range(NON_ECG_PER_KIND):
            data = png(make().convert("RGB"))
            before, after = (read(data, None, on)["read"] for on in (False, True))
            counts["n"] += 1
            counts["read_before"] += int(before)
            counts["read_after"] += int(after)
            if after and not before:
                newly.append(f"{kind} #{i}")
    return {"counts": counts, "newly_read": newly}


def strip_sources(n_records: int) -> list[tuple]:
    from ecg.dsp.signal import prepare_signal
    from ecg.io.records import load_record
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    jobs = []
    for name in DS1_VALIDATION_RECORDS[:n_records]:
        rec = load_record(DL.DATA / "mitdb", name, annotations=False)
        x = prepare_signal(rec.signal, rec.fs)
        start = int(np.random.default_rng(_seed(DRAW, "strip", name)).integers(0, len(x) - 3600))
        for renderer in STRIP_RENDERERS:
            for share in (0.0, 0.05):
                jobs.append((name, renderer, share, x[start : start + 3600]))
    return jobs


def cell(rows: list[dict]) -> dict:
    n = len(rows)
    out = {"n": n}
    for arm in ("before", "after"):
        out[arm] = {
            "read_right": sum(r[arm].get("right", False) for r in rows),
            "read": sum(r[arm]["read"] for r in rows),
            "squared": sum(r[arm].get("squared", False) for r in rows),
        }
        out[arm]["read_right_share"] = round(out[arm]["read_right"] / max(n, 1), 4)
    corrs = [r["after"]["corr"] for r in rows if "corr" in r["after"]]
    out["after"]["median_corr"] = round(float(np.median(corrs)), 4) if corrs else None
    return out


def summarise(rows: list[dict], sets: tuple[str, ...]) -> dict:
    mine = [r for r in rows if r["set"] in sets]
    with_strip = [r for r in mine if r["layout"] != "2x2"]
    of = lambda paper, pose: [r for r in with_strip if (r["paper"], r["pose"]) == (paper, pose)]  # noqa: E731
    out = {
        "cells": {
            f"{paper}/{pose}": cell(of(paper, pose)) for paper in PAPERS for pose in POSES
        },  # fmt: skip
        "angled_pooled": cell([r for r in with_strip if r["pose"] in ANGLED]),
        "square_pooled": cell([r for r in with_strip if r["pose"] == "square"]),
        "per_set": {s: cell([r for r in with_strip if r["set"] == s]) for s in sets},
    }
    without = [r for r in mine if r["layout"] == "2x2"]
    out["without_rhythm_strip"] = {
        "n": len(without),
        "read_before": sum(r["before"]["read"] for r in without),
        "read_after": sum(r["after"]["read"] for r in without),
    }
    return out


def decide(dev: dict, strips: dict, non: dict, report: dict | None = None) -> dict:
    angled = dev["angled_pooled"]
    gain = angled["after"]["read_right_share"] - angled["before"]["read_right_share"]
    worst = min(
        (c["after"]["read_right"] - c["before"]["read_right"], k) for k, c in dev["cells"].items()
    )
    checks = {
        "1_angled_gain": {"value": round(gain, 4), "need": RULE_GAIN, "met": gain >= RULE_GAIN},
        "2_worst_cell": {"value": worst[0], "cell": worst[1], "met": worst[0] >= -RULE_CELL_LOSS},
        "3_without_rhythm_strip_read": {
            "value": dev["without_rhythm_strip"]["read_after"],
            "met": dev["without_rhythm_strip"]["read_after"] == 0,
        },
        "4_strips": {
            "value": [
                strips["before"]["read_right"],
                strips["after"]["read_right"],
                strips["after"]["squared"],
            ],  # fmt: skip
            "met": strips["after"]["read_right"] >= strips["before"]["read_right"] - 1
            and strips["after"]["squared"] == 0,
        },
        "5_non_ecg_newly_read": {"value": len(non["newly_read"]), "met": not non["newly_read"]},
    }
    if report is not None:  # v2: checks 1-3 on the report sets too
        again = decide(report, strips, non)["checks"]
        for key in ("1_angled_gain", "2_worst_cell", "3_without_rhythm_strip_read"):
            checks[f"report_{key}"] = again[key]
    return {"checks": checks, "square_page": all(c["met"] for c in checks.values())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=12, help="printouts per set (MIT-BIH: /3)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="record 107 only, nothing written")
    args = parser.parse_args(argv)
    started = time.time()
    if args.smoke:
        with mock.patch.object(DL, "DS1_VALIDATION_RECORDS", ["107"]):
            sets = {"smoke": DL.mitdb_cases(1)}
    else:
        sets = {
            "mitdb_ds1_val": DL.mitdb_cases(max(1, args.cases // 3)),
            "ptbxl_fold9": DL.ptbxl_cases(9, args.cases),
            "ptbxl_fold10": DL.ptbxl_cases(10, args.cases),
            "ludb": DL.ludb_cases(args.cases // 2),
        }
    jobs = []
    for set_name, cases in sets.items():
        for case in cases:
            layout = "3x4+rhythm" if "3x4+rhythm" in case["layouts"] else "2x2+rhythm"
            for paper in PAPERS:
                for pose in POSES:
                    jobs.append((set_name, case, layout, paper, pose))
            if "2x2" in case["layouts"]:
                for pose in ("side", "top"):
                    jobs.append((set_name, case, "2x2", "pink_tick", pose))
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(printout_job, jobs, chunksize=2))
        strip_rows = [] if args.smoke else list(pool.map(strip_job, strip_sources(4)))
    if args.smoke:
        print(json.dumps(summarise(rows, ("smoke",))["angled_pooled"], indent=1))
        return 0
    dev = summarise(rows, DEVELOPMENT)
    report = summarise(rows, REPORT)
    strips = cell(strip_rows)
    non = non_ecg_rows(29)
    decision = decide(dev, strips, non, report)
    results = {
        "rule": __doc__[__doc__.index("PRINTOUT_RULE v2") :],
        "decision": decision,
        "development": dev,
        "report": report,
        "strips": strips,
        "non_ecg": non,
        "rows": rows,
        "strip_rows": strip_rows,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(json.dumps({"decision": decision, "angled": dev["angled_pooled"],
                      "report_angled": results["report"]["angled_pooled"]}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
