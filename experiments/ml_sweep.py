"""Hyperparameter comparison on inter-patient VALIDATION macro-F1 (DS1 records held out).

Trains each named variation of the recording / image models on the inter-patient split in
parallel processes and prints ``<name> RESULT best_val ...`` lines; DS2 is never looked at.
The figures in experiments/results/ml_sweep_h200.txt came from this script on a lent H200
machine (Keras on the torch backend, 16 CPU cores, all variations at once, beats cached as
float16): ``KERAS_BACKEND=torch python experiments/ml_sweep.py --cache beats.npz``. On the
2-core CPU run it with a few names at a time.

    python experiments/ml_sweep.py [--cache build/beats_mlii.npz] [NAME ...]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPEC = {"representation": "spectrogram", "noise_mv": 0.0}
S12 = {**SPEC, "params": {"segment_s": 0.12}}
BIG = {"filters": (16, 32, 64, 64), "dense": 128}
G = {"gain": (0.6, 1.6)}
IMG = {"use_rr": False}
# Every variation uses the "rr" input unless it says use_rr False.
EXPERIMENTS = {
    # round 1: beat image + RR and what changes it
    "base": {}, "base_s1": {"seed": 1}, "base_s2": {"seed": 2},
    "wide": {"pre_s": 0.35, "post_s": 0.55},
    "long": {"max_epochs": 30, "patience": 6, "cap": 6000},
    "gain": G, "noweights": {"balanced_weights": False}, "big": BIG,
    "wide_gain": {"pre_s": 0.35, "post_s": 0.55, **G},
    "spec_rr": SPEC, "img_only": IMG, "spec_only": {**SPEC, **IMG},
    # round 2: spectrogram + RR
    "spec_rr_s1": {**SPEC, "seed": 1}, "spec_rr_s2": {**SPEC, "seed": 2},
    "spec_rr_gain": {**SPEC, **G}, "spec_rr_big": {**SPEC, **BIG},
    "spec_rr_wide": {**SPEC, "pre_s": 0.35, "post_s": 0.55},
    "spec_rr_long": {**SPEC, "max_epochs": 30, "patience": 6, "cap": 6000},
    "spec_rr_now": {**SPEC, "balanced_weights": False},
    "spec_rr_lr": {**SPEC, "learning_rate": 5e-4},
    "spec_rr_seg12": S12, "spec_rr_db60": {**SPEC, "params": {"db_range": [-60.0, 0.0]}},
    "spec_only_gain": {**SPEC, **IMG, **G}, "spec_only_big": {**SPEC, **IMG, **BIG},
    "img_only_gain": {**IMG, **G}, "img_only_big": {**IMG, **BIG},
    # round 3: combinations and seeds
    "s12_big": {**S12, **BIG}, "s12_big_gain": {**S12, **BIG, **G}, "s12_gain": {**S12, **G},
    "s12_s1": {**S12, "seed": 1}, "s12_s2": {**S12, "seed": 2},
    "s09": {**SPEC, "params": {"segment_s": 0.09}},
    "s12_hop8": {**SPEC, "params": {"segment_s": 0.12, "hop_s": 0.008}},
    "spec_only_s12": {**S12, **IMG}, "spec_only_s12_gain": {**S12, **G, **IMG},
    "spec_only_s12_big_gain": {**S12, **BIG, **G, **IMG},
    "img_only_gain_big": {**BIG, **G, **IMG}, "img_only_gain_s1": {**G, **IMG, "seed": 1},
    "img_rr_gain": G, "img_rr_gain_big": {**G, **BIG},
}  # fmt: skip


def run(args: tuple[str, str]) -> str:
    name, cache = args
    import numpy as np

    from ecg.training import dataset, pipeline
    from ecg.training.training import ModelConfig, train

    table = dataset.load_beat_table(cache)
    table.windows = np.asarray(table.windows, dtype=np.float32)
    labels = table.labels("six")
    split = pipeline.make_splits(table)["inter"]
    config = ModelConfig(name, **{"use_rr": True, **EXPERIMENTS[name]})
    _, record = train(config, table, split, labels, 6, work_dir="/tmp/ml_sweep")
    line = (
        f"{time.strftime('%H:%M:%S')} {name} RESULT best_val "
        f"{record['best_validation_macro_f1']:.4f} epoch {record['best_epoch']}/"
        f"{record['epochs_run']} secs {record['train_seconds']}"
    )
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"variations (default: all {len(EXPERIMENTS)})")
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--processes", type=int, default=0, help="default: one per variation")
    args = parser.parse_args()
    names = args.names or list(EXPERIMENTS)
    unknown = set(names) - set(EXPERIMENTS)
    if unknown:
        parser.error(f"unknown variations {sorted(unknown)}")
    with mp.get_context("spawn").Pool(args.processes or len(names)) as pool:
        pool.map(run, [(n, args.cache) for n in names])


if __name__ == "__main__":
    main()
