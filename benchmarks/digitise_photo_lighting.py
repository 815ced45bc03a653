"""Photos of ECG paper lit unevenly: read with the light evened out first? (issue 19)

    nice -n 10 python benchmarks/digitise_photo_lighting.py [--splits DS1 DS2]

Why: a clinician's usual way to share an ECG is a phone photo of the printout, and its light is
uneven: a shadow across part of the page, a lamp to one side, darker corners. The digitiser
measures ink as the distance from one background colour, so paper in a shadow is ink. No
photographed image had been tried (docs/digitise.md). ``ecg.imaging.lighting.even_lighting``
evens the light (a flat-field correction: the paper's brightness estimated by a grey closing,
then divided out) on light paper whose brightness varies, and leaves every other image as it
is. This benchmark decides whether the app applies it.

Images: one 10-s MLII strip of every record (a fixed random start) and four beats a record
(random annotated beats, 0.25 s before to 0.45 s after), drawn by the digitise benchmark's
renderers -- strips: pink ECG paper, grey ECG paper, a bare Pillow line (1600 x 400); beats:
pink ECG paper, matplotlib with numbered axes -- then "photographed" by ``photographed``: an
uneven light (``LIGHTS``: a gradient from one side, darker corners, a shadow with a soft or a
hard edge; strength drawn in 0.2-0.5, direction and place at random), a colour cast (warm or
cool light), sensor noise and JPEG at quality 85; the "even" light has the cast, noise and JPEG
only. Non-ECG images: the digitise benchmark's six kinds, as drawn and under the same lights.

The app's own paths, with and without the evening: a strip through the recording upload's
``parse_image`` (strips are read as recordings), a beat through the image upload's steps
(``find_rows``, then ``check_ecg_image``). A strip is read right when it is parsed, its
duration is within 3 % of 10 s and its trace correlates >= 0.8 with the signal (at the best
lag within 1 s); a beat when it is an ECG, a single beat, read at the scale source the same
beat gets unlit and as drawn (grid, axis labels), and correlates >= 0.8.

LIGHTING_RULE (written before any figure of this script on MIT-BIH was computed; the evening
was developed on synthetic strips of ``tests.recordings.synth.long_ecg`` only): the app evens
uneven lighting (image and recording uploads) if and only if, on DS1 (all 22 records):

1. lit images (every renderer and uneven light pooled): the share read right rises by at least
   10 points, and no (renderer, light) cell loses more than 2 points;
2. lit images read right both ways: the median correlation falls by at most 0.01;
3. unlit images of every renderer of ``digitise_benchmark`` (two beats and one strip a record,
   as drawn): evened on at most 1 % of them;
4. non-ECG images, as drawn and lit: none is read as an ECG (``check_ecg_image`` "ecg") with
   the evening that was not without it.

DS2 is reported after the decision and decides nothing. Results:
``benchmarks/results/digitise_photo_lighting.json``.

Long on purpose: the rule, its images and the app paths it reads them through are kept in one
place; ``digitise_photo_crop.py`` imports them.
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
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import digitise_renderers as R  # noqa: E402
from benchmarks.digitise_benchmark import (  # noqa: E402
    FS,
    POST,
    PRE,
    STRIP,
    aligned_scores,
    beat_renderers,
    non_ecg_makers,
    signal_scores,
    strip_renderers,
)
from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.dsp.signal import prepare_signal  # noqa: E402
from ecg.features.beats import beat_annotations, labels_for  # noqa: E402
from ecg.imaging import lighting as L  # noqa: E402
from ecg.imaging.ecg_check import check_ecg_image  # noqa: E402
from ecg.imaging.layout import find_rows  # noqa: E402
from ecg.io import recording_image  # noqa: E402
from ecg.io.recording_base import RecordingFormatError  # noqa: E402
from ecg.io.records import load_record  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "digitise_photo_lighting.json"
LIGHTS = ("even", "gradient", "vignette", "shadow_soft", "shadow_hard")
STRENGTH = (0.2, 0.5)
MIN_CORR = 0.8
DURATION_TOL = 0.03
BEATS_PER_RECORD = 4
NON_ECG_PER_KIND = 10
RULE_GAIN, RULE_CELL_LOSS, RULE_CORR_LOSS, RULE_UNLIT_EVENED = 0.10, 0.02, 0.01, 0.01

STRIP_RENDERERS = {
    "paper_strip_pink": lambda x: R.ecg_paper(x, FS),
    "paper_strip_grey": lambda x: R.ecg_paper(x, FS, **R.GREY_PAPER),
    "pillow_strip_1600x400": lambda x: R.pillow_line(x, width=1600, height=400),
}
BEAT_RENDERERS = {
    "paper_beat_pink": lambda x: R.ecg_paper(x, FS),
    "matplotlib_axes_beat": lambda x: R.mpl_plot(x, FS),
}


def light_field(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A multiplicative light (h, w), 1 where fully lit."""
    s = float(rng.uniform(*STRENGTH))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "even":
        return np.ones((h, w), np.float32)
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = np.cos(angle) * xx / w + np.sin(angle) * yy / h
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        return 1 - s * t
    if kind == "vignette":
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        return 1 - s * r2 / 2
    # a shadow: a half-plane through a random point at a random angle, its edge blurred
    angle = rng.uniform(0, 2 * np.pi)
    px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    inside = (np.cos(angle) * (xx - px) + np.sin(angle) * (yy - py)) > 0
    field = np.where(inside, 1 - s, 1.0).astype(np.float32)
    radius = 0.02 * min(h, w) if kind == "shadow_hard" else 0.12 * min(h, w)
    blurred = Image.fromarray((field * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(max(1.0, radius))
    )
    return np.asarray(blurred, np.float32) / 255


def photographed(image: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """``image`` under light ``kind`` with a colour cast, sensor noise and JPEG (quality 85)."""
    a = np.asarray(image.convert("RGB"), np.float32)
    h, w = a.shape[:2]
    cast = np.array([1.0, 0.97, 0.9] if rng.random() < 0.5 else [0.93, 0.97, 1.0], np.float32)
    out = a * light_field(kind, h, w, rng)[..., None] * cast
    out += rng.normal(0, 3.0, out.shape).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


class NoEvening:
    """The app's paths without the evening (the "before" arm)."""

    def __enter__(self):
        self.saved = recording_image.even_lighting
        recording_image.even_lighting = lambda image: L.Lighting(image, False, 0.0)

    def __exit__(self, *exc):
        recording_image.even_lighting = self.saved


def read_strip(data: bytes, truth: np.ndarray) -> dict:
    """A strip image through the recording upload's reading."""
    try:
        parsed = recording_image.parse_image("strip.jpg", data)
    except RecordingFormatError as exc:
        return {"read": False, "why": str(exc)[:120]}
    x = parsed.signals[parsed.lead_index].astype(np.float64)
    scores = aligned_scores(SimpleNamespace(signal=x, fs=parsed.fs), truth)
    duration = len(x) / parsed.fs
    right = abs(duration / (len(truth) / FS) - 1) <= DURATION_TOL and scores["corr_aligned"] >= (
        MIN_CORR
    )
    return {
        "read": True,
        "right": bool(right),
        "corr": scores["corr_aligned"],
        "duration_s": duration,
        "evened": any(n == L.NOTE for n in parsed.notes),
    }


def read_beat(image: Image.Image, truth: np.ndarray, expected_source: str, even: bool) -> dict:
    """A beat image through the image upload's steps (``classifier.model_service``)."""
    lit = L.even_lighting(image) if even else L.Lighting(image, False, 0.0)
    if len(find_rows(lit.image).rows) >= 2:
        return {"read": False, "why": "multi-row"}
    verdict = check_ecg_image(lit.image)
    d = verdict.digitised
    if verdict.status != "ecg" or d is None:
        return {"read": False, "why": verdict.status, "evened": lit.evened}
    corr = signal_scores(d, truth)["corr"]
    right = d.kind == "single_beat" and d.scale_source == expected_source and corr >= MIN_CORR
    return {"read": True, "right": bool(right), "corr": corr, "evened": lit.evened}


def source_images(data_dir: Path, records, seed: int):
    """Per record: one 10-s strip and BEATS_PER_RECORD beat windows (360 Hz, mV)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in records:
        rec = load_record(data_dir, name)
        x = prepare_signal(rec.signal, rec.fs)
        samples, symbols = beat_annotations(rec.ann_samples, rec.ann_symbols)
        samples = np.round(samples * FS / rec.fs).astype(int)
        ok = (labels_for(symbols) >= 0) & (samples - PRE >= 0) & (samples + POST <= len(x))
        picks = rng.choice(samples[ok], BEATS_PER_RECORD, replace=False)
        start = int(rng.integers(0, len(x) - STRIP))
        out[name] = {
            "strip": x[start : start + STRIP],
            "beats": [x[s - PRE : s + POST] for s in picks],
        }
    return out


def rates(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "n": n,
        "read_right": round(sum(r["right"] for r in rows if r["read"]) / max(n, 1), 4),
        "read": round(sum(r["read"] for r in rows) / max(n, 1), 4),
        "evened": round(sum(bool(r.get("evened")) for r in rows) / max(n, 1), 4),
    }


def run_split(data_dir: Path, records, seed: int) -> dict:
    sources = source_images(data_dir, records, seed)
    rng = np.random.default_rng(seed + 1)
    rows: dict[tuple[str, str], dict[str, list]] = {}
    evening_ms: dict[str, list[float]] = {"evened": [], "left": []}
    for src in sources.values():
        for renderer, draw in STRIP_RENDERERS.items():
            image = draw(src["strip"]).image
            for light in LIGHTS:
                data = photographed(image, light, rng)
                t0 = time.perf_counter()
                lit = L.even_lighting(Image.open(io.BytesIO(data)).convert("RGB"))
                evening_ms["evened" if lit.evened else "left"].append(
                    1000 * (time.perf_counter() - t0)
                )
                after = read_strip(data, src["strip"])
                with NoEvening():
                    before = read_strip(data, src["strip"])
                cell = rows.setdefault((renderer, light), {"before": [], "after": []})
                cell["before"].append(before)
                cell["after"].append(after)
        for renderer, draw in BEAT_RENDERERS.items():
            for beat in src["beats"]:
                image = draw(beat).image
                plain = check_ecg_image(image)
                expected = plain.digitised.scale_source if plain.digitised else "grid"
                for light in LIGHTS:
                    shot = Image.open(io.BytesIO(photographed(image, light, rng))).convert("RGB")
                    cell = rows.setdefault((renderer, light), {"before": [], "after": []})
                    cell["before"].append(read_beat(shot, beat, expected, even=False))
                    cell["after"].append(read_beat(shot, beat, expected, even=True))
    cells = {}
    for (renderer, light), arms in rows.items():
        b, a = arms["before"], arms["after"]
        both = [(x["corr"], y["corr"]) for x, y in zip(b, a, strict=True)
                if x["read"] and y["read"] and x["right"] and y["right"]]  # fmt: skip
        cells[f"{renderer} / {light}"] = {
            "before": rates(b),
            "after": rates(a),
            "median_corr_both_right": [
                round(float(np.median([p[0] for p in both])), 4) if both else None,
                round(float(np.median([p[1] for p in both])), 4) if both else None,
            ],
            "right_both": len(both),
        }
    lit_rows = [(k, v) for k, v in rows.items() if k[1] != "even"]
    pooled = {arm: rates([r for _, v in lit_rows for r in v[arm]]) for arm in ("before", "after")}
    pairs = [(x["corr"], y["corr"]) for _, v in lit_rows
             for x, y in zip(v["before"], v["after"], strict=True)
             if x["read"] and y["read"] and x["right"] and y["right"]]  # fmt: skip
    return {
        "records": list(records),
        "cells": cells,
        "lit_pooled": pooled,
        "lit_median_corr_both_right": [
            round(float(np.median([p[0] for p in pairs])), 4) if pairs else None,
            round(float(np.median([p[1] for p in pairs])), 4) if pairs else None,
        ],
        "evening_ms_p50": {
            k: round(float(np.median(v)), 1) if v else None for k, v in evening_ms.items()
        },
        "sources": sources,
    }


def unlit_counts(records, sources: dict, rng: np.random.Generator, flag, name: str) -> dict:
    """How often ``flag(image) -> bool`` holds for images as the digitise benchmark's renderers
    draw them (two beats and one strip a record, every renderer), counted under ``name``."""
    beats, strips = beat_renderers(rng), strip_renderers(rng)
    counts: dict[str, list[int]] = {}
    for record in records:
        src = sources[record]
        for renderer, draw in beats.items():
            for beat in src["beats"][:2]:
                counts.setdefault(f"beat {renderer}", []).append(
                    int(flag(draw(beat).image.convert("RGB")))
                )
        for renderer, draw in strips.items():
            counts.setdefault(f"strip {renderer}", []).append(
                int(flag(draw(src["strip"]).image.convert("RGB")))
            )
    total = sum(sum(v) for v in counts.values())
    n = sum(len(v) for v in counts.values())
    return {
        "images": n,
        name: total,
        "share": round(total / max(n, 1), 4),
        "by_renderer": {k: sum(v) for k, v in counts.items() if sum(v)},
    }


def unlit_evened(data_dir: Path, records, sources: dict, seed: int) -> dict:
    """How often the evening changes images as the digitise benchmark's renderers draw them."""
    rng = np.random.default_rng(seed + 2)
    return unlit_counts(records, sources, rng, lambda im: L.even_lighting(im).evened, "evened")


def non_ecg(seed: int) -> dict:
    """The digitise benchmark's non-ECG kinds, as drawn (PNG) and photographed under each light:
    read as an ECG without and with the evening."""
    rng = np.random.default_rng(seed + 3)
    makers = non_ecg_makers(rng)
    out: dict[str, dict] = {}
    newly = []
    for kind, make in makers.items():
        for i in range(NON_ECG_PER_KIND):
            image = make()
            variants = {"as drawn": Image.open(io.BytesIO(png(image))).convert("RGB")}
            for light in LIGHTS[1:]:
                variants[light] = Image.open(io.BytesIO(photographed(image, light, rng))).convert(
                    "RGB"
                )
            for how, shot in variants.items():
                lit = L.even_lighting(shot)
                before = check_ecg_image(shot).status == "ecg"
                after = check_ecg_image(lit.image).status == "ecg"
                cell = out.setdefault(f"{kind} / {how}", {"n": 0, "ecg_before": 0,
                                                          "ecg_after": 0, "evened": 0})  # fmt: skip
                cell["n"] += 1
                cell["ecg_before"] += int(before)
                cell["ecg_after"] += int(after)
                cell["evened"] += int(lit.evened)
                if after and not before:
                    newly.append(f"{kind} #{i} {how}")
    return {"cells": out, "newly_read_as_ecg": newly}


def decide(ds1: dict, unlit: dict, non: dict) -> dict:
    before, after = ds1["lit_pooled"]["before"], ds1["lit_pooled"]["after"]
    gain = after["read_right"] - before["read_right"]
    worst = min(
        (c["after"]["read_right"] - c["before"]["read_right"], k)
        for k, c in ds1["cells"].items()
        if not k.endswith("/ even")
    )
    corr_b, corr_a = ds1["lit_median_corr_both_right"]
    corr_drop = (corr_b - corr_a) if corr_b is not None and corr_a is not None else 0.0
    checks = {
        "1_gain": {"value": round(gain, 4), "need": RULE_GAIN, "met": gain >= RULE_GAIN},
        "1_worst_cell": {
            "value": round(worst[0], 4),
            "cell": worst[1],
            "met": worst[0] >= -RULE_CELL_LOSS,
        },  # fmt: skip
        "2_corr_drop": {"value": round(corr_drop, 4), "met": corr_drop <= RULE_CORR_LOSS},
        "3_unlit_evened": {"value": unlit["share"], "met": unlit["share"] <= RULE_UNLIT_EVENED},
        "4_non_ecg_newly_read": {
            "value": len(non["newly_read_as_ecg"]),
            "met": not non["newly_read_as_ecg"],
        },  # fmt: skip
    }
    return {"checks": checks, "even_lighting": all(c["met"] for c in checks.values())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mitdb"))
    parser.add_argument("--splits", nargs="*", default=["DS1", "DS2"])
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    t0 = time.time()
    result: dict = {"rule": __doc__.split("LIGHTING_RULE")[1].split("DS2 is reported")[0]}
    result["rule"] = "LIGHTING_RULE" + result["rule"]
    splits = {"DS1": list(DS1_RECORDS), "DS2": list(DS2_RECORDS)}
    seeds = {"DS1": 100, "DS2": 200}
    for split in args.splits:
        print(f"{split} ...", flush=True)
        figures = run_split(data_dir, splits[split], seed=seeds[split])
        sources = figures.pop("sources")
        if split == "DS1":
            result["unlit_renderers"] = unlit_evened(data_dir, splits[split], sources, seed=7)
            result["non_ecg"] = non_ecg(seed=11)
            result["decision"] = decide(figures, result["unlit_renderers"], result["non_ecg"])
        result[split] = figures
    result["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k in ("decision",)}, indent=1))
    for split in args.splits:
        print(split, json.dumps(result[split]["lit_pooled"]), result[split]["evening_ms_p50"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
