"""Train every model configuration at once, one process per (split, configuration).

The driver used on the lent H200 machine (16 cores; ``KERAS_BACKEND=torch``) to train the
shipped runs; it calls the same ``training.train`` and ``pipeline.metadata_for`` as
``manage.py train_model``, and writes the same ``<runs-dir>/<split>/<name>.keras`` bundles, so
``python manage.py train_model --resume`` ships and evaluates them afterwards. There, the beats
were rebuilt from the MLII samples with ``dataset.beats_from_record`` (identical values: the
physical signal is recomputed from the same digital samples, gain and baseline).

    python experiments/ml_train_parallel.py [--cache build/beats_mlii.npz] [--runs-dir build/runs]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def job(args: tuple[str, str, str, str]) -> str:
    split_name, name, cache, runs_dir = args
    from ecg.models.bundle import save_bundle
    from ecg.training import dataset, pipeline
    from ecg.training.training import train

    table = dataset.load_beat_table(cache)
    labels = table.labels("six")
    split = pipeline.make_splits(table)[split_name]
    candidate = next(c for c in pipeline.CANDIDATES if c.config.name == name)
    if candidate.role != "recording":  # image models: train_all (seed ensembles included)
        records = pipeline.train_all(
            table, runs_dir, candidates=(candidate,), splits=(split_name,), progress=print
        )
        score = records[split_name][name]["best_validation_macro_f1"]
        return f"{split_name} {name}: validation macro-F1 {score:.4f}"
    config = candidate.config
    if split_name == "intra":
        config = replace(config, **{**pipeline.INTRA_OVERRIDES, **candidate.intra})
    model, record = train(config, table, split, labels, 6, work_dir=Path(runs_dir) / "checkpoints")
    meta = pipeline.metadata_for(replace(candidate, config=config), record, table)
    save_bundle(model, meta, Path(runs_dir) / split_name / f"{name}.keras")
    line = f"{split_name} {name}: validation macro-F1 {record['best_validation_macro_f1']:.4f}"
    print(line, flush=True)
    return line


def main() -> None:
    from ecg.training import pipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--runs-dir", default="build/runs")
    parser.add_argument("--splits", nargs="*", default=["inter", "intra"])
    args = parser.parse_args()
    if not Path(args.cache).is_file():
        sys.exit(f"{args.cache}: run python manage.py build_dataset first")
    names = [c.config.name for c in pipeline.CANDIDATES]
    # Both recording candidates also train on the intra split here (they run in parallel, so
    # it costs no time); train_model --resume ships the intra run of the chosen one only.
    jobs = [(s, n, args.cache, args.runs_dir) for s in args.splits for n in names]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        pool.map(job, jobs)


if __name__ == "__main__":
    main()
