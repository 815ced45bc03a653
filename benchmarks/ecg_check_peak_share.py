"""Issue 19: should a trace whose large deflections are not brief be flagged whatever its slope?

    python benchmarks/ecg_check_peak_share.py [--data-dir DIR] [--per-class 40]

The image property tests (``tests/hostile/test_image_properties.py``) found non-ECG images the
check reads as an ECG, among them a colour gradient and photo-like images whose followed
trace is a step: most of it beyond half its largest deflection (``peak_share`` 0.43-0.98). The
check flags a high ``peak_share`` only together with a low slope kurtosis (``MAX_PEAK_SHARE``
and ``MIN_SLOPE_KURTOSIS``, for sines and random walks), and a step's one jump has a high
kurtosis. The candidate: flag any trace with ``peak_share`` over ``CANDIDATE`` (0.35), set from
an exploratory look at 12 DS1 beats a class (largest 0.23; the check's own comment says a noisy
DS1 record reaches 0.27).

The rule, written before this script's figures: the candidate ships if, on the digitise
benchmark's MIT-BIH DS1 images (train and validation records, ``--per-class`` beats a class,
every beat renderer; one 10-s strip a record, every strip renderer; drawn as
``benchmarks/digitise_benchmark.py`` draws them), it flags at most 0.2 % of the images the
current check reads as an ECG, and it catches at least one non-ECG image the check passes
(the property tests' pinned ones and the benchmark's generated kinds). DS2 is not read.
Writes ``benchmarks/results/ecg_check_peak_share.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecgsite.settings")

from benchmarks import digitise_benchmark as B  # noqa: E402
from benchmarks import digitise_renderers as R  # noqa: E402
from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.imaging.ecg_check import check_ecg_image, peak_share  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402

CANDIDATE = 0.35
MAX_NEWLY_FLAGGED = 0.002


def _image(drawn):
    return drawn.image if hasattr(drawn, "image") else drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/ecg_check_peak_share.json"))
    args = parser.parse_args(argv)
    import django

    django.setup()
    from tests.hostile.test_image_properties import (
        PINNED_NOT_ECGS,
        decoded,
        encoded,
        non_ecg_image,
    )

    rng = np.random.default_rng(0)
    signals, strips, beats, _ = B.sample_beats(
        resolve_data_dir(args.data_dir), list(DS1_RECORDS), args.per_class, 0
    )
    shares: dict[str, list[float]] = {}
    for name, at, _label in beats:
        x = signals[name][at - B.PRE : at + B.POST]
        for renderer, draw in B.beat_renderers(rng).items():
            verdict = check_ecg_image(_image(draw(x)))
            if verdict.status == "ecg":
                shares.setdefault(renderer, []).append(peak_share(verdict.digitised.signal))
    for x in strips.values():
        for renderer, draw in B.strip_renderers(rng).items():
            verdict = check_ecg_image(_image(draw(x)))
            if verdict.status == "ecg":
                shares.setdefault(f"strip_{renderer}", []).append(
                    peak_share(verdict.digitised.signal)
                )
    read = sum(len(v) for v in shares.values())
    flagged = {r: int(np.sum(np.array(v) > CANDIDATE)) for r, v in shares.items()}
    newly = sum(flagged.values())

    generated = np.random.default_rng(7)
    non_ecg = [(f"pinned {kind} {size}", decoded(encoded(non_ecg_image(kind, size, seed), q)))
               for kind, size, seed, q in PINNED_NOT_ECGS]  # fmt: skip
    non_ecg += [(f"generated {kind}", make()) for kind, make in (
        ("photo", lambda: R.photo_like(generated)), ("noise", lambda: R.noise_image(generated)),
        ("document", lambda: R.document(generated)),
        ("screenshot", lambda: R.screenshot(generated)),
        ("random_walk", lambda: R.random_walk_image(generated))) for _ in range(25)]  # fmt: skip
    caught, passed = [], 0
    for name, image in non_ecg:
        verdict = check_ecg_image(image)
        if verdict.status == "ecg":
            passed += 1
            share = peak_share(verdict.digitised.signal)
            if share > CANDIDATE:
                caught.append({"image": name, "peak_share": round(share, 3)})
    ship = newly <= MAX_NEWLY_FLAGGED * read and len(caught) >= 1
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "candidate": CANDIDATE,
        "rule": {"newly_flagged_at_most_share": MAX_NEWLY_FLAGGED, "non_ecg_caught_at_least": 1},
        "ds1_images_read_as_ecg": read,
        "ds1_newly_flagged": newly,
        "ds1_newly_flagged_by_renderer": {r: n for r, n in flagged.items() if n},
        "ds1_peak_share_max_by_renderer": {r: round(max(v), 3) for r, v in shares.items()},
        "non_ecg_images": len(non_ecg),
        "non_ecg_passing_the_check": passed,
        "non_ecg_caught": caught,
        "ship": bool(ship),
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("ds1_images_read_as_ecg", "ds1_newly_flagged",
                                          "non_ecg_passing_the_check", "non_ecg_caught",
                                          "ship")}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
