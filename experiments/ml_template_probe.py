"""Does showing each beat beside its patient's typical beat help on new patients? A DS1 probe.

A cardiologist reads an ectopic beat against the patient's own normal beats, and the record
context features (``context.record_context_features``) give the recording model a few numbers
of that comparison. This probe gives it the whole picture and measures, on the grouped DS1
folds of ``ml_grouped_cv.ds1_folds`` (each fold of records held out in turn; DS2 untouched),
the same small CNN (``architectures.build_cnn`` with the record-context "rr" input) fed
  beat:      the beat's MLII spectrogram (1 channel), as the shipped recording model sees it;
  template:  the beat's spectrogram and its record's template (the spectrogram of the median
             of the record's clean beat windows, every beat of the record) as 2 channels;
  diff:      the beat's spectrogram and 128 + (beat - template), clipped, as 2 channels;
  neighbours: the spectrograms of the previous beat, the beat and the next beat (each cut
             around its own R peak; the record's first and last beats stand in for their
             missing neighbour) as 3 channels: the beat against its neighbours, not the record;
and, without retraining, ``beat_adabn``: the ``beat`` model with its batch-normalisation
statistics re-estimated on each held-out record alone (AdaBN, Li et al. 2016), an unsupervised
per-patient adaptation a whole-recording upload would allow.

Plain loop for all (balanced epochs of 1,000-3,000 beats per class, class weights, no
augmentation, a fixed number of epochs), several seeds, the (fold, variant, seed) runs in
parallel processes. Prints each run and a summary: the mean over folds and seeds of the
per-fold macro-F1, and the macro-F1 of the confusion matrices pooled over the folds (every DS1
record scored once per seed), with per-class F1 and sensitivity. Nothing here ships.

    python experiments/ml_template_probe.py [--epochs 6] [--seeds 0] [--jobs 1]
        [--cache build/beats_mlii.npz] [--out experiments/results/ml_template_probe.txt]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

VARIANTS = ("beat", "template", "diff", "neighbours")
PRE_S, POST_S = 0.25, 0.45  # the recording model's window
# Filled in by main() before the worker processes fork: they read it, never write it.
STATE: dict[str, Any] = {}


def images(index: np.ndarray, variant: str) -> np.ndarray:
    """The variant's image stack (n, 64, 64, channels) for the beats at ``index``."""
    from ecg.imaging import representations
    from experiments.record_template import difference_image

    fs = STATE["fs"]
    beat = representations.render("spectrogram", STATE["windows"][index], fs, None)
    if variant == "beat":
        return beat[..., None]
    if variant == "neighbours":
        around = [
            representations.render("spectrogram", STATE["windows"][STATE[side][index]], fs, None)
            for side in ("previous", "next")
        ]
        return np.stack([around[0], beat, around[1]], axis=-1)
    template = STATE["template_images"][STATE["record_codes"][index]]
    if variant == "template":
        return np.stack([beat, template], axis=-1)
    return np.stack([beat, difference_image(beat, template)], axis=-1)


def adapt_batch_norm(model: Any, inputs: dict[str, np.ndarray]) -> None:
    """Set every BatchNormalization layer's moving statistics to those of ``inputs`` (in
    order: each layer sees the inputs as normalised by the layers before it)."""
    import keras

    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        probe = keras.Model(model.inputs, layer.input)
        values = np.asarray(probe.predict(inputs, verbose=0, batch_size=1024), dtype=np.float64)
        axes = tuple(range(values.ndim - 1))
        layer.moving_mean.assign(values.mean(axis=axes).astype(np.float32))
        layer.moving_variance.assign(values.var(axis=axes).astype(np.float32))


def scored(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    from ecg.classes import class_codes
    from ecg.training.metrics import classification_metrics

    m = classification_metrics(labels, probs, class_codes("six"))
    return {"macro_f1": m["macro_f1"], "confusion": m["confusion_matrix"]}


def run(task: tuple[int, str, int]) -> list[dict[str, Any]]:
    """Train one (fold, variant, seed) and score the held-out records."""
    import keras
    from ml_grouped_cv import fit_balanced_epochs

    from ecg.models.architectures import build_cnn
    from ecg.training.training import set_seeds

    fold, variant, seed = task
    started = time.perf_counter()
    labels, rr_all, records = STATE["labels"], STATE["rr"], STATE["records"]
    in_held = np.isin(records, STATE["folds"][fold])
    labelled = labels >= 0
    train_idx = np.flatnonzero(labelled & ~in_held)
    test_idx = np.flatnonzero(labelled & in_held)
    set_seeds(seed)
    rng = np.random.default_rng(seed)
    channels = {"beat": 1, "neighbours": 3}.get(variant, 2)
    model = build_cnn(64, 6, rr_train=rr_all[train_idx], channels=channels)
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy")
    fit_balanced_epochs(
        model,
        lambda index: {"image": images(index, variant), "rr": rr_all[index]},
        labels,
        train_idx,
        STATE["epochs"],
        rng,
    )
    test_inputs = {"image": images(test_idx, variant), "rr": rr_all[test_idx]}
    probs = model.predict(test_inputs, verbose=0, batch_size=1024)
    results = [{"variant": variant, **scored(labels[test_idx], probs)}]
    if variant == "beat":
        adapted = np.zeros_like(probs)
        for name in STATE["folds"][fold]:
            rows = records[test_idx] == name
            adapt_batch_norm(model, {k: v[rows] for k, v in test_inputs.items()})
            adapted[rows] = model.predict(
                {k: v[rows] for k, v in test_inputs.items()}, verbose=0, batch_size=1024
            )
        results.append({"variant": "beat_adabn", **scored(labels[test_idx], adapted)})
    seconds = round(time.perf_counter() - started, 1)
    return [{**r, "fold": fold, "seed": seed, "seconds": seconds} for r in results]


def summary(results: list[dict[str, Any]]) -> list[str]:
    """Per variant: mean per-fold macro-F1, and pooled-over-folds figures per seed."""
    from ecg.classes import class_codes
    from ecg.training.metrics import macro_f1, per_class_from_confusion

    classes = class_codes("six")
    lines = []
    for variant in dict.fromkeys(r["variant"] for r in results):
        mine = [r for r in results if r["variant"] == variant]
        per_fold = [r["macro_f1"] for r in mine]
        pooled = []
        for seed in sorted({r["seed"] for r in mine}):
            matrix = sum(np.asarray(r["confusion"]) for r in mine if r["seed"] == seed)
            pooled.append(
                {
                    "macro_f1": macro_f1(matrix),
                    "per_class": per_class_from_confusion(matrix, classes),
                }
            )
        f1 = {c: np.mean([p["per_class"][c]["f1"] for p in pooled]) for c in classes}
        se = {c: np.mean([p["per_class"][c]["sensitivity"] for p in pooled]) for c in classes}
        pooled_f1 = [p["macro_f1"] for p in pooled]
        lines.append(
            f"{variant}: per-fold macro-F1 mean {np.mean(per_fold):.4f} ({len(per_fold)} runs); "
            f"pooled macro-F1 {np.mean(pooled_f1):.4f} "
            f"(seeds {', '.join(f'{v:.3f}' for v in pooled_f1)}); "
            f"pooled F1 {', '.join(f'{c} {f1[c]:.2f}' for c in classes)}; "
            f"Se {', '.join(f'{c} {se[c]:.2f}' for c in classes)}"
        )
    return lines


def main() -> None:
    from ml_grouped_cv import ds1_folds, fold_header

    from ecg.classes import DS1_RECORDS
    from ecg.imaging import representations
    from ecg.training.dataset import load_beat_table
    from experiments.record_template import record_templates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--out", default="experiments/results/ml_template_probe.txt")
    args = parser.parse_args()
    table = load_beat_table(args.cache)
    table = table.subset(np.flatnonzero(np.isin(table.records, list(DS1_RECORDS))))
    table.windows = np.asarray(table.windows, dtype=np.float32)
    labels = table.labels("six")
    windows = table.crop(PRE_S, POST_S)
    templates = record_templates(table, PRE_S, POST_S)
    names = sorted(templates)
    rows = np.arange(len(table.records))
    same_as_previous = np.r_[False, table.records[1:] == table.records[:-1]]
    same_as_next = np.r_[table.records[:-1] == table.records[1:], False]
    STATE.update(
        fs=table.fs,
        epochs=args.epochs,
        labels=labels,
        records=table.records,
        windows=windows,
        rr=table.rhythm_inputs(PRE_S, POST_S, "rr+record_context"),
        record_codes=np.searchsorted(names, table.records),
        # rows of one record are consecutive beats in time order (dataset.build_beat_table)
        previous=np.where(same_as_previous, rows - 1, rows),
        next=np.where(same_as_next, rows + 1, rows),
        template_images=representations.render(
            "spectrogram", np.stack([templates[n] for n in names]), table.fs, None
        ),
        folds=ds1_folds(table.records, labels, args.folds),
    )
    lines = fold_header(
        f"# template probe: grouped {args.folds}-fold CV over DS1, {args.epochs} epochs, "
        f"seeds {args.seeds} (DS2 not touched)",
        STATE["folds"],
    )
    tasks = [
        (fold, variant, seed)
        for seed in args.seeds
        for fold in range(args.folds)
        for variant in args.variants
    ]
    results: list[dict[str, Any]] = []
    with mp.get_context("fork").Pool(args.jobs, maxtasksperchild=1) as pool:
        for batch in pool.imap_unordered(run, tasks):
            for r in batch:
                results.append(r)
                line = (
                    f"fold {r['fold']} seed {r['seed']} {r['variant']}: "
                    f"macro-F1 {r['macro_f1']:.4f} ({r['seconds']} s)"
                )
                lines.append(line)
                print(line, flush=True)
    lines += ["", *summary(results)]
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(results))
    print("\n".join(lines[-len(VARIANTS) - 1 :]))


if __name__ == "__main__":
    main()
