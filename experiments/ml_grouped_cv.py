"""Grouped cross-validation over the DS1 records: how far apart are recording candidates really?

The pipeline chooses the recording model on four held-out DS1 records (106, 124, 209, 223),
which hold no left bundle branch block at all, and one seed to the next moves their macro-F1 by
0.02-0.03. Here every DS1 record is held out once: the DS1 records are split into folds by
record (scikit-learn's ``StratifiedGroupKFold``, so each fold gets a share of every class
where the records allow), each named candidate is trained on the other folds with the
pipeline's own ``train`` and scored on the held-out fold. The held-out fold also drives early
stopping and the checkpoint, as the validation records do in the pipeline, so the figures are
a little optimistic and are for ranking candidates only. DS2 is never touched.

    python experiments/ml_grouped_cv.py recording_spec_rr recording_spec_ctx \\
        [--folds 4] [--cache build/beats_mlii.npz] [--out experiments/results/ml_grouped_cv.txt]
        [--seeds 0 1 2] [--jobs 1] [--work-dir build/cv]

With ``--seeds`` every candidate is trained once per seed (the figures then cover seed noise
too) and also scored as the average of its seeds; ``--jobs`` runs the (fold, candidate, seed)
trainings in parallel processes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ds1_folds(records: np.ndarray, labels: np.ndarray, n_folds: int) -> list[list[str]]:
    """DS1 record names per fold (deterministic), grouped by record, stratified by class."""
    from sklearn.model_selection import StratifiedGroupKFold

    from ecg.classes import DS1_RECORDS

    rows = np.flatnonzero(np.isin(records, list(DS1_RECORDS)) & (labels >= 0))
    splitter = StratifiedGroupKFold(n_splits=n_folds)
    return [
        sorted(set(records[rows[held]].tolist()))
        for _, held in splitter.split(rows, labels[rows], records[rows])
    ]


def cv_setup(doc: str, default_out: str) -> tuple[argparse.Namespace, dict, Any, list[list[str]]]:
    """What every CV benchmark starts from: its command line (candidate names, --folds, --cache,
    --out), the pipeline's candidates by name, the beat table and the DS1 folds. The candidates
    tried and not shipped (experiments/README.md) ran at commit db9be0f, where the library
    still had their settings and ``pipeline.TRIED_CANDIDATES`` named them."""
    from ecg.training import pipeline
    from ecg.training.dataset import load_beat_table

    candidates = {c.config.name: c for c in pipeline.CANDIDATES}
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("names", nargs="+", help=f"candidates, of {sorted(candidates)}")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--out", default=default_out)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="train each with these seeds"
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (forked)")
    parser.add_argument("--work-dir", default="build/cv", help="checkpoints go here")
    args = parser.parse_args()
    unknown = set(args.names) - set(candidates)
    if unknown:
        parser.error(f"unknown candidates {sorted(unknown)}")
    table = load_beat_table(args.cache)
    table.windows = np.asarray(table.windows, dtype=np.float32)
    return args, candidates, table, ds1_folds(table.records, table.labels("six"), args.folds)


def fold_header(title: str, folds: list[list[str]]) -> list[str]:
    """The results file's first lines (title, each fold's records), printed as well."""
    lines = [title, *[f"fold {i}: records {', '.join(f)}" for i, f in enumerate(folds)], ""]
    print("\n".join(lines), flush=True)
    return lines


def per_class_text(metrics: dict[str, Any], measure: str = "f1") -> str:
    """ "L 0.62, N 0.78, ..." over the classes present in the scored beats."""
    per_class = metrics["per_class"].items()
    return ", ".join(f"{c} {v[measure]:.2f}" for c, v in per_class if v["support"])


def fit_balanced_epochs(
    model: Any,
    inputs_for: Any,
    labels: np.ndarray,
    train_idx: np.ndarray,
    epochs: int,
    rng: np.random.Generator,
) -> None:
    """The probes' plain loop: each epoch a balanced draw of 1,000-3,000 training beats per
    class with class weights, fed as ``inputs_for(index)``; no augmentation, no checkpoint."""
    from ecg.training.training import _balanced_epoch

    for _ in range(epochs):
        index, weights = _balanced_epoch(labels[train_idx], train_idx, rng, 3000, 1000)
        model.fit(
            inputs_for(index),
            np.eye(6, dtype=np.float32)[labels[index]],
            sample_weight=np.array([weights[int(c)] for c in labels[index]]),
            batch_size=128,
            epochs=1,
            verbose=0,
        )


def log(lines: list[str], line: str) -> None:
    """One line of the results file, printed as it comes."""
    lines.append(line)
    print(line, flush=True)


def finish(lines: list[str], scores: dict[str, list[float]], out: str | Path) -> None:
    """Append each entry's mean and sd over the folds, write the results file, print the means."""
    lines.append("")
    for name, values in scores.items():
        lines.append(
            f"{name}: mean macro-F1 {np.mean(values):.4f}, sd {np.std(values, ddof=1):.4f} "
            f"over {len(values)} folds"
        )
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(scores) :]))


# Filled in by main() before worker processes fork (``--jobs``): they read it, never write it.
STATE: dict[str, Any] = {}


def run_fold(task: tuple[int, str, int | None]) -> dict[str, Any]:
    """Train one candidate (``seed``: None for its own) on the other folds, score fold ``i``."""
    from dataclasses import replace

    from ecg.classes import class_codes
    from ecg.training.dataset import inter_patient_split
    from ecg.training.metrics import classification_metrics
    from ecg.training.training import clean_inputs, train

    i, name, seed = task
    table, labels = STATE["table"], STATE["labels"]
    split = inter_patient_split(table.records, labels, validation_records=STATE["folds"][i])
    config = replace(STATE["configs"][name], name=f"{name}-cv{i}", ensemble_seeds=())
    if seed is not None:
        config = replace(config, name=f"{config.name}-s{seed}", seed=seed)
    model, record = train(config, table, split, labels, 6, work_dir=STATE["work_dir"])
    inputs = clean_inputs(config, table, split.val, STATE["rr_by_name"][name])
    probs = model.predict(inputs, verbose=0)
    m = classification_metrics(labels[split.val], probs, class_codes("six"))
    seed_text = "" if seed is None else f" seed {seed}"
    return {
        "name": name,
        "fold": i,
        "probs": np.asarray(probs, dtype=np.float32),
        "macro_f1": m["macro_f1"],
        "line": (
            f"fold {i} {name}{seed_text}: macro-F1 {m['macro_f1']:.4f} ({per_class_text(m)}), "
            f"best epoch {record['best_epoch']}/{record['epochs_run']}"
        ),
    }


def main() -> None:
    import multiprocessing as mp

    from ecg.training.training import rr_inputs_for

    args, candidates, table, folds = cv_setup(__doc__, "experiments/results/ml_grouped_cv.txt")
    title = f"# grouped {args.folds}-fold cross-validation over DS1 records (DS2 not touched)"
    if args.seeds:
        title += f", seeds {args.seeds}"
    lines = fold_header(title, folds)
    configs = {name: candidates[name].config for name in args.names}
    STATE.update(
        table=table,
        labels=table.labels("six"),
        folds=folds,
        configs=configs,
        work_dir=args.work_dir,
        # the "rr" input of every beat depends on its own record only: the same in every fold
        rr_by_name={n: rr_inputs_for(c, table) if c.use_rr else None for n, c in configs.items()},
    )
    tasks = [
        (i, name, seed)
        for i in range(len(folds))
        for name in args.names
        for seed in (args.seeds or [None])
    ]
    scores: dict[str, list[float]] = {name: [] for name in args.names}
    probs: dict[tuple[str, int], list[np.ndarray]] = {}

    def collect(results: Iterable[dict[str, Any]]) -> None:
        for result in results:
            scores[result["name"]].append(result["macro_f1"])
            probs.setdefault((result["name"], result["fold"]), []).append(result["probs"])
            log(lines, result["line"])

    if args.jobs == 1:
        collect(map(run_fold, tasks))
    else:  # each task in a fresh forked process (Keras is imported there, not here)
        with mp.get_context("fork").Pool(args.jobs, maxtasksperchild=1) as pool:
            collect(pool.imap(run_fold, tasks))
    if args.seeds and len(args.seeds) > 1:
        scores.update(seed_ensembles(probs, folds, lines))
    finish(lines, scores, args.out)


def seed_ensembles(
    probs: dict[tuple[str, int], list[np.ndarray]], folds: list[list[str]], lines: list[str]
) -> dict[str, list[float]]:
    """Each candidate's seeds averaged into one model per fold, scored like the single ones:
    does averaging seeds steady what one seed decides for a new patient?"""
    from ecg.classes import class_codes
    from ecg.training.dataset import inter_patient_split
    from ecg.training.metrics import classification_metrics

    table, labels = STATE["table"], STATE["labels"]
    scores: dict[str, list[float]] = {}
    for (name, i), members in sorted(probs.items(), key=lambda item: (item[0][1], item[0][0])):
        split = inter_patient_split(table.records, labels, validation_records=folds[i])
        m = classification_metrics(labels[split.val], np.mean(members, axis=0), class_codes("six"))
        key = f"{name} (ensemble of {len(members)} seeds)"
        scores.setdefault(key, []).append(m["macro_f1"])
        log(lines, f"fold {i} {key}: macro-F1 {m['macro_f1']:.4f} ({per_class_text(m)})")
    return scores


if __name__ == "__main__":
    main()
