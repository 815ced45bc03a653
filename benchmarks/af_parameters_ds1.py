"""Issue 20, point 3: the grid on DS1 that chose the irregularity AF detector's parameters.

Its rule (AF_ON 0.08 / AF_OFF 0.056) shipped until the COSEn rule of ``af_cosen_ds1.py`` won
on DS1; this grid scores the irregularity rule alone (``AF_COSEN_ON`` off for the call).

    python benchmarks/af_parameters_ds1.py [--data-dir ../shared/data/mitdb]

Analyses the 22 DS1 records as the app does (``ecg.analyse``, the shipped recording model),
then scores ``ecg.features.episodes.af_episodes`` (without its edge refinement, which came
after the choice) for every point of the grid below against the reference AF (``(AFIB``,
``(AFL``), pooled EC57 scores as in ``episodes_benchmark.py``. The point kept is the one with
the best worst of the four scores (ties: the larger sum, then the first in grid order). DS2 is
not read. Results go to ``benchmarks/results/af_parameters_ds1.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from af_cosen_ds1 import pooled_scores  # noqa: E402
from episodes_benchmark import record_intervals  # noqa: E402

from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.features import episodes as rules  # noqa: E402
from ecg.io.recording_io import parse_upload  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.models.registry import ModelRegistry  # noqa: E402
from ecg.recording_analysis import analyse, unreadable_spans  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "af_parameters_ds1.json"
GRID = {
    "AF_WINDOW": (40, 60, 90),
    "AF_LAGS": (2, 3),
    "AF_ON": (0.05, 0.06, 0.07, 0.08, 0.1),
    "off_over_on": (0.7, 1.0),
    "AF_MIN_S": (30.0, 20.0),  # the rule's 30 s first: on a tie, grid order keeps it
    "AF_MIN_SHARE": (0.25, 0.5),
}
SCORES = ("episode_sensitivity", "episode_positive_predictivity", "duration_sensitivity",
          "duration_positive_predictivity")  # fmt: skip


def record_beats(data_dir: Path, name: str, bundle) -> dict:
    """What the app passes the AF detector for one record, and the reference AF."""
    files = [(f"{name}{ext}", (data_dir / f"{name}{ext}").read_bytes()) for ext in (".hea", ".dat")]
    recording = parse_upload(files)
    analysis = analyse(recording, bundle)
    fs, peaks = recording.fs, analysis.beats.samples
    spans = unreadable_spans(analysis.quality)
    usable = rules.usable_intervals(peaks, fs, states=analysis.states.tolist(), unreadable_s=spans)
    return {
        "peaks": peaks,
        "labels": np.where(analysis.states == "classified", analysis.beats.labels, ""),
        "usable": usable,
        "fs": fs,
        "reference": record_intervals(data_dir, name, fs, len(recording.signal))["AF"],
    }


def score(rows: dict[str, dict], point: dict[str, float]) -> dict:
    """Pooled EC57 scores of the detector with ``point``'s parameters (module constants set for
    the call, then restored)."""
    saved = {name: getattr(rules, name) for name in ("AF_WINDOW", "AF_LAGS", "AF_ON", "AF_OFF",
                                                     "AF_MIN_S", "AF_MIN_SHARE",
                                                     "AF_COSEN_ON")}  # fmt: skip
    try:
        rules.AF_COSEN_ON = None  # this grid is of the irregularity rule alone
        for name, value in point.items():
            if name != "off_over_on":
                setattr(rules, name, value)
        rules.AF_OFF = point["AF_ON"] * point["off_over_on"]
        return pooled_scores(
            rows,
            lambda row: rules.af_episodes(
                row["peaks"], row["labels"], row["fs"], usable=row["usable"], refine_edges=False
            ),
        )
    finally:
        for name, value in saved.items():
            setattr(rules, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    if data_dir is None or not data_dir.is_dir():
        sys.exit("MIT-BIH not found (../shared/data/mitdb or --data-dir)")
    registry = ModelRegistry(ROOT / "models")
    bundle = registry.serving_bundle(task="recording")
    rows = {name: record_beats(data_dir, name, bundle) for name in DS1_RECORDS}

    results = []
    for values in itertools.product(*GRID.values()):
        point = dict(zip(GRID, values, strict=True))
        scores = score(rows, point)
        figures = [scores[key] or 0.0 for key in SCORES]
        results.append({"point": point, "worst": min(figures), "sum": sum(figures),
                        "scores": scores})  # fmt: skip
    ranked = sorted(results, key=lambda r: (-r["worst"], -r["sum"]))
    for row in ranked[:10]:
        print(
            f"worst {row['worst']:.4f}  " + "  ".join(f"{k} {v}" for k, v in row["point"].items())
        )
    chosen = ranked[0]["point"]
    # The irregularity rule this grid chose (AF_ON 0.08, off / on 0.7) was replaced by the
    # COSEn rule of af_cosen_ds1.py; shipped AF_ON / AF_OFF are None then.
    shipped = {"AF_WINDOW": rules.AF_WINDOW, "AF_LAGS": rules.AF_LAGS, "AF_ON": rules.AF_ON,
               "AF_OFF": rules.AF_OFF, "AF_COSEN_ON": rules.AF_COSEN_ON,
               "AF_MIN_S": rules.AF_MIN_S, "AF_MIN_SHARE": rules.AF_MIN_SHARE}  # fmt: skip
    print(f"\nchosen {chosen}\nshipped {shipped}")
    RESULTS.write_text(json.dumps({
        "records": list(DS1_RECORDS),
        "model": f"{bundle.name} v{bundle.version}",
        "grid": GRID,
        "criterion": "best worst of the four pooled EC57 scores; ties: larger sum, grid order",
        "chosen": chosen,
        "shipped": shipped,
        "top": ranked[:10],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=1) + "\n")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
