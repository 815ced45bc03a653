"""Does refitting on the validation records help new patients? Nested grouped CV over DS1.

The inter-patient models hold four DS1 records (106, 124, 209, 223) out of training to choose
the epoch and the model. With two or three training patients per bundle branch block class,
one of them (124, RBBB) is a large share of what the model could learn. This benchmark asks,
on DS1 alone, whether training afterwards on those records too -- the same configuration,
the epoch count and learning rates the checkpointed run chose, replayed -- scores better on
patients neither run has seen.

For each fold of ``ml_grouped_cv.ds1_folds`` (held out entirely, never used for any choice):
  held-out:  train on the other folds minus the pipeline's validation records, checkpoint and
             early-stop on those validation records (exactly as the pipeline does);
  refit:     train afresh on the other folds WITH the validation records, for the held-out
             run's best epoch count at its learning rates (``experiments.refit``).
Both are scored on the held fold. DS2 is never touched.

    python experiments/ml_refit_cv.py recording_spec_ctx [--folds 4]
        [--cache build/beats_mlii.npz] [--out experiments/results/ml_refit_cv.txt]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from dataclasses import replace

    from ml_grouped_cv import cv_setup, finish, fold_header, log, per_class_text

    from ecg.classes import DS1_RECORDS, class_codes
    from ecg.training.dataset import DS1_VALIDATION_RECORDS, Split
    from ecg.training.metrics import classification_metrics
    from ecg.training.training import clean_inputs, rr_inputs_for, train
    from experiments.refit import refit

    args, candidates, table, folds = cv_setup(__doc__, "experiments/results/ml_refit_cv.txt")
    labels = table.labels("six")
    classes = class_codes("six")
    lines = fold_header(
        f"# nested grouped {args.folds}-fold CV over DS1: held-out validation vs refit "
        "(DS2 not touched)",
        folds,
    )
    labelled_ds1 = (labels >= 0) & np.isin(table.records, list(DS1_RECORDS))
    scores: dict[str, list[float]] = {}

    def score(model, config, index, rr_all, tag: str, fold: int) -> None:
        probs = model.predict(clean_inputs(config, table, index, rr_all), verbose=0)
        m = classification_metrics(labels[index], probs, classes)
        scores.setdefault(tag, []).append(m["macro_f1"])
        log(lines, f"{tag} fold {fold}: macro-F1 {m['macro_f1']:.4f} ({per_class_text(m)})")

    for name in args.names:
        base = candidates[name].config
        rr_all = rr_inputs_for(base, table) if base.use_rr else None
        for i, held in enumerate(folds):
            inner_val = [r for r in DS1_VALIDATION_RECORDS if r not in held]
            in_held = np.isin(table.records, held)
            in_val = np.isin(table.records, inner_val)
            split = Split(
                f"cv{i}",
                np.flatnonzero(labelled_ds1 & ~in_held & ~in_val),
                np.flatnonzero(labelled_ds1 & in_val),
                np.flatnonzero(labelled_ds1 & in_held),
                f"DS1 fold {i} held out; validation {', '.join(inner_val)}",
            )
            config = replace(base, name=f"{name}-refitcv{i}", ensemble_seeds=())
            model, record = train(config, table, split, labels, 6, work_dir="build/cv")
            best = record["best_epoch"]
            lines.append(f"{name} fold {i}: best epoch {best}/{record['epochs_run']}")
            score(model, config, split.test, rr_all, f"{name} held-out", i)
            rates = record["learning_rate_per_epoch"][:best]
            both = np.concatenate([split.train, split.val])
            model, _ = refit(config, table, both, labels, 6, learning_rates=rates)
            score(model, config, split.test, rr_all, f"{name} refit", i)
    finish(lines, scores, args.out)


if __name__ == "__main__":
    main()
