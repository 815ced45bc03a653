"""Out-of-fold predictions for every MIT-BIH DS1 record: a validation set of 22 patients for the
choices made AFTER the model (the app's per-recording steps, review settings, thresholds).

The shipped recording model trained on 18 of DS1's 22 records; only the four validation records
(106, 124, 209, 223) are patients it has not learnt, and four patients rank little (most SVEB
beats of them are record 209's). Here the shipped recipe (``mixed_pipeline.SHIPPED_PLAN``:
three seeds, PTB-XL folds 1-8 on four leads, the same validation beats for checkpoints and
calibration) is trained four more times, each time without one ``FOLDS`` group of the 18
training records (their MLII and V1/V5 beats both out). Each held-out record is then classified
by the model that never saw it, at its annotated R peaks as the review benchmark does
(``review_benchmark.cache_record``: the bundle's ``beat_windows`` + ``classify_windows``, the
model's calibration applied; Keras float32, one lead). With the shipped model's own view of the
four validation records this gives every DS1 record as a new patient. Nothing here reads DS2,
PTB-XL fold 10 or LUDB.

    python benchmarks/ds1_cross_fit.py --train     # four builds, ~12 min each on 2 cores
    python benchmarks/ds1_cross_fit.py --predict   # cache the held-out records' beats

A fold model is not the shipped model: it learnt from 13-14 MIT-BIH patients instead of 18
(record 207, the only DS1 record with ventricular flutter, is held out with its fold, so that
fold's model knows no ``!``). What it is for: telling whether a step after the model helps on
patients the model has not seen, with five times the patients of the validation records.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import review_benchmark as rb  # noqa: E402

from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402

OUT = ROOT / "build" / "cross_fit"
# The 18 training records in four groups, each holding out at most one of the left bundle
# branch block records (109, 207), of the right (118, 207) and of the A-rich ones (118, 201,
# 207, 220), with ventricular beats in every group; fixed before any fold was trained.
FOLDS: tuple[tuple[str, ...], ...] = (
    ("101", "109", "118", "122", "203"),
    ("108", "112", "119", "207"),
    ("114", "115", "116", "201", "208"),
    ("205", "215", "220", "230"),
)


def fold_name(k: int) -> str:
    return f"recording_mixed_fold{k}"


def fold_of(record: str) -> int:
    """The fold that holds ``record`` out (ValueError for a validation or DS2 record)."""
    for k, records in enumerate(FOLDS):
        if record in records:
            return k
    raise ValueError(f"record {record} is in no cross-fitting fold")


def fold_plan(k: int) -> Any:
    from ecg.training.mixed_pipeline import SHIPPED_PLAN

    kept = tuple(r for r in SHIPPED_PLAN.mitdb_records if r not in FOLDS[k])
    return replace(SHIPPED_PLAN, mitdb_records=kept)


def fold_bundle(k: int) -> Any:
    from ecg.models.bundle import load_bundle

    return load_bundle(OUT / f"fold{k}" / f"{fold_name(k)}.keras")


def out_of_fold_records(data_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every DS1 record's beats (``review_benchmark.cache_record`` fields) from a model that did
    not train on it: its fold's model, or the shipped model for the validation records; with
    the app's A-in-AF reading (``review_benchmark.with_af_context``)."""
    shipped = rb.shipped_recording_bundle()
    bundles: dict[int, Any] = {}
    records = {}
    for name in DS1_RECORDS:
        if name in DS1_VALIDATION_RECORDS:
            bundle = shipped
        else:
            k = fold_of(name)
            if k not in bundles:
                bundles[k] = fold_bundle(k)
            bundle = bundles[k]
        records[name] = rb.with_af_context(rb.cache_record(bundle, data_dir, name), data_dir, name)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--predict", action="store_true")
    parser.add_argument("--folds", nargs="+", type=int, default=list(range(len(FOLDS))))
    args = parser.parse_args()
    from ecg.io.ptbxl import default_ptbxl_dir
    from ecg.io.records import default_data_dir
    from ecg.training.mixed_pipeline import build

    mitdb, ptbxl = default_data_dir(), default_ptbxl_dir()
    if mitdb is None or ptbxl is None:
        sys.exit("needs MIT-BIH and PTB-XL (../shared/data or $ECG_DATA_DIR / $PTBXL_DIR)")
    assert sorted(sum(FOLDS, ())) == sorted(set(DS1_RECORDS) - set(DS1_VALIDATION_RECORDS))
    if args.train:
        for k in args.folds:
            started = time.perf_counter()
            build(mitdb, ptbxl, OUT / f"fold{k}", fold_plan(k), name=fold_name(k))
            print(f"fold {k}: {time.perf_counter() - started:.0f} s", flush=True)
    if args.predict:
        records = out_of_fold_records(mitdb)
        counts = {n: int(len(d["probs"])) for n, d in records.items()}
        (OUT / "predicted.json").write_text(json.dumps(counts, indent=1) + "\n")
        print(counts)


if __name__ == "__main__":
    main()
