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

``--mode page``: a photo whose page does not fill the frame. The lighting rule said yes; then a
synthetic probe (not MIT-BIH) found a pink strip photographed on a brown desk read at a wrong
time scale (17 s for 10: the desk's red-brown pixels taken for grid lines) or refused.
``lighting.surroundings`` now leaves out (fills with the paper's colour) what is off the lit
paper's hue or far darker than a shadow, at least three reduced pixels thick and touching the
image's edge, when it is at least 1 % of the image and the page at least a quarter of it.
The same images as above plus the page laid on a desk (``DESKS``: wood, dark grey, light grey,
blue-grey; each side's margin 1-8 % of the page's longer side, the page turned by up to 3
degrees, under one of the lights at random), both arms with the evening.

PAGE_RULE (written before any figure of ``--mode page`` on MIT-BIH was computed; the step was
developed on synthetic strips only): the app leaves out a photo's surroundings if and only if,
on DS1:

1. desk images (every renderer and desk pooled): the share read right rises by at least 10
   points, and no (renderer, desk) cell loses more than 2 points;
2. images without a desk (every light): the share read right pooled moves by at most 1 point,
   and no (renderer, light) cell loses more than 2 points;
3. desk images read right both ways: the median correlation falls by at most 0.01;
4. and 5. as the lighting rule's 3 and 4 (unlit renderers changed on at most 1 %; no non-ECG
   image, as drawn, lit or on a desk, newly read as an ECG).

DS2 is reported after the decision. Results: ``benchmarks/results/digitise_photo_page.json``.
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
DESKS = {
    "desk_wood": (120, 85, 60),
    "desk_dark": (62, 60, 58),
    "desk_grey": (170, 170, 175),
    "desk_blue": (80, 100, 125),
}
CONDITIONS = {"lighting": LIGHTS, "page": LIGHTS + tuple(DESKS)}
RESULTS_BY_MODE = {
    "lighting": RESULTS,
    "page": ROOT / "benchmarks" / "results" / "digitise_photo_page.json",
}
STRENGTH = (0.2, 0.5)
MIN_CORR = 0.8
# The notes of a recording read from an image the step changed (``Lighting.notes``).
CHANGED_NOTES = (L.NOTE, "the photo's surroundings")
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


def on_desk(image: Image.Image, colour: tuple[int, int, int], rng: np.random.Generator):
    """``image`` (the page) turned by up to 3 degrees and laid on a textured desk of ``colour``,
    each side's margin 1-8 % of the page's longer side."""
    page = image.convert("RGB").rotate(
        float(rng.uniform(-3, 3)), Image.Resampling.BILINEAR, expand=True, fillcolor=colour
    )
    w, h = page.size
    left, right, top, bottom = (int(rng.uniform(0.01, 0.08) * max(w, h)) for _ in range(4))
    size = (w + left + right, h + top + bottom)
    grain = rng.normal(0, 6, (size[1], size[0], 1)).astype(np.float32)
    desk = np.clip(np.array(colour, np.float32) + grain, 0, 255).astype(np.uint8)
    photo = Image.fromarray(desk)
    photo.paste(page, (left, top))
    return photo


def photographed(image: Image.Image, kind: str, rng: np.random.Generator) -> bytes:
    """``image`` under light ``kind`` (or on desk ``kind`` under a light drawn at random) with
    a colour cast, sensor noise and JPEG (quality 85)."""
    if kind in DESKS:
        image, kind = on_desk(image, DESKS[kind], rng), str(rng.choice(LIGHTS))
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


def _none_around(small: np.ndarray, lit: np.ndarray) -> np.ndarray:
    return np.zeros(small.shape[:2], bool)


def _not_evened(image: Image.Image) -> L.Lighting:
    return L.Lighting(image, False, 0.0)


class Arm:
    """The app's paths with or without the evening, and with or without leaving out a photo's
    surroundings of the page (``lighting.surroundings``)."""

    def __init__(self, *, evening: bool, page: bool):
        self.evening, self.page = evening, page

    def __enter__(self):
        self.saved = recording_image.even_lighting, L.surroundings
        if not self.evening:
            recording_image.even_lighting = _not_evened
        if not self.page:
            L.surroundings = _none_around

    def __exit__(self, *exc):
        recording_image.even_lighting, L.surroundings = self.saved


# (before, after) per mode: LIGHTING_RULE compares no evening with the evening alone (the code
# it was decided on had no surroundings step); PAGE_RULE adds the surroundings step.
ARMS = {
    "lighting": (dict(evening=False, page=False), dict(evening=True, page=False)),
    "page": (dict(evening=True, page=False), dict(evening=True, page=True)),
}


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
        "evened": any(
            n == L.NOTE or n.startswith("the photo's surroundings") for n in parsed.notes
        ),
    }


def read_beat(image: Image.Image, truth: np.ndarray, expected_source: str) -> dict:
    """A beat image through the image upload's steps (``classifier.model_service``), the
    evening as the current ``Arm`` has it."""
    lit = recording_image.even_lighting(image)
    if len(find_rows(lit.image).rows) >= 2:
        return {"read": False, "why": "multi-row"}
    verdict = check_ecg_image(lit.image)
    d = verdict.digitised
    if verdict.status != "ecg" or d is None:
        return {"read": False, "why": verdict.status, "evened": lit.changed}
    corr = signal_scores(d, truth)["corr"]
    right = d.kind == "single_beat" and d.scale_source == expected_source and corr >= MIN_CORR
    return {"read": True, "right": bool(right), "corr": corr, "evened": lit.changed}


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


def run_split(data_dir: Path, records, seed: int, mode: str = "lighting") -> dict:
    sources = source_images(data_dir, records, seed)
    rng = np.random.default_rng(seed + 1)
    conditions = CONDITIONS[mode]
    before_arm, after_arm = ARMS[mode]
    rows: dict[tuple[str, str], dict[str, list]] = {}
    evening_ms: dict[str, list[float]] = {"evened": [], "left": []}
    for src in sources.values():
        for renderer, draw in STRIP_RENDERERS.items():
            image = draw(src["strip"]).image
            for light in conditions:
                data = photographed(image, light, rng)
                with Arm(**after_arm):
                    t0 = time.perf_counter()
                    lit = L.even_lighting(Image.open(io.BytesIO(data)).convert("RGB"))
                    evening_ms["evened" if lit.changed else "left"].append(
                        1000 * (time.perf_counter() - t0)
                    )
                    after = read_strip(data, src["strip"])
                with Arm(**before_arm):
                    before = read_strip(data, src["strip"])
                cell = rows.setdefault((renderer, light), {"before": [], "after": []})
                cell["before"].append(before)
                cell["after"].append(after)
        for renderer, draw in BEAT_RENDERERS.items():
            for beat in src["beats"]:
                image = draw(beat).image
                plain = check_ecg_image(image)
                expected = plain.digitised.scale_source if plain.digitised else "grid"
                for light in conditions:
                    shot = Image.open(io.BytesIO(photographed(image, light, rng))).convert("RGB")
                    cell = rows.setdefault((renderer, light), {"before": [], "after": []})
                    with Arm(**before_arm):
                        cell["before"].append(read_beat(shot, beat, expected))
                    with Arm(**after_arm):
                        cell["after"].append(read_beat(shot, beat, expected))
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
    groups = {"lit": [c for c in LIGHTS if c != "even"], "desk": list(DESKS)}
    out: dict = {"records": list(records), "cells": cells}
    for group, members in groups.items():
        chosen = [(k, v) for k, v in rows.items() if k[1] in members]
        if not chosen:
            continue
        out[f"{group}_pooled"] = {
            arm: rates([r for _, v in chosen for r in v[arm]]) for arm in ("before", "after")
        }
        pairs = [(x["corr"], y["corr"]) for _, v in chosen
                 for x, y in zip(v["before"], v["after"], strict=True)
                 if x["read"] and y["read"] and x["right"] and y["right"]]  # fmt: skip
        out[f"{group}_median_corr_both_right"] = [
            round(float(np.median([p[0] for p in pairs])), 4) if pairs else None,
            round(float(np.median([p[1] for p in pairs])), 4) if pairs else None,
        ]
    return out | {
        "evening_ms_p50": {
            k: round(float(np.median(v)), 1) if v else None for k, v in evening_ms.items()
        },
        "sources": sources,
    }


def unlit_evened(data_dir: Path, records, sources: dict, seed: int, mode: str) -> dict:
    """How often the step under test changes images as the digitise benchmark's renderers
    draw them (the "after" arm of ``mode``)."""
    rng = np.random.default_rng(seed + 2)
    beats, strips = beat_renderers(rng), strip_renderers(rng)
    counts: dict[str, list[int]] = {}

    def changed(image: Image.Image) -> int:
        with Arm(**ARMS[mode][1]):
            return int(L.even_lighting(image.convert("RGB")).changed)

    for name in records:
        src = sources[name]
        for renderer, draw in beats.items():
            for beat in src["beats"][:2]:
                counts.setdefault(f"beat {renderer}", []).append(changed(draw(beat).image))
        for renderer, draw in strips.items():
            counts.setdefault(f"strip {renderer}", []).append(changed(draw(src["strip"]).image))
    total = sum(sum(v) for v in counts.values())
    n = sum(len(v) for v in counts.values())
    return {
        "images": n,
        "evened": total,
        "share": round(total / max(n, 1), 4),
        "by_renderer": {k: sum(v) for k, v in counts.items() if sum(v)},
    }


def non_ecg(seed: int, mode: str) -> dict:
    """The digitise benchmark's non-ECG kinds, as drawn (PNG) and photographed under each light
    (and on each desk, ``--mode page``): read as an ECG in the "before" and "after" arms."""
    rng = np.random.default_rng(seed + 3)
    makers = non_ecg_makers(rng)
    before_arm, after_arm = ARMS[mode]
    out: dict[str, dict] = {}
    newly = []
    for kind, make in makers.items():
        for i in range(NON_ECG_PER_KIND):
            image = make()
            variants = {"as drawn": Image.open(io.BytesIO(png(image))).convert("RGB")}
            for light in CONDITIONS[mode][1:]:
                variants[light] = Image.open(io.BytesIO(photographed(image, light, rng))).convert(
                    "RGB"
                )
            for how, shot in variants.items():
                with Arm(**before_arm):
                    before = check_ecg_image(recording_image.even_lighting(shot).image)
                with Arm(**after_arm):
                    lit = recording_image.even_lighting(shot)
                    after = check_ecg_image(lit.image)
                before, after = before.status == "ecg", after.status == "ecg"
                cell = out.setdefault(f"{kind} / {how}", {"n": 0, "ecg_before": 0,
                                                          "ecg_after": 0, "evened": 0})  # fmt: skip
                cell["n"] += 1
                cell["ecg_before"] += int(before)
                cell["ecg_after"] += int(after)
                cell["evened"] += int(lit.changed)
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


def _worst_cell(ds1: dict, conditions) -> tuple[float, str]:
    return min(
        (c["after"]["read_right"] - c["before"]["read_right"], k)
        for k, c in ds1["cells"].items()
        if k.split(" / ")[1] in conditions
    )


def decide_page(ds1: dict, unlit: dict, non: dict) -> dict:
    desk_b, desk_a = ds1["desk_pooled"]["before"], ds1["desk_pooled"]["after"]
    lit_b, lit_a = ds1["lit_pooled"]["before"], ds1["lit_pooled"]["after"]
    even = ds1["cells"]
    even_b = np.mean([c["before"]["read_right"] for k, c in even.items() if k.endswith("/ even")])
    even_a = np.mean([c["after"]["read_right"] for k, c in even.items() if k.endswith("/ even")])
    gain = desk_a["read_right"] - desk_b["read_right"]
    worst_desk = _worst_cell(ds1, DESKS)
    worst_light = _worst_cell(ds1, LIGHTS)
    # images without a desk: the uneven lights pooled, and the even light's cells averaged
    moved = max(abs(lit_a["read_right"] - lit_b["read_right"]), abs(even_a - even_b))
    corr_b, corr_a = ds1["desk_median_corr_both_right"]
    corr_drop = (corr_b - corr_a) if corr_b is not None and corr_a is not None else 0.0
    checks = {
        "1_desk_gain": {"value": round(gain, 4), "need": RULE_GAIN, "met": gain >= RULE_GAIN},
        "1_worst_desk_cell": {
            "value": round(worst_desk[0], 4),
            "cell": worst_desk[1],
            "met": worst_desk[0] >= -RULE_CELL_LOSS,
        },  # fmt: skip
        "2_no_desk_moved": {"value": round(float(moved), 4), "met": moved <= 0.01},
        "2_worst_light_cell": {
            "value": round(worst_light[0], 4),
            "cell": worst_light[1],
            "met": worst_light[0] >= -RULE_CELL_LOSS,
        },  # fmt: skip
        "3_corr_drop": {"value": round(corr_drop, 4), "met": corr_drop <= RULE_CORR_LOSS},
        "4_unlit_changed": {"value": unlit["share"], "met": unlit["share"] <= RULE_UNLIT_EVENED},
        "5_non_ecg_newly_read": {
            "value": len(non["newly_read_as_ecg"]),
            "met": not non["newly_read_as_ecg"],
        },  # fmt: skip
    }
    return {"checks": checks, "leave_out_surroundings": all(c["met"] for c in checks.values())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mitdb"))
    parser.add_argument("--splits", nargs="*", default=["DS1", "DS2"])
    parser.add_argument("--mode", choices=sorted(ARMS), default="lighting")
    parser.add_argument("--out", help="default: the mode's results file")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    out = Path(args.out) if args.out else RESULTS_BY_MODE[args.mode]
    t0 = time.time()
    name, end = ("LIGHTING_RULE", "DS2 is reported") if args.mode == "lighting" else (
        "PAGE_RULE", "DS2 is reported after the decision. Results: ``benchmarks/results/digitise"
        "_photo_page")  # fmt: skip
    result: dict = {"mode": args.mode, "rule": name + __doc__.split(name)[1].split(end)[0]}
    splits = {"DS1": list(DS1_RECORDS), "DS2": list(DS2_RECORDS)}
    seeds = {"DS1": 100, "DS2": 200}
    for split in args.splits:
        print(f"{split} ...", flush=True)
        figures = run_split(data_dir, splits[split], seed=seeds[split], mode=args.mode)
        sources = figures.pop("sources")
        if split == "DS1":
            result["unlit_renderers"] = unlit_evened(
                data_dir, splits[split], sources, seed=7, mode=args.mode
            )
            result["non_ecg"] = non_ecg(seed=11, mode=args.mode)
            decide_mode = decide if args.mode == "lighting" else decide_page
            result["decision"] = decide_mode(figures, result["unlit_renderers"], result["non_ecg"])
        result[split] = figures
    result["seconds"] = round(time.time() - t0, 1)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k in ("decision",)}, indent=1))
    for split in args.splits:
        pooled = {k: v for k, v in result[split].items() if k.endswith("_pooled")}
        print(split, json.dumps(pooled), result[split]["evening_ms_p50"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
