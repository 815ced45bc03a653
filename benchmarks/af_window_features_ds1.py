"""Issue 20, point 3: does COSEn separate AF from non-AF over the app's 90-interval windows on DS1?

    python benchmarks/af_window_features_ds1.py [--data-dir ../shared/data/mitdb]

A diagnostic for the next step after the PTB-XL threshold study (docs/episodes.md), on DS1
only (DS2 is not read): the 22 DS1 records analysed as the app does
(``af_parameters_ds1.record_beats``: the shipped model, states, quality), their RR intervals cut
into windows of ``AF_WINDOW`` intervals every ``STEP`` intervals, each window AF when over half
of its span lies in reference AF (``(AFIB`` / ``(AFL``), not AF when none does (the rest left
out). Per window, ``ecg.features.af_features``' statistics with the app's ectopy left out
(``ectopic_skip`` with the classified V beats; unusable intervals and RR outside 0.2-3 s left
out too). Prints and writes the ROC AUC per feature (all DS1 windows pooled) to
``benchmarks/results/af_window_features_ds1.json``. Nothing is chosen here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from af_parameters_ds1 import record_beats  # noqa: E402
from af_parameters_ptbxl import FEATURES, auc  # noqa: E402

from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.features import af_features  # noqa: E402
from ecg.features.episodes import AF_WINDOW  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.models.registry import ModelRegistry  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "af_window_features_ds1.json"
STEP = 30


def af_share(start: float, end: float, reference: list[tuple[float, float]]) -> float:
    inside = sum(max(0.0, min(end, e) - max(start, s)) for s, e in reference)
    return inside / max(end - start, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    if data_dir is None or not data_dir.is_dir():
        sys.exit("MIT-BIH not found (../shared/data/mitdb or --data-dir)")
    bundle = ModelRegistry(ROOT / "models").serving_bundle(task="recording")
    values: dict[str, list[float]] = {name: [] for name in FEATURES}
    is_af: list[bool] = []
    windows_per_record = {}
    for record in DS1_RECORDS:
        row = record_beats(data_dir, record, bundle)
        peaks, fs = row["peaks"], row["fs"]
        rr = np.diff(peaks) / fs
        skip = af_features.ectopic_skip(rr, row["labels"] == "V")
        skip |= ~row["usable"] | (rr < 0.2) | (rr > 3.0)
        times = peaks / fs
        count = 0
        for a in range(0, rr.size - AF_WINDOW + 1, STEP):
            share = af_share(times[a], times[a + AF_WINDOW], row["reference"])
            if 0.0 < share <= 0.5:
                continue
            is_af.append(share > 0.5)
            for name, feature in FEATURES.items():
                values[name].append(feature(rr[a : a + AF_WINDOW], skip[a : a + AF_WINDOW]))
            count += 1
        windows_per_record[record] = count
    labels = np.array(is_af)
    result = {}
    for name, v in values.items():
        v = np.array(v)
        result[name] = {
            "auc": auc(v[labels], v[~labels]),
            "median_af": round(float(np.nanmedian(v[labels])), 4),
            "median_non_af": round(float(np.nanmedian(v[~labels])), 4),
            "p99_non_af": round(float(np.nanpercentile(v[~labels], 99)), 4),
        }
        print(f"{name:32s} {result[name]}")
    RESULTS.write_text(json.dumps({
        "records": list(DS1_RECORDS),
        "model": f"{bundle.name} v{bundle.version}",
        "window_intervals": AF_WINDOW,
        "step_intervals": STEP,
        "windows": {"AF": int(labels.sum()), "non_AF": int((~labels).sum())},
        "features": result,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=1) + "\n")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
