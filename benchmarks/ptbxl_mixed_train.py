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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.classes import DS1_RECORDS, class_codes  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir  # noqa: E402
from ecg.io.records import default_data_dir, load_record  # noqa: E402
from ecg.models.bundle import ModelBundle, load_bundle, save_bundle  # noqa: E402
from ecg.training.dataset import (  # noqa: E402
    DS1_VALIDATION_RECORDS,
    BeatTable,
    Split,
    beats_from_record,
    build_beat_table,
    load_beat_table,
    save_beat_table,
)
from ecg.training.evaluation import bundle_probabilities  # noqa: E402
from ecg.training.metrics import classification_metrics  # noqa: E402
from ecg.training.mixed import (  # noqa: E402
    as_mixed,
    cap_per_group,
    concat_tables,
    ptbxl_lead_table,
    tag_lead,
)
from ecg.training.pipeline import Candidate, metadata_for  # noqa: E402
from ecg.training.training import ModelConfig, train  # noqa: E402

OUT = ROOT / "build" / "mixed"
RUN_JSON = ROOT / "benchmarks" / "results" / "mixed_training_run.json"
SEEDS_RUN_JSON = ROOT / "benchmarks" / "results" / "mixed_training_seeds_run.json"
MITDB_CACHE = ROOT / "build" / "beats_mlii.npz"
# PTB-XL: every CLBBB / CRBBB record of the split and this many random NORM records per lead.
N_NORM = {"train": 1000, "validation": 300}
# Leads: MIT-BIH MLII plus its second lead where it is V1 or V5 (DS1: V1 in 20 records, V5 in
# 114; 124's V4 is left out); PTB-XL II (MLII's nearest limb lead) and V1 (where RBBB's
# terminal R' and LBBB's wide QS are clearest, II is a weak witness for RBBB:
# docs/ptbxl-beats.md). III and V5 were left out for time (each PTB-XL lead costs ~2 minutes
# of beat detection per 1,000 records on 2 cores).
PTBXL_LEADS = ("II", "V1")
SECOND_LEADS = ("V1", "V5")
# Per (record, class) at most this many beats: a MIT-BIH record gives up to 2,500 beats of one
# class, a PTB-XL record about ten; the cap keeps a class pool from being a few patients.
RECORD_CAP = 400
# Per (source, class) at most this many beats in training: PTB-XL's NORM beats (about 20,000 on
# two leads) would otherwise be most of the N pool.
SOURCE_CAP = 8000
SEED = 0


def mitdb_tables(data_dir: Path) -> tuple[BeatTable, BeatTable]:
    """(MLII table of every record, second-lead table of the DS1 records that have V1 / V5)."""
    if MITDB_CACHE.is_file():
        mlii = load_beat_table(MITDB_CACHE)
    else:
        mlii = build_beat_table(data_dir)
        save_beat_table(mlii, MITDB_CACHE)
    cache = OUT / "mitdb_ds1_second_lead.npz"
    if cache.is_file():
        return mlii, load_beat_table(cache)
    parts = []
    for name in DS1_RECORDS:
        for lead in SECOND_LEADS:
            try:
                record = load_record(data_dir, name, lead=lead)
            except Exception:  # noqa: BLE001 -- this record lacks the lead; try the next
                continue
            w, rr, sym = beats_from_record(record)
            parts.append(
                BeatTable(w, rr, sym, np.full(len(sym), name, "<U8"), *_meta(mlii), lead=lead)
            )
            break
    second = concat_tables(parts, lead="V1/V5")
    save_beat_table(second, cache)
    return mlii, second


def _meta(table: BeatTable) -> tuple[float, float, float]:
    return table.fs, table.pre_s, table.post_s


def mixed_table(mitdb_dir: Path, ptbxl_dir: Path) -> tuple[BeatTable, np.ndarray, np.ndarray]:
    """The lead-tagged mixed table (DS1 + PTB-XL train and validation), and per beat its source
    ("mitdb" / "ptbxl") and whether it is a validation beat."""
    mlii, second = mitdb_tables(mitdb_dir)
    ds1 = mlii.subset(np.flatnonzero(np.isin(mlii.records, list(DS1_RECORDS))))
    parts, sources, is_val = [tag_lead(ds1, "mlii"), tag_lead(second, "v1v5")], [], []
    for t in parts:
        sources.append(np.full(len(t), "mitdb"))
        is_val.append(np.isin(np.char.partition(t.records, "@")[:, 0], DS1_VALIDATION_RECORDS))
    for split in ("train", "validation"):
        for lead in PTBXL_LEADS:
            beats = ptbxl_lead_table(ptbxl_dir, split, lead, n_norm=N_NORM[split], workers=2)
            parts.append(tag_lead(beats.table, lead))
            sources.append(np.full(len(beats.table), "ptbxl"))
            is_val.append(np.full(len(beats.table), split == "validation"))
    table = as_mixed(concat_tables(parts, lead="mixed: MLII/II, V1, V5"))
    return table, np.concatenate(sources), np.concatenate(is_val)


def mixed_split(
    table: BeatTable, sources: np.ndarray, is_val: np.ndarray
) -> tuple[Split, dict[str, int]]:
    labels = table.labels("six")
    labelled = np.flatnonzero(labels >= 0)
    by_record = np.char.add(np.char.add(labels.astype(str), "|"), table.records)
    by_source = np.char.add(np.char.add(labels.astype(str), "|"), sources)
    train_idx = cap_per_group(labelled[~is_val[labelled]], by_record, RECORD_CAP, seed=SEED)
    train_idx = cap_per_group(train_idx, by_source, SOURCE_CAP, seed=SEED)
    val_idx = cap_per_group(labelled[is_val[labelled]], by_record, RECORD_CAP, seed=SEED)
    split = Split(
        "mixed",
        train_idx,
        val_idx,
        np.zeros(0, np.int64),
        "mixed: MIT-BIH DS1 minus records "
        f"{', '.join(DS1_VALIDATION_RECORDS)} (MLII + V1/V5) + PTB-XL folds 1-8 (II, V1); "
        "validation: those DS1 records + PTB-XL fold 9; at most "
        f"{RECORD_CAP} beats per record and class, {SOURCE_CAP} per source and class in training",
    )
    counts = {}
    for name, idx in (("train", train_idx), ("validation", val_idx)):
        for src in ("mitdb", "ptbxl"):
            for code, c in zip(class_codes("six"), range(6), strict=True):
                counts[f"{name}/{src}/{code}"] = int(
                    np.sum((sources[idx] == src) & (labels[idx] == c))
                )
    return split, counts


def seeded_name(name: str, seed: int) -> str:
    """The model name of ``seed``: seed 0 keeps the original name (the first run's files)."""
    return name if seed == SEED else f"{name}_seed{seed}"


def configs(epochs: int, seed: int = SEED) -> list[ModelConfig]:
    """The models of one seed; ``name`` carries the seed (``seeded_name``)."""
    candidate = ModelConfig(
        "mixed_spec_ctx_v2",
        "spectrogram",
        use_rr=True,
        rhythm_features="rr+record_context_v2",
        noise_mv=0.0,  # as the shipped spectrogram models (pipeline.CANDIDATES)
        band_limit_share=0.5,
        max_epochs=epochs,
        seed=seed,
    )
    return [
        replace(candidate, name=seeded_name(candidate.name, seed)),
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


def validation_by_source(
    path: Path | ModelBundle,
    table: BeatTable,
    split: Split,
    sources: np.ndarray,
    is_val: np.ndarray,
) -> dict[str, object]:
    """Six-class figures of a saved bundle (or a loaded one: a seed ensemble) on the validation
    beats, per source and pooled (intervals over records). The record context is computed over
    every validation beat of a record, as in training, before the per-record cap picks the
    scored ones."""
    bundle = path if isinstance(path, ModelBundle) else load_bundle(path)
    rows = np.flatnonzero(is_val)
    sub = as_mixed(table.subset(rows))
    at = np.searchsorted(rows, split.val)
    rr_all = None
    if "rr" in bundle.metadata["inputs"]:
        window = bundle.metadata["window"]
        rr_all = sub.rhythm_inputs(window["pre_s"], window["post_s"], bundle.rhythm_features)
    probs = bundle_probabilities(bundle, sub, at, rr_all)
    labels = table.labels("six")[split.val]
    out = {}
    # per source, pooled, and per source and lead ("ptbxl@v1"): does one model serve each lead?
    tags = np.char.add(
        np.char.add(sources[split.val], "@"), np.char.partition(table.records[split.val], "@")[:, 2]
    )
    for src in ("mitdb", "ptbxl", "all", *sorted(set(tags))):
        if src == "all":
            keep = np.ones(len(split.val), bool)
        else:
            keep = (tags if "@" in src else sources[split.val]) == src
        records = np.char.partition(table.records[split.val][keep], "@")[:, 0]
        m = classification_metrics(labels[keep], probs[keep], bundle.classes, records)
        if src != "all":  # the pooled one stays: paired comparisons of two models read it
            m.pop("per_record_confusion", None)
        out[src] = m
    return out


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
