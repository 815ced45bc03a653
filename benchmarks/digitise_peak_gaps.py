"""Issue 19: a large deflection broken by a sample or two counted once (``count_peaks``)?

    python benchmarks/digitise_peak_gaps.py [--data-dir DIR]

The digitiser calls a trace a strip when it holds three or more large deflections (over half
the largest). A beat on ECG paper turned by 2.76 degrees with a 1-px line, turned back upright,
held its R wave as three runs one sample apart (the thin steep stroke zigzags between
neighbouring columns): it was called a strip, and the image upload refused it as "a strip of
several beats" (pinned by the image property tests). The candidate
(``digitise.PEAK_GAP_SAMPLES`` = 2): runs under half the largest for at most 2 samples are
one deflection.

The rule, written before this script's figures: kept if on the digitise benchmark's DS1 images
(training and validation records, ``--no-model``, every beat and strip renderer, 25 non-ECG
images a kind) no beat renderer's share of images read as a single beat falls, no renderer's
median correlation falls by over 0.005, none's share of durations within 5 % falls, and no
non-ECG kind is refused or flagged less often, against the same run with 0. DS2 is not read.
Writes ``benchmarks/results/digitise_peak_gaps.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecgsite.settings")

BEFORE, CANDIDATE = 0, 2
FIGURES = ("kind_single_beat", "median_corr_aligned", "share_duration_within_5pct")
MAX_CORRELATION_DROP = 0.005


def _run(gap: int, data_dir: str | None) -> dict:
    import ecg.imaging.digitise as digitise
    from benchmarks.digitise_benchmark import ds1_figures

    digitise.PEAK_GAP_SAMPLES = gap
    return ds1_figures(FIGURES, non_ecg=25, data_dir=data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/digitise_peak_gaps.json"))
    args = parser.parse_args(argv)
    import django

    django.setup()
    import ecg.imaging.digitise as digitise

    shipped = digitise.PEAK_GAP_SAMPLES
    try:
        before, after = _run(BEFORE, args.data_dir), _run(CANDIDATE, args.data_dir)
    finally:
        digitise.PEAK_GAP_SAMPLES = shipped
    worse, changed = [], []
    for split, renderers in before["renderers"].items():
        for r, fa in renderers.items():
            fb = after["renderers"][split][r]
            if fa != fb:
                changed.append({"split": split, "renderer": r, "before": fa, "after": fb})
            for figure, slack in (("kind_single_beat", 0.0), ("share_duration_within_5pct", 0.0),
                                  ("median_corr_aligned", MAX_CORRELATION_DROP)):  # fmt: skip
                if figure in fa and fb[figure] < fa[figure] - slack:
                    worse.append({"split": split, "renderer": r, "figure": figure})
    for kind, share in before["non_ecg"].items():
        if after["non_ecg"][kind] < share:
            worse.append({"non_ecg": kind, "before": share, "after": after["non_ecg"][kind]})
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "peak_gap_samples": {"before": BEFORE, "candidate": CANDIDATE},
        "rule": {
            "single_beat_share_may_not_fall": True,
            "median_correlation_drop_at_most": MAX_CORRELATION_DROP,
            "share_of_durations_within_5pct_may_not_fall": True,
            "non_ecg_refused_or_flagged_may_not_fall": True,
        },
        "changed": changed,
        "worse": worse,
        "keep": not worse,
        "runs": {"before": before, "after": after},
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("changed", "worse", "keep")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
