"""Old against new image-only models on VALIDATION macro-F1 (never the test sets).

Reads the training records of the earlier single-seed runs (``--old``, e.g. a copy of
``build/runs`` from before the change) and of the current runs (``--runs``), with the original
CNN's validation figure beside them, and writes the comparison that decided what ships.

    python experiments/ml_image_choice.py --old build/old_runs --runs build/runs \\
        --out experiments/results/ml_image_models_choice.txt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAMES = ("beat_image_cnn", "spectrogram_cnn")
TIE = 0.001


def validation(path: Path) -> tuple[float, str]:
    training = json.loads(path.read_text())["training"]
    config = training["config"]
    if training.get("ensemble"):
        members = ", ".join(f"{s:.4f}" for s in training["ensemble"]["member_validation_macro_f1"])
        what = f"ensemble of seeds {training['ensemble']['seeds']} (members {members})"
    else:
        what = (
            f"seed {config['seed']}, filters {config['filters']}, dense {config['dense']}, "
            f"gain {config['gain']}, class weights {config['balanced_weights']}, "
            f"cap {config['cap']}, best epoch {training['best_epoch']}/{training['epochs_run']}"
        )
    return float(training["best_validation_macro_f1"]), what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True)
    parser.add_argument("--runs", default="build/runs")
    parser.add_argument("--out", default="experiments/results/ml_image_models_choice.txt")
    args = parser.parse_args()
    lines = ["# validation macro-F1: old single-seed run -> current run (original CNN beside)"]
    for split in ("inter", "intra"):
        base, _ = validation(Path(args.runs) / split / "original_cnn.json")
        for name in NAMES:
            old, old_what = validation(Path(args.old) / split / f"{name}.json")
            new, new_what = validation(Path(args.runs) / split / f"{name}.json")
            # a tie (a few validation beats) goes to the ensemble: the mean of seeds varies
            # less from one unseen patient group to the next than the best seed alone
            if new > old:
                verdict = "new kept"
            elif old - new < TIE:
                verdict = f"equal within {TIE}: new kept (an ensemble, the steadier choice)"
            else:
                verdict = "NEW IS NOT BETTER"
            lines += [
                f"{split} {name}: {old:.4f} -> {new:.4f} ({verdict}); original CNN {base:.4f}",
                f"  old: {old_what}",
                f"  new: {new_what}",
            ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
