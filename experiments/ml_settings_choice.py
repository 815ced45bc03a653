"""Old against new training settings on VALIDATION figures only (never the test sets).

Two changes are compared, each between the runs of an earlier ``train_model`` (``--old``, e.g.
``build/runs`` moved aside before the new run) and the current runs (``--runs``):

- intra-patient training (``pipeline.INTRA_OVERRIDES``): every model's intra validation
  accuracy and macro-F1, recomputed here from the saved bundles, with its training time;
- the number of seeds in the image-only ensembles (``pipeline.IMAGE_SEEDS``, and one model on
  the intra split): validation macro-F1 of the members kept in ``<runs>/<split>/members``
  averaged one, two and three at a time, with their training time, and the batch speed of the
  old and new inter-patient ensembles measured now, one after the other, on the same record.

    python experiments/ml_settings_choice.py --old build/old_runs --runs build/runs \\
        --out experiments/results/ml_settings_choice.txt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

IMAGE_MODELS = ("beat_image_cnn", "spectrogram_cnn")


def _training(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())["training"]


def _settings(training: dict) -> str:
    c = training["config"]
    seeds = training.get("ensemble", {}).get("seeds")
    what = f"seeds {seeds}" if seeds else f"seed {c['seed']}"
    ran = f"{training['epochs_run']} in all" if seeds else training["epochs_run"]
    return (
        f"{what}, cap {c['cap']}, class weights {c['balanced_weights']}, "
        f"up to {c['max_epochs']} epochs (ran {ran}), {training['train_seconds']:.0f} s"
    )


def intra_lines(old: Path, runs: Path, table, split) -> list[str]:
    from ecg.models.bundle import load_bundle
    from ecg.models.registry import ModelRegistry
    from ecg.training.evaluation import bundle_probabilities
    from ecg.training.metrics import confusion_matrix, macro_f1

    labels = table.labels("six")[split.val]
    lines = ["## intra-patient validation (accuracy, macro-F1): old settings -> new settings"]
    for path in ModelRegistry(runs / "intra").model_files():
        scores = {}
        for which, root in (("old", old), ("new", runs)):
            candidate = root / "intra" / path.name
            if not candidate.is_file():
                continue
            predicted = bundle_probabilities(load_bundle(candidate), table, split.val).argmax(1)
            cm = confusion_matrix(labels, predicted, 6)
            scores[which] = (float((predicted == labels).mean()), macro_f1(cm), candidate)
        if "old" not in scores:
            lines.append(f"{path.stem}: no old run to compare")
            continue
        (oa, of, op), (na, nf, np_) = scores["old"], scores["new"]
        better = na >= oa and nf >= of
        lines += [
            f"{path.stem}: accuracy {oa:.4f} -> {na:.4f}, macro-F1 {of:.4f} -> {nf:.4f} "
            f"({'new is better on both' if better else 'NEW IS NOT BETTER ON BOTH'})",
            f"  old: {_settings(_training(op))}",
            f"  new: {_settings(_training(np_))}",
        ]
    return lines


def member_lines(members_dir: Path, table, split, what: str) -> list[str]:
    """Validation macro-F1 of the first 1, 2, ... seeds of each ensemble kept in
    ``members_dir``, averaged, with the members' training time."""
    from ecg.models.bundle import load_bundle
    from ecg.models.registry import ModelRegistry
    from ecg.training.evaluation import bundle_probabilities
    from ecg.training.metrics import confusion_matrix, macro_f1

    labels = table.labels("six")[split.val]
    members_of = ModelRegistry(members_dir).model_files()
    lines = []
    for name in IMAGE_MODELS:
        members = [p for p in members_of if p.stem.startswith(f"{name}-s")]
        probs, seconds = [], 0.0
        for k, member in enumerate(members, start=1):
            probs.append(bundle_probabilities(load_bundle(member), table, split.val))
            seconds += _training(member)["train_seconds"]
            mean = np.mean(probs, axis=0).argmax(1)
            score = macro_f1(confusion_matrix(labels, mean, 6))
            lines.append(
                f"{name}, {what}: first {k} seed(s) averaged: validation macro-F1 {score:.4f}, "
                f"training {seconds:.0f} s"
            )
    return lines


def speed_lines(old: Path, runs: Path, record) -> list[str]:
    from ecg.models.bundle import load_bundle
    from ecg.training.evaluation import measure_speed

    lines = []
    for name in IMAGE_MODELS:
        for which, root in (("old", old), ("new", runs)):
            path = root / "inter" / f"{name}.keras"
            speed = measure_speed(load_bundle(path), record.signal, record.fs, record.ann_samples)
            seeds = _training(path).get("ensemble", {}).get("seeds")
            lines.append(
                f"{name}: {which} inter-patient ensemble (seeds {seeds}) "
                f"{speed['batch_beats_per_s']:.0f} beats/s on record {record.name}"
            )
    return lines


def main() -> None:
    from ecg.io.records import default_data_dir, load_record
    from ecg.training import pipeline
    from ecg.training.dataset import load_beat_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True)
    parser.add_argument("--runs", default="build/runs")
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--record", default="208", help="MIT-BIH record for the speed run")
    parser.add_argument("--out", default="experiments/results/ml_settings_choice.txt")
    args = parser.parse_args()
    old, runs = Path(args.old), Path(args.runs)
    table = load_beat_table(args.cache)
    splits = pipeline.make_splits(table)
    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("the speed run needs MIT-BIH (../shared/data/mitdb or $ECG_DATA_DIR)")
    record = load_record(data_dir, args.record)
    lines = ["# old -> new training settings, validation figures only (DS2 not looked at)", ""]
    lines += intra_lines(old, runs, table, splits["intra"])
    lines += ["", "## seeds per image ensemble: validation macro-F1, training time and speed"]
    lines += member_lines(old / "inter" / "members", table, splits["inter"], "old inter run")
    lines += member_lines(runs / "intra" / "members", table, splits["intra"], "new intra run")
    lines += speed_lines(old, runs, record)
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
