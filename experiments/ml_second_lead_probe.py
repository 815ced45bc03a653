"""Would the second lead help the bundle branch blocks? A probe on DS1, DS2 untouched.

MLII alone shows little of what tells a right from a left bundle branch block (the QRS in V1),
and on patients held out by record the recording model rarely finds either. Before the data,
serving and upload paths learn a second lead, this probe measures what it could add: the same
small CNN (spectrogram + record-context features, ``architectures.build_cnn``) trained on
  mlii:      the MLII spectrogram (1 channel), as the shipped recording model sees it;
  two_leads: the MLII and second-lead spectrograms stacked as 2 channels (second lead: V1 in
             most DS1 records, V4 in 124, V5 in 114),
with a plain loop that treats both alike (balanced epochs of 1,000-3,000 beats per class, class
weights, no augmentation, a fixed number of epochs, seed 0), over the grouped DS1 folds of
``ml_grouped_cv.ds1_folds``: each fold of records is held out in turn and scored. Nothing here
is used for a model that ships.

    python experiments/ml_second_lead_probe.py [--epochs 6] [--folds 4]
        [--cache build/beats_mlii.npz] [--out experiments/results/ml_second_lead_probe.txt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def second_lead_windows(data_dir: str, records: np.ndarray, table) -> np.ndarray:
    """The table's wide windows cut from each record's other lead (same beats, same rows)."""
    import wfdb

    from ecg.io.records import load_record
    from ecg.training.dataset import beats_from_record

    out = np.zeros_like(table.windows)
    for name in np.unique(records):
        leads = wfdb.rdheader(str(Path(data_dir) / str(name))).sig_name
        other = next(i for i, lead in enumerate(leads) if lead.upper() != "MLII")
        windows, _, symbols = beats_from_record(load_record(data_dir, str(name), lead=other))
        rows = np.flatnonzero(table.records == name)
        if len(rows) != len(windows) or not np.array_equal(symbols, table.symbols[rows]):
            raise ValueError(f"record {name}: the second lead's beats differ from the table's")
        out[rows] = windows
    return out


def main() -> None:
    import keras
    from ml_grouped_cv import (
        ds1_folds,
        finish,
        fit_balanced_epochs,
        fold_header,
        log,
        per_class_text,
    )

    from ecg.classes import DS1_RECORDS, class_codes
    from ecg.imaging import representations
    from ecg.io.records import default_data_dir
    from ecg.models.architectures import build_cnn
    from ecg.training.dataset import crop_windows, load_beat_table
    from ecg.training.metrics import classification_metrics
    from ecg.training.training import set_seeds

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache", default="build/beats_mlii.npz")
    parser.add_argument("--out", default="experiments/results/ml_second_lead_probe.txt")
    args = parser.parse_args()
    data_dir = str(args.data_dir or default_data_dir())
    table = load_beat_table(args.cache)
    labels = table.labels("six")
    ds1 = np.flatnonzero(np.isin(table.records, list(DS1_RECORDS)))
    table = table.subset(ds1)
    table.windows = np.asarray(table.windows, dtype=np.float32)
    labels = labels[ds1]
    classes = class_codes("six")
    rr_all = table.rhythm_inputs(0.25, 0.45, "rr+record_context")
    leads = {
        "mlii": [table.windows],
        "two_leads": [table.windows, second_lead_windows(data_dir, table.records, table)],
    }

    def images(index: np.ndarray, variant: str) -> np.ndarray:
        parts = [
            representations.render(
                "spectrogram",
                crop_windows(w[index], table.fs, table.pre_s, 0.25, 0.45),
                table.fs,
                None,
            )
            for w in leads[variant]
        ]
        return np.stack(parts, axis=-1)

    folds = ds1_folds(table.records, labels, args.folds)
    lines = fold_header(
        f"# second-lead probe: grouped {args.folds}-fold CV over DS1, {args.epochs} epochs, "
        "seed 0 (DS2 not touched)",
        folds,
    )
    scores: dict[str, list[float]] = {v: [] for v in leads}
    labelled = labels >= 0
    for i, held in enumerate(folds):
        in_held = np.isin(table.records, held)
        train_idx = np.flatnonzero(labelled & ~in_held)
        test_idx = np.flatnonzero(labelled & in_held)
        for variant in leads:
            set_seeds(0)
            rng = np.random.default_rng(0)
            model = build_cnn(64, 6, rr_train=rr_all[train_idx], channels=len(leads[variant]))
            model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy")
            fit_balanced_epochs(
                model,
                lambda index, v=variant: {"image": images(index, v), "rr": rr_all[index]},
                labels,
                train_idx,
                args.epochs,
                rng,
            )
            probs = model.predict(
                {"image": images(test_idx, variant), "rr": rr_all[test_idx]}, verbose=0
            )
            m = classification_metrics(labels[test_idx], probs, classes)
            scores[variant].append(m["macro_f1"])
            f1, se = per_class_text(m), per_class_text(m, "sensitivity")
            log(lines, f"fold {i} {variant}: macro-F1 {m['macro_f1']:.4f} (F1 {f1}; Se {se})")
    finish(lines, scores, args.out)


if __name__ == "__main__":
    main()
