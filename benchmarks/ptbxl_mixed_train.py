"""Train on MIT-BIH DS1 + PTB-XL folds 1-8 (issue 17, points 3 and 6), validate on the DS1
validation records + PTB-XL fold 9. Nothing here reads DS2, PTB-XL fold 10 or LUDB.

    python benchmarks/ptbxl_mixed_train.py            # tables (cached), then the three models
    python benchmarks/ptbxl_mixed_train.py --epochs 2 # a set-up check
    python benchmarks/ptbxl_mixed_train.py --seeds 1 2 --only mixed_spec_ctx_v2 \
        mixed_spec_ctx_v2_nobl                          # more seeds of two models

Trains, seeds fixed, on the same mixed table:

- ``mixed_spec_ctx_v2``: the shipped recording model's architecture (spectrogram + RR + record
  context), feature set ``rr+record_context_v2``, half of each epoch's beats band-limited to
  100 Hz (``augment.band_limit``) so MIT-BIH beats also look like PTB-XL's;
- ``mixed_spec_ctx_v2_nobl``: the same without band-limiting (what the augmentation changes);
- ``mixed_original_cnn``: the original project's CNN (no augmentation, no class weights).

Models go to ``build/mixed/models/`` (never ``models/``); the run's record, with each model's
validation figures per source, to ``benchmarks/results/mixed_training_run.json``. Seed 0 (the
default) keeps the original names and run file, so the first run stays reproducible; any other
seed ``s`` trains ``<name>_seed<s>`` and records it in
``benchmarks/results/mixed_training_seeds_run.json``. The mixed table and its split (beat caps)
stay those of seed 0 for every seed: only the model's initialisation and epoch sampling vary,
and every seed is scored on the same validation beats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.io.ptbxl import default_ptbxl_dir  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.models.bundle import save_bundle  # noqa: E402
from ecg.training.mixed_pipeline import (  # noqa: E402
    PTBXL_LEADS,
    SECOND_LEADS,
    SPLIT_SEED,
    candidate_config,
    mixed_split,
    mixed_table,
    seeded_name,
    validation_by_source,
)
from ecg.training.pipeline import Candidate, metadata_for  # noqa: E402
from ecg.training.training import ModelConfig, train  # noqa: E402

# the table, split and candidate live in ecg/training/mixed_pipeline.py (python manage.py
# train_mixed builds the shipped model from them); re-exported for ptbxl_mixed_eval.py / _ship.py
__all__ = [
    "PTBXL_LEADS",
    "SECOND_LEADS",
    "mixed_split",
    "mixed_table",
    "seeded_name",
    "validation_by_source",
]
OUT = ROOT / "build" / "mixed"
RUN_JSON = ROOT / "benchmarks" / "results" / "mixed_training_run.json"
SEEDS_RUN_JSON = ROOT / "benchmarks" / "results" / "mixed_training_seeds_run.json"
SEED = SPLIT_SEED


def configs(epochs: int, seed: int = SEED) -> list[ModelConfig]:
    """The models of one seed; ``name`` carries the seed (``seeded_name``)."""
    candidate = candidate_config(epochs, seed)
    return [
        candidate,
        replace(candidate, name=seeded_name("mixed_spec_ctx_v2_nobl", seed), band_limit_share=0.0),
        # the candidate with QRS widths by qrs_bounds_v3 (LUDB-validated, 8.7 ms): a challenger
        # to the shipped recording_mixed, compared on validation (ptbxl_mixed_eval.py --v3)
        replace(
            candidate,
            name=seeded_name("mixed_spec_ctx_v3", seed),
            rhythm_features="rr+record_context_v3",
        ),
        ModelConfig(
            seeded_name("mixed_original_cnn", seed),
            "beat_image",
            architecture="baseline",
            augment=False,
            balanced_weights=False,
            max_epochs=epochs,
            seed=seed,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--only", nargs="*", help="train only these model names (without the seed suffix)"
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[SEED],
        help=f"model seeds (default {SEED}, the first run); the split is seed {SEED}'s for all",
    )
    args = parser.parse_args(argv)
    # the first run's record stays as it was unless seed 0 alone is retrained
    run_json = RUN_JSON if args.seeds == [SEED] else SEEDS_RUN_JSON
    started = time.perf_counter()
    ptbxl_dir, mitdb_dir = default_ptbxl_dir(), Path(default_data_dir())
    table, sources, is_val = mixed_table(mitdb_dir, ptbxl_dir)
    split, counts = mixed_split(table, sources, is_val)
    print(split.description, f"train {len(split.train)}, validation {len(split.val)}", flush=True)
    labels = table.labels("six")
    run = {
        "split": split.description,
        "beats": counts,
        "table_seconds": round(time.perf_counter() - started, 1),
        "models": {},
    }
    if run_json.is_file():
        run["models"] = json.loads(run_json.read_text()).get("models", {})
    chosen = [
        (seed, c)
        for seed in args.seeds
        for base, c in zip(configs(args.epochs), configs(args.epochs, seed), strict=True)
        if not args.only or base.name in args.only
    ]
    for seed, config in chosen:
        print(f"training {config.name}", flush=True)
        model, record = train(
            config, table, split, labels, 6, work_dir=OUT / "runs", progress=print
        )
        role = "baseline" if config.architecture == "baseline" else "recording"
        task = "image" if role == "baseline" else "recording"
        meta = metadata_for(Candidate(config, task, role), record, table)
        path = save_bundle(model, meta, OUT / "models" / f"{config.name}.keras")
        run["models"][config.name] = {
            "path": str(path.relative_to(ROOT)),
            "training": {k: v for k, v in record.items() if k != "config"},
            "config": record["config"],
            "seed": seed,
            "validation": validation_by_source(path, table, split, sources, is_val),
        }
        run_json.write_text(json.dumps(run, indent=1, default=str) + "\n")
        v = run["models"][config.name]["validation"]
        print(
            f"  {config.name}: validation macro-F1 all {v['all']['macro_f1']:.3f}, "
            f"MIT-BIH {v['mitdb']['macro_f1']:.3f}, PTB-XL {v['ptbxl']['macro_f1']:.3f}, "
            f"{record['train_seconds']} s",
            flush=True,
        )
    run["total_seconds"] = round(time.perf_counter() - started, 1)
    run_json.write_text(json.dumps(run, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
