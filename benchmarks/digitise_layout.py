"""Printed multi-lead ECGs (several rows of leads on one image): rows found, rhythm strip read.

    python benchmarks/digitise_layout.py [--records 24] [--sets mitdb_ds1_val ptbxl_fold9 ...]

Printouts are drawn by ``multi_lead_paper`` (benchmarks/printout_renderers.py: each row's
leads side by side over their share of the same 10 s, a lead name above each segment, 25 mm/s,
10 mm/mV, 8 px/mm) from real recordings, each lead high-passed at 0.5 Hz as an ECG machine
prints it, in six variants: pink paper with separator marks between leads, the same as JPEG
quality 60, the same rotated by 2 degrees, grey paper, pink paper with no mark between leads
(only the names) and pink paper with a small gap between leads.

Sets and layouts (the development sets choose, the others only report):

- ``mitdb_ds1_val`` (development): MIT-BIH DS1 validation records 106, 124, 209, 223, three
  10-s windows each, MLII and the record's second lead (V1, V4) as "2x2+rhythm" (rows MLII |
  second, second | MLII, rhythm MLII) and the same two rows without the rhythm strip;
- ``ptbxl_fold9`` (development): PTB-XL fold 9 (II, III, V1, V5) as "2x2+rhythm" and "2x2";
- ``ptbxl_fold10`` (report only): PTB-XL fold 10, the same layouts;
- ``ludb`` (report only): LUDB, 12 leads, "3x4+rhythm", "3x4" (no rhythm strip), "6x2",
  "12x1".

Per image, what the app does: the image upload refuses an image with two or more trace rows
(``find_rows``), else digitises it as today; the recording upload (``parse_image``) reads the
bottom row when it is one trace across the page, else refuses. Scored: rows found = rows
drawn; the rhythm strip read where the layout has one (the bottom row of "3x4+rhythm",
"2x2+rhythm" and "12x1", whose rows are each one lead) with its correlation with the lead
drawn there (``signal_scores`` of the digitise benchmark: stretched, and aligned by the grid's
time scale); images wrongly read (a recording made from a printout without a rhythm strip, or
from the whole printout, or the image upload digitising a printout as one trace: must be 0);
``find_rows`` time. Besides: the single-row images of the digitise benchmark's renderers
(DS1 validation beats and strips) taken for printouts (must be 0), and the non-ECG images
(photos, noise, text pages, screenshots, sines, random walks) refused by the upload as before.

Writes benchmarks/results/digitise_layout.json.

Long on purpose: one run draws, reads and scores every set, layout and variant, and the checks
beside them (single-row images, non-ECG images, timing) feed the same rule.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import digitise_renderers as R  # noqa: E402
from benchmarks import printout_renderers as P  # noqa: E402
from benchmarks.digitise_benchmark import signal_scores  # noqa: E402
from ecg.imaging.ecg_check import check_ecg_image  # noqa: E402
from ecg.imaging.layout import find_rows  # noqa: E402
from ecg.io.recording_base import RecordingFormatError  # noqa: E402
from ecg.io.recording_image import parse_image  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402

DATA = Path("/work/shared/data")
TRUTH_FS = 360.0  # signal_scores compares at the model's rate
DEVELOPMENT_SETS = ("mitdb_ds1_val", "ptbxl_fold9")
REPORT_SETS = ("ptbxl_fold10", "ludb")
# Written and committed before any figure of this benchmark was computed (issue 19).
LAYOUT_RULE = (
    "serve the row reading (the image upload refuses an image with two or more trace rows; "
    "the recording upload reads the bottom row when it is one trace across the page and "
    "refuses other printouts) if and only if, on the development sets (MIT-BIH DS1 validation "
    "records, PTB-XL fold 9) pooled over their layouts and variants: (a) no image is wrongly "
    "read (0); (b) no single-row image of the digitise benchmark's renderers drawn from the "
    "DS1 validation records is taken for a printout (0); (c) photos, noise, text pages and "
    "screenshots are each refused by the upload on at least 95 % of images; (d) rows found "
    "equal rows drawn on at least 90 % of printouts; (e) the rhythm strip is read on at least "
    "80 % of the printouts that have one, with a median correlation of at least 0.9. PTB-XL "
    "fold 10 and LUDB are reported only. Thresholds are changed only after looking at the "
    "development figures, and each try is recorded in the JSON ('attempt')."
)
# The tries on the development sets (``LAYOUT_RULE``), what each showed and what changed next.
ATTEMPTS = (
    "1: rule not met: rhythm strip read on 15 % (MIT-BIH) and 62 % (PTB-XL fold 9): separator "
    "marks were accepted with flat trace on one side only, and real Q-R strokes passed; 2 "
    "printouts without a rhythm strip read (lead names beyond the band of a low-amplitude row "
    "were not looked for); 1 min-max beat split in two (a steep stroke removed as a line)",
    "2: marks need flat trace on both sides; names looked for in the image rows a row owns: "
    "strip read 100 % / 95 %, but 9 printouts without a rhythm strip read (a 2x2 whose bottom "
    "row's change was missed in the rotated variant: the name touching the mark)",
    "3: only a bottom row below at least two rows split at a shared place (or rows of one lead "
    "each) is a rhythm strip: 0 wrongly read; the min-max beat still split",
    "4: vertical lines removed only where they meet a horizontal one (the digitiser's rule): "
    "rule met",
    "5: speed only, the same rows expected (bytes until the page is reduced, the rotation "
    "estimated on a thinned mask, the cut's levels and the background share on sampled "
    "pixels): rule met, but 5 rotated DS1 validation pages lost their rotation (the mask was "
    "thinned on a regular pattern whose lattice lines up at some angles)",
    "6: the mask thinned at random (fixed seed) instead; the rule checked again on this final run",
    "7: a full-width row with no lead change found is looked at again where the standard "
    "layouts change lead (a quarter, a half, three quarters of the row) with a mark test that "
    "takes one flat side (``layout.RECHECK_ROWS``): the image property tests' 3x4 and 6x2 "
    "pages without a rhythm strip, and 6 LUDB 6x2 pages turned by 2 degrees (report set), were "
    "read as recordings of their bottom row. Kept if the rule is met and, written before this "
    "run, the rhythm strip is read on the development sets on at least as many printouts as "
    "in attempt 6 (95.8 %)",
    "8: attempt 7 met the rule but read the rhythm strip on 93.5 % (fewer than attempt 6: not "
    "kept; its JSON is digitise_layout_attempt7.json), and on synthetic 3x4+rhythm pages of one "
    "lead drawn everywhere (benchmarks/printout_rows_recheck.py) it split 10 of 20 rhythm "
    "strips at a QRS. Now a place is a lead change only where at least two rows above the "
    "bottom one show a stroke there reaching as far above their trace as below it "
    "(``lead_changes.mark_extents``), and a row takes it only where its own stroke reaches "
    "like theirs (within 25 %); kept on the same terms as attempt 7",
)
VARIANTS = ("pink_tick", "pink_tick_jpeg_q60", "pink_tick_rotated_2deg", "grey_tick",
            "pink_no_mark", "pink_gap")  # fmt: skip
LUDB_NAMES = dict(zip(("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"),
                      P.TWELVE_LEADS, strict=True))  # fmt: skip


def highpass(x: np.ndarray, fs: float) -> np.ndarray:
    """0.5 Hz high-pass (2nd-order Butterworth, both ways), as an ECG machine prints."""
    from scipy.signal import butter, filtfilt

    b, a = butter(2, 0.5 / (fs / 2), btype="high")
    return filtfilt(b, a, np.asarray(x, dtype=np.float64))


def mitdb_cases(n_records: int) -> list[dict]:
    from ecg.io.records import load_record

    cases = []
    for name in DS1_VALIDATION_RECORDS[:n_records]:
        first = load_record(DATA / "mitdb", name, lead=0, annotations=False)
        second = load_record(DATA / "mitdb", name, lead=1, annotations=False)
        fs = first.fs
        for start_s in (60.0, 600.0, 1200.0):
            lo, hi = int(start_s * fs), int((start_s + 10.0) * fs)
            leads = {
                first.lead: highpass(first.signal[lo:hi], fs),
                second.lead: highpass(second.signal[lo:hi], fs),
            }
            a, b = first.lead, second.lead
            rows = ((a, b), (b, a))
            cases.append(
                {
                    "id": f"{name}@{start_s:g}s",
                    "leads": leads,
                    "fs": fs,
                    "layouts": {
                        "2x2+rhythm": {"rows": rows, "rhythm": a},
                        "2x2": {"rows": rows, "rhythm": None},
                    },
                }  # fmt: skip
            )
    return cases


def ptbxl_cases(fold: int, n_records: int) -> list[dict]:
    from ecg.io.ptbxl import load_ptbxl_record, load_ptbxl_table

    table = load_ptbxl_table(DATA / "ptbxl")
    ids = sorted(table.index[table["strat_fold"] == fold].tolist())
    picks = np.random.default_rng(19).choice(len(ids), size=n_records, replace=False)
    cases = []
    for k in sorted(picks.tolist()):
        ecg_id = int(ids[k])
        leads = {}
        for lead in ("II", "III", "V1", "V5"):
            record = load_ptbxl_record(DATA / "ptbxl", ecg_id, lead=lead)
            leads[lead] = highpass(record.signal, record.fs)
        rows = (("II", "III"), ("V1", "V5"))
        cases.append(
            {
                "id": f"ptbxl{ecg_id}",
                "leads": leads,
                "fs": record.fs,
                "layouts": {
                    "2x2+rhythm": {"rows": rows, "rhythm": "II"},
                    "2x2": {"rows": rows, "rhythm": None},
                },
            }  # fmt: skip
        )
    return cases


def ludb_cases(n_records: int) -> list[dict]:
    from ecg.io.ludb import list_ludb_records, load_ludb_record

    names = list_ludb_records(DATA / "ludb")
    picks = np.random.default_rng(19).choice(len(names), size=n_records, replace=False)
    cases = []
    for k in sorted(picks.tolist()):
        leads = {}
        for lead, printed in LUDB_NAMES.items():
            record = load_ludb_record(DATA / "ludb", names[k], lead=lead)
            leads[printed] = highpass(record.signal, record.fs)
        layouts = {}
        for layout in ("3x4+rhythm", "3x4", "6x2", "12x1"):
            rows, rhythm = P.PRINT_LAYOUTS[layout]
            layouts[layout] = {"rows": rows, "rhythm": rhythm}
        cases.append({"id": f"ludb{names[k]}", "leads": leads, "fs": record.fs, "layouts": layouts})
    return cases


ROW_MM = {"6x2": 30.0, "12x1": 20.0}


def draw(case: dict, layout: str, spec: dict, variant: str) -> P.Drawn:
    paper = "grey" if variant.startswith("grey") else "pink"
    separator = {"pink_no_mark": "none", "pink_gap": "gap"}.get(variant, "tick")
    drawn = P.multi_lead_paper(
        case["leads"],
        case["fs"],
        rows=spec["rows"],
        rhythm=spec["rhythm"],
        row_mm=ROW_MM.get(layout, 40.0),
        separator=separator,
        paper=paper,
    )
    if variant.endswith("jpeg_q60"):
        drawn = R.jpeg(drawn, 60)
    if variant.endswith("rotated_2deg"):
        drawn = R.rotated(drawn, 2.0)
    return drawn


def png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def truth_at(x: np.ndarray, fs: float) -> np.ndarray:
    n = int(round(len(x) * TRUTH_FS / fs))
    return np.interp(np.arange(n) * fs / TRUTH_FS, np.arange(len(x)), x)


def score_image(case: dict, layout: str, spec: dict, variant: str) -> dict:
    drawn = draw(case, layout, spec, variant)
    image = drawn.image
    n_drawn = len(spec["rows"]) + (1 if spec["rhythm"] else 0)
    # A layout whose bottom row is one lead: the rhythm strip, or 12x1's last lead.
    bottom = (spec["rhythm"],) if spec["rhythm"] else spec["rows"][-1]
    readable = len(bottom) == 1
    start = time.perf_counter()
    found = find_rows(image)
    layout_ms = (time.perf_counter() - start) * 1000
    row = {
        "case": case["id"],
        "layout": layout,
        "variant": variant,
        "size": list(image.size),
        "rows_drawn": n_drawn,
        "rows_found": len(found.rows),
        "rhythm_expected": readable,
        "layout_ms": layout_ms,
    }
    # The image upload: refused by the layout, else digitised as today.
    if len(found.rows) < 2:
        verdict = check_ecg_image(image)
        row["image_upload"] = "refused" if verdict.status == "no_trace" else "digitised"
    else:
        row["image_upload"] = "refused_multi_row"
    try:
        parsed = parse_image("printout.png", png(image))
    except RecordingFormatError as exc:
        row["recording_upload"] = "refused"
        row["recording_reason"] = str(exc)[:160]
    else:
        from_row = any(note.startswith("an ECG printout with") for note in parsed.notes)
        row["recording_upload"] = "read_row" if from_row else "read_whole_image"
        grid = any("ECG-paper grid" in note for note in parsed.notes)
        d = SimpleNamespace(
            signal=parsed.signals[0].astype(np.float64),
            fs=parsed.fs,
            units="mV",
            scale_source="grid" if grid else "assumed",
        )
        truth = truth_at(case["leads"][bottom[0]][: int(10 * case["fs"])], case["fs"])
        row["truth_lead"] = bottom[0]
        row.update({k: v for k, v in signal_scores(d, truth).items() if isinstance(v, float)})
        row["duration_s"] = parsed.signals.shape[1] / parsed.fs
    row["wrong"] = bool(
        row["image_upload"] == "digitised"
        or row["recording_upload"] == "read_whole_image"
        or (row["recording_upload"] == "read_row" and not readable)
    )
    return row


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {}
    readable = [r for r in rows if r["rhythm_expected"]]
    read = [r for r in readable if r["recording_upload"] == "read_row"]
    corr = [r["corr"] for r in read if "corr" in r]
    aligned = [r["corr_aligned"] for r in read if "corr_aligned" in r]
    ms = np.array([r["layout_ms"] for r in rows])
    return {
        "images": len(rows),
        "rows_found_equals_drawn": float(
            np.mean([r["rows_found"] == r["rows_drawn"] for r in rows])
        ),
        "with_rhythm_strip": len(readable),
        "rhythm_strip_read": float(len(read) / len(readable)) if readable else None,
        "corr_median": float(np.median(corr)) if corr else None,
        "corr_p10": float(np.percentile(corr, 10)) if corr else None,
        "aligned_corr_median": float(np.median(aligned)) if aligned else None,
        "without_rhythm_strip_refused": (
            float(
                np.mean(
                    [r["recording_upload"] == "refused" for r in rows if not r["rhythm_expected"]]
                )
            )
            if any(not r["rhythm_expected"] for r in rows)
            else None
        ),  # fmt: skip
        "image_upload_refused_multi_row": float(
            np.mean([r["image_upload"] == "refused_multi_row" for r in rows])
        ),
        "wrongly_read": int(sum(r["wrong"] for r in rows)),
        "layout_ms_p50": float(np.median(ms)),
        "layout_ms_p90": float(np.percentile(ms, 90)),
    }


def single_row_images(n_beats: int) -> dict:
    """The digitise benchmark's single-row renderers on DS1 validation beats and strips: how
    many does ``find_rows`` take for a printout (two or more rows)?"""
    from ecg.io.records import load_record

    drawers = {
        "matplotlib_axes": lambda x, fs: R.mpl_plot(x, fs),
        "matplotlib_no_axes": lambda x, fs: R.mpl_plot(x, fs, axes=False),
        "matplotlib_dark": lambda x, fs: R.mpl_plot(x, fs, dark=True),
        "pillow_200x120": lambda x, fs: R.pillow_line(x, width=200, height=120),
        "pillow_1200x600_thick": lambda x, fs: R.pillow_line(x, width=1200, height=600, line=4),
        "minmax_64x64": lambda x, fs: R.minmax_64(x),
        "paper_beat": lambda x, fs: R.ecg_paper(x, fs),
        "paper_beat_grey": lambda x, fs: R.ecg_paper(x, fs, **R.GREY_PAPER),
        "pillow_axes_liberation": lambda x, fs: R.pillow_axes_plot(x, fs),
        "matlab_like_standin": lambda x, fs: R.matlab_like_plot(x, fs),
        "excel_like_standin": lambda x, fs: R.excel_like_chart(x, fs),
        "wfdb_plot": lambda x, fs: R.wfdb_plot(x, fs),
    }
    strip_drawers = {
        "strip_paper": lambda x, fs: R.ecg_paper(x, fs),
        "strip_paper_jpeg_q60": lambda x, fs: R.jpeg(R.ecg_paper(x, fs)),
        "strip_paper_rotated_3deg": lambda x, fs: R.rotated(R.ecg_paper(x, fs), 3.0),
        "strip_pillow_1600x400": lambda x, fs: R.pillow_line(x, width=1600, height=400),
        "strip_matplotlib_wide_axes": lambda x, fs: R.mpl_plot(x, fs, size=(16, 4)),
    }
    out: dict[str, dict] = {}
    for name in DS1_VALIDATION_RECORDS:
        record = load_record(DATA / "mitdb", name)
        fs, x = record.fs, record.signal.astype(np.float64)
        peaks = record.ann_samples[(record.ann_samples > fs) & (record.ann_samples < len(x) - fs)]
        for p in peaks[np.linspace(0, len(peaks) - 1, n_beats).astype(int)]:
            beat = x[p - int(0.25 * fs) : p + int(0.45 * fs)]
            for renderer, fn in drawers.items():
                found = find_rows(fn(beat, fs).image)
                entry = out.setdefault(renderer, {"images": 0, "taken_for_printout": 0})
                entry["images"] += 1
                entry["taken_for_printout"] += int(len(found.rows) >= 2)
        for start_s in (60.0, 600.0):
            strip = highpass(x[int(start_s * fs) : int((start_s + 10) * fs)], fs)
            for renderer, fn in strip_drawers.items():
                found = find_rows(fn(strip, fs).image)
                entry = out.setdefault(renderer, {"images": 0, "taken_for_printout": 0})
                entry["images"] += 1
                entry["taken_for_printout"] += int(len(found.rows) >= 2)
    return out


def non_ecg_images(n: int) -> dict:
    """The digitise benchmark's non-ECG generators (seed 19, not its images): refused as
    before, and how many are taken for printouts."""
    rng = np.random.default_rng(19)
    generators = (R.photo_like, R.noise_image, R.document, R.screenshot, R.random_walk_image)
    kinds = {fn.__name__: (lambda fn=fn: fn(rng)) for fn in generators}
    kinds["sine_image"] = lambda: R.sine_image(float(rng.uniform(2, 6)))
    out = {}
    for kind, make in kinds.items():
        counts = {"images": n, "multi_row": 0, "refused": 0, "flagged_unlike_ecg": 0}
        for _ in range(n):
            image = make()
            if len(find_rows(image).rows) >= 2:
                counts["multi_row"] += 1
                counts["refused"] += 1
                continue
            verdict = check_ecg_image(image)
            counts["refused"] += int(verdict.status == "no_trace")
            counts["flagged_unlike_ecg"] += int(verdict.status == "unlike_ecg")
        out[kind] = counts
    return out


def timing_2000x1500(repeats: int = 20) -> dict:
    """``find_rows`` on one 2,000 x 1,500 px printout (synthetic leads), wall ms."""
    from tests.ml.conftest import synthetic_ecg

    sig, _, _ = synthetic_ecg(n_beats=20, seed=3)
    leads = {name: sig[i * 37 : i * 37 + 3600] for i, name in enumerate(P.TWELVE_LEADS)}
    image = P.multi_lead_paper(leads, 360.0, "3x4+rhythm", row_mm=33.0).image.resize((2000, 1500))
    find_rows(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        find_rows(image)
        times.append((time.perf_counter() - start) * 1000)
    return {"size": [2000, 1500], "ms_p50": float(np.median(times)), "ms_min": float(min(times))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=24, help="PTB-XL and LUDB records a set")
    parser.add_argument("--sets", nargs="*", default=[*DEVELOPMENT_SETS, *REPORT_SETS])
    parser.add_argument("--beats", type=int, default=5, help="single-row beats per DS1 val record")
    parser.add_argument("--non-ecg", type=int, default=25)
    parser.add_argument("--attempt", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/digitise_layout.json"))
    args = parser.parse_args()
    import os

    started = time.time()
    loaders = {
        "mitdb_ds1_val": lambda: mitdb_cases(4),
        "ptbxl_fold9": lambda: ptbxl_cases(9, args.records),
        "ptbxl_fold10": lambda: ptbxl_cases(10, args.records),
        "ludb": lambda: ludb_cases(args.records),
    }
    results: dict = {"rule": LAYOUT_RULE, "attempt": args.attempt, "sets": {}}
    results["attempts"] = list(ATTEMPTS[: args.attempt])
    images: list[dict] = []
    for name in args.sets:
        rows = []
        for case in loaders[name]():
            for layout, spec in case["layouts"].items():
                for variant in VARIANTS:
                    rows.append({"set": name, **score_image(case, layout, spec, variant)})
        images += rows
        by = {}
        for layout in sorted({r["layout"] for r in rows}):
            part = [r for r in rows if r["layout"] == layout]
            by[layout] = {"all": summarise(part)}
            for variant in VARIANTS:
                by[layout][variant] = summarise([r for r in part if r["variant"] == variant])
        results["sets"][name] = {"pooled": summarise(rows), "layouts": by}
        print(name, json.dumps(results["sets"][name]["pooled"]), flush=True)
    results["single_row_images"] = single_row_images(args.beats)
    results["non_ecg"] = non_ecg_images(args.non_ecg)
    results["timing"] = timing_2000x1500()
    results["rule_check"] = rule_check(results, images)
    results["load_average_1min"] = os.getloadavg()[0]
    results["wall_s"] = time.time() - started
    results["command"] = "python " + " ".join(["benchmarks/digitise_layout.py", *sys.argv[1:]])
    results["images"] = images
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k not in ("images", "sets")}, indent=1))


def rule_check(results: dict, images: list[dict]) -> dict:
    """``LAYOUT_RULE`` on the development sets (None where a set was not run)."""
    dev = [r for r in images if r["set"] in DEVELOPMENT_SETS]
    if not dev:
        return {"met": None}
    pooled = summarise(dev)
    single = results["single_row_images"]
    refused = {k: v["refused"] / v["images"] for k, v in results["non_ecg"].items()
               if k in ("photo_like", "noise_image", "document", "screenshot")}  # fmt: skip
    checks = {
        "a_wrongly_read": pooled["wrongly_read"],
        "b_single_row_taken_for_printout": sum(v["taken_for_printout"] for v in single.values()),
        "c_non_ecg_refused_min": min(refused.values()),
        "d_rows_found_equals_drawn": pooled["rows_found_equals_drawn"],
        "e_rhythm_strip_read": pooled["rhythm_strip_read"],
        "e_corr_median": pooled["corr_median"],
    }
    met = (
        checks["a_wrongly_read"] == 0
        and checks["b_single_row_taken_for_printout"] == 0
        and checks["c_non_ecg_refused_min"] >= 0.95
        and checks["d_rows_found_equals_drawn"] >= 0.9
        and (checks["e_rhythm_strip_read"] or 0) >= 0.8
        and (checks["e_corr_median"] or 0) >= 0.9
    )
    return {"met": bool(met), **checks}


if __name__ == "__main__":
    main()
