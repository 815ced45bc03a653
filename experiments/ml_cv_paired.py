"""Paired comparison of two candidates over grouped-CV results files: is B really ahead of A?

Each line ``fold <i> <name> seed <s>: macro-F1 <x> ...`` of ``experiments/ml_grouped_cv.py``'s
results files is one (fold, seed) score. Two candidates trained with the same fold and seed
make a pair, and the pairs say more than two means do: a fold of hard patients lowers both.
This prints each fold's mean of both, how many pairs B wins, the mean and sd of the paired
difference, and a one-sided paired t-test and Wilcoxon signed-rank test of B > A (SciPy).

    python experiments/ml_cv_paired.py recording_spec_ctx recording_spec_ctx_recbal \\
        experiments/results/ml_grouped_cv_qrs.txt:0-3 ... [--out results.txt]

A file may carry the seeds to take from it (``path:0-3``, ``path:4,5``): where a candidate and
seed were run twice (on two machines, say), the caller picks which run counts, in advance.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

SCORE_LINE = re.compile(r"^fold (\d+) (\S+) seed (\d+): macro-F1 ([0-9.]+)")


def parse_seeds(text: str) -> set[int]:
    """ "0-3" -> {0, 1, 2, 3}; "4,5" -> {4, 5}; "1-2,7" -> {1, 2, 7}."""
    seeds: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.update(range(int(low), int(high or low) + 1))
    return seeds


def read_scores(spec: str) -> dict[tuple[str, int, int], float]:
    """{(candidate, fold, seed): macro-F1} from one ``path[:seeds]``; the seeds filter it."""
    path, _, seeds_text = spec.partition(":")
    wanted = parse_seeds(seeds_text) if seeds_text else None
    scores = {}
    for line in Path(path).read_text().splitlines():
        match = SCORE_LINE.match(line)
        if match and (wanted is None or int(match[3]) in wanted):
            fold, name, seed, value = int(match[1]), match[2], int(match[3]), float(match[4])
            scores[(name, fold, seed)] = value
    return scores


def paired_comparison(
    scores: dict[tuple[str, int, int], float], a: str, b: str
) -> tuple[list[str], dict[str, float]]:
    """The report's lines and its figures for B against A over their common (fold, seed)s."""
    from scipy import stats

    keys = sorted(
        (fold, seed) for name, fold, seed in scores if name == b and (a, fold, seed) in scores
    )
    if len(keys) < 2:
        raise ValueError(f"fewer than two (fold, seed) pairs hold both {a} and {b}")
    a_values = np.array([scores[(a, *k)] for k in keys])
    b_values = np.array([scores[(b, *k)] for k in keys])
    diff = b_values - a_values
    folds = sorted({fold for fold, _ in keys})
    seeds = sorted({seed for _, seed in keys})
    lines = [f"# {b} against {a}: {len(keys)} (fold, seed) pairs, seeds {seeds}", ""]
    fold_gains = []
    for fold in folds:
        rows = [i for i, k in enumerate(keys) if k[0] == fold]
        gain = float(diff[rows].mean())
        fold_gains.append(gain)
        lines.append(
            f"fold {fold}: {a} {a_values[rows].mean():.4f}, {b} {b_values[rows].mean():.4f} "
            f"({gain:+.4f}, {len(rows)} seeds)"
        )
    figures = {
        "pairs": len(keys),
        "mean_a": float(a_values.mean()),
        "mean_b": float(b_values.mean()),
        "mean_gain": float(diff.mean()),
        "sd_gain": float(diff.std(ddof=1)),
        "wins": int((diff > 0).sum()),
        "folds_ahead": int(sum(g > 0 for g in fold_gains)),
        "t_test_p": float(stats.ttest_rel(b_values, a_values, alternative="greater").pvalue),
        "wilcoxon_p": float(stats.wilcoxon(diff, alternative="greater").pvalue),
    }
    lines += [
        "",
        f"mean macro-F1: {a} {figures['mean_a']:.4f}, {b} {figures['mean_b']:.4f}",
        f"paired gain: mean {figures['mean_gain']:+.4f}, sd {figures['sd_gain']:.4f}; "
        f"{b} ahead in {figures['wins']}/{len(keys)} pairs and "
        f"{figures['folds_ahead']}/{len(folds)} fold means",
        f"one-sided paired t-test p = {figures['t_test_p']:.4f}; "
        f"Wilcoxon signed-rank p = {figures['wilcoxon_p']:.4f}",
    ]
    return lines, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="the reference candidate")
    parser.add_argument("b", help="the candidate tested for a gain over it")
    parser.add_argument("files", nargs="+", help="results files, each path[:seeds]")
    parser.add_argument("--out", default=None, help="also write the report here")
    args = parser.parse_args()
    scores: dict[tuple[str, int, int], float] = {}
    for spec in args.files:
        for key, value in read_scores(spec).items():
            if key in scores:
                parser.error(f"{key} appears in more than one file: pick its seeds per file")
            scores[key] = value
    lines, _ = paired_comparison(scores, args.a, args.b)
    lines.insert(1, "# from " + " ".join(args.files))
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
