"""Photos that show the desk around the page: refuse them with a request to crop? (issue 19)

    nice -n 10 python benchmarks/digitise_photo_crop.py [--splits DS1 DS2]

Why: filling a photo's surroundings with the paper's colour was tried and not shipped
(``digitise_photo_lighting.py --mode page`` at commit c8ec55d, ``PAGE_RULE`` said no). Its run
showed that a photo whose page lies on a desk is read right in 16 % of cases, and that about a
fifth of such photos are read at a wrong scale or along a wrong trace without a warning: the
desk is not told apart from the page (red-brown wood reads as grid lines, a dark table as ink).
An answer the app cannot stand behind should be a refusal that says what to do. The candidate:
both uploads refuse a photo whose surroundings (``lighting.surroundings``: off the lit paper's
hue or far darker than a shadow, at least three reduced pixels thick, touching the edge) are
at least 1 % of it while the page is at least a quarter of it (``lighting.crop_refusal``),
"crop the photo to the paper and upload it again".

Images: those of ``digitise_photo_lighting.py`` (one 10-s strip and four beats a record, the
same renderers, each light), plus the page laid on a desk (``DESKS``: wood, dark grey, light
grey, blue-grey; each side's margin 1-8 % of the page's longer side, the page turned by up to
3 degrees, under one of the lights at random), read by the app's paths with the evening, with
and without the refusal. "Read wrong": read as an ECG but not right (the lighting benchmark's
definition of right).

CROP_RULE (written before any figure of this script on MIT-BIH was computed; the surroundings
detector is c8ec55d's, whose desk figures above are the only MIT-BIH ones seen, now looked for
whenever the middle of the image holds light paper rather than only when the image's median is
light: synthetic probes with much desk, and a dark matplotlib strip that must not be refused):
the app refuses such photos if and only if, on DS1 (all 22 records):

1. desk images (every renderer and desk pooled): the share read wrong falls to at most half;
2. images without a desk (every light, the even one included): the share read right pooled
   falls by at most 1 point and no (renderer, light) cell by more than 2 points;
3. the unlit images of every renderer of ``digitise_benchmark`` (two beats and one strip a
   record, as drawn): refused by the new check on at most 1 % of them.

DS2 is reported after the decision. Results: ``benchmarks/results/digitise_photo_crop.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.digitise_photo_lighting import (  # noqa: E402
    BEAT_RENDERERS,
    LIGHTS,
    STRIP_RENDERERS,
    photographed,
    rates,
    read_beat,
    read_strip,
    source_images,
    unlit_counts,
)
from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.imaging import lighting as L  # noqa: E402
from ecg.io import recording_image  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "digitise_photo_crop.json"
DESKS = {
    "desk_wood": (120, 85, 60),
    "desk_dark": (62, 60, 58),
    "desk_grey": (170, 170, 175),
    "desk_blue": (80, 100, 125),
}
CONDITIONS = LIGHTS + tuple(DESKS)
MAX_WRONG_SHARE_KEPT, MAX_POOLED_LOSS, MAX_CELL_LOSS, MAX_UNLIT_REFUSED = 0.5, 0.01, 0.02, 0.01


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
    photo = Image.fromarray(np.clip(np.array(colour, np.float32) + grain, 0, 255).astype(np.uint8))
    photo.paste(page, (left, top))
    return photo


def shot(image: Image.Image, condition: str, rng: np.random.Generator) -> bytes:
    """``image`` photographed under light ``condition``, or on desk ``condition`` under a light
    drawn at random."""
    if condition in DESKS:
        image, condition = on_desk(image, DESKS[condition], rng), str(rng.choice(LIGHTS))
    return photographed(image, condition, rng)


def _never(lighting: L.Lighting) -> None:
    return None


class Refusal:
    """The crop refusal switched on (the app as changed) or off (as before)."""

    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        self.saved = L.crop_refusal
        if not self.on:
            L.crop_refusal = recording_image.crop_refusal = _never
        return self

    def __exit__(self, *exc):
        L.crop_refusal = recording_image.crop_refusal = self.saved


def _read_beat(image: Image.Image, beat: np.ndarray, expected: str) -> dict:
    """``read_beat`` with the image upload's crop refusal in front, as ``_classify_foreign``."""
    if L.crop_refusal(L.even_lighting(image)):
        return {"read": False, "why": "crop", "evened": True}
    return read_beat(image, beat, expected, even=True)


def run_split(data_dir: Path, records, seed: int) -> dict:
    from ecg.imaging.ecg_check import check_ecg_image

    sources = source_images(data_dir, records, seed)
    rng = np.random.default_rng(seed + 1)
    rows: dict[tuple[str, str], dict[str, list]] = {}

    def add(key, before, after):
        cell = rows.setdefault(key, {"before": [], "after": []})
        cell["before"].append(before)
        cell["after"].append(after)

    for src in sources.values():
        for renderer, draw in STRIP_RENDERERS.items():
            image = draw(src["strip"]).image
            for condition in CONDITIONS:
                data = shot(image, condition, rng)
                with Refusal(False):
                    before = read_strip(data, src["strip"])
                with Refusal(True):
                    after = read_strip(data, src["strip"])
                add((renderer, condition), before, after)
        for renderer, draw in BEAT_RENDERERS.items():
            for beat in src["beats"]:
                image = draw(beat).image
                plain = check_ecg_image(image)
                expected = plain.digitised.scale_source if plain.digitised else "grid"
                for condition in CONDITIONS:
                    photo = Image.open(io.BytesIO(shot(image, condition, rng))).convert("RGB")
                    with Refusal(False):
                        before = _read_beat(photo, beat, expected)
                    with Refusal(True):
                        after = _read_beat(photo, beat, expected)
                    add((renderer, condition), before, after)

    def wrong(rs: list[dict]) -> float:
        return round(sum(r["read"] and not r["right"] for r in rs) / max(len(rs), 1), 4)

    cells = {
        f"{renderer} / {condition}": {
            arm: rates(v[arm]) | {"read_wrong": wrong(v[arm])} for arm in ("before", "after")
        }
        for (renderer, condition), v in rows.items()
    }
    pooled = {}
    for group, members in (("desk", list(DESKS)), ("no_desk", list(LIGHTS))):
        chosen = [v for k, v in rows.items() if k[1] in members]
        pooled[group] = {
            arm: rates([r for v in chosen for r in v[arm]])
            | {"read_wrong": wrong([r for v in chosen for r in v[arm]])}
            for arm in ("before", "after")
        }
    return {"records": list(records), "pooled": pooled, "cells": cells, "sources": sources}


def unlit_refused(records, sources: dict, seed: int) -> dict:
    """How often the crop refusal fires on images as the digitise benchmark's renderers draw
    them."""
    return unlit_counts(
        records,
        sources,
        np.random.default_rng(seed),
        lambda image: L.crop_refusal(L.even_lighting(image)) is not None,
        "refused",
    )


def decide(ds1: dict, unlit: dict) -> dict:
    desk, no_desk = ds1["pooled"]["desk"], ds1["pooled"]["no_desk"]
    wrong_b, wrong_a = desk["before"]["read_wrong"], desk["after"]["read_wrong"]
    loss = no_desk["before"]["read_right"] - no_desk["after"]["read_right"]
    worst = max(
        (c["before"]["read_right"] - c["after"]["read_right"], k)
        for k, c in ds1["cells"].items()
        if k.split(" / ")[1] in LIGHTS
    )
    checks = {
        "1_desk_wrong": {
            "before": wrong_b,
            "after": wrong_a,
            "met": wrong_a <= MAX_WRONG_SHARE_KEPT * wrong_b,
        },  # fmt: skip
        "2_no_desk_loss": {"value": round(loss, 4), "met": loss <= MAX_POOLED_LOSS},
        "2_worst_cell_loss": {
            "value": round(worst[0], 4),
            "cell": worst[1],
            "met": worst[0] <= MAX_CELL_LOSS,
        },  # fmt: skip
        "3_unlit_refused": {"value": unlit["share"], "met": unlit["share"] <= MAX_UNLIT_REFUSED},
    }
    return {"checks": checks, "refuse_uncropped_photos": all(c["met"] for c in checks.values())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mitdb"))
    parser.add_argument("--splits", nargs="*", default=["DS1", "DS2"])
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    t0 = time.time()
    rule = "CROP_RULE" + __doc__.split("CROP_RULE")[1].split("DS2 is reported")[0]
    result: dict = {"rule": rule}
    splits = {"DS1": list(DS1_RECORDS), "DS2": list(DS2_RECORDS)}
    seeds = {"DS1": 300, "DS2": 400}
    for split in args.splits:
        print(f"{split} ...", flush=True)
        figures = run_split(data_dir, splits[split], seed=seeds[split])
        sources = figures.pop("sources")
        if split == "DS1":
            result["unlit_renderers"] = unlit_refused(splits[split], sources, seed=9)
            result["decision"] = decide(figures, result["unlit_renderers"])
        result[split] = figures
    result["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result.get("decision"), indent=1))
    for split in args.splits:
        print(split, json.dumps(result[split]["pooled"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
