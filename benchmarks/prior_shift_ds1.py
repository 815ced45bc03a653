"""Class priors for a new patient (issues 17, 18): should the recording model's probabilities be
set against how common each class is, rather than against the balanced classes it learnt from?

    python benchmarks/prior_shift_ds1.py [--out benchmarks/results/prior_shift_ds1.json]

Why: the model learns from balanced epochs with balanced class weights
(``ecg.training.training._balanced_epoch``), so its probabilities answer "which class, if the
six were equally common?". In a recording most beats are N; by Bayes' rule the answer for a new
patient is the model's probability times the class's prevalence (over the training prior, here
uniform). Calibration (one temperature) cannot move classes apart, and the rare classes are
over-called on new patients: VEB Se / +P 96.0 / 78.5 % on cross-fitted DS1, 98.6 / 87.5 % on
DS2.

Candidates, each applied to the model's stored (calibrated) probabilities, renormalised, and
then read as the app reads them (A calls inside the AF episodes found on the new classes read as
N, ``review_benchmark.with_af_context``):

* ``tilt`` tau: p(c) * prior(c) ** tau, tau in 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, where prior is
  the six classes' share of the beats of the MIT-BIH records the classifying model learnt from
  (a fold model's 13-14 DS1 records; the shipped model's 18 for the validation records);
* ``em``: each recording's own prior, estimated from its beats' probabilities by EM (Saerens,
  Latinne & Decaestecker 2002: prior = mean posterior, posteriors re-weighted by prior over the
  uniform training prior, 30 rounds), used whole (``em`` 1.0) or square-rooted (``em`` 0.5).

The rule, written before any figure was seen (rule 2 of ``patient_rhythm_ds1.py``, unchanged):

1. Data: every DS1 record as a new patient (``benchmarks/ds1_cross_fit.py``): the 18 training
   records classified by the shipped recipe retrained without their fold, the 4 validation
   records by the shipped model. Nothing here reads DS2.
2. Score: the mean of six-class macro-F1, VEB F1 and SVEB F1 (EC57), pooled over the 22
   records; the best candidate is the highest score, ties (within 0.001) by the order above.
3. Adopted only if (a) its score beats the model's own probabilities (``automatic``) by 0.01 or
   more, (b) its SVEB F1 and its six-class macro-F1 are not below ``automatic``'s, and (c) its
   score is not below ``automatic``'s on the pooled beats of at least four of the five groups
   (the four folds' held-out records, the validation records).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import patient_rhythm_ds1 as pr  # noqa: E402
import review_benchmark as rb  # noqa: E402

from ecg.classes import symbol_to_index  # noqa: E402
from ecg.training.calibration_fit import PRIOR_FLOOR  # noqa: E402

TAUS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
EM_POWERS = (1.0, 0.5)
EM_ROUNDS = 30


def training_prior(records: list[str]) -> np.ndarray:
    """The six classes' share of the annotated beats of MIT-BIH ``records`` (in ``rb.SIX``
    order)."""
    import wfdb

    from ecg.io.records import default_data_dir

    six = symbol_to_index("six")
    counts = np.zeros(len(rb.SIX))
    for name in records:
        ann = wfdb.rdann(str(default_data_dir() / name), "atr")
        for symbol in ann.symbol:
            if symbol in six:
                counts[six[symbol]] += 1
    return np.maximum(counts / counts.sum(), PRIOR_FLOOR)


def tilted(probs: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    out = probs * prior[None, :] ** tau
    return out / out.sum(axis=1, keepdims=True)


def em_prior(probs: np.ndarray, rounds: int = EM_ROUNDS) -> np.ndarray:
    """The recording's class prior by EM from posteriors made under a uniform prior."""
    uniform = np.full(probs.shape[1], 1.0 / probs.shape[1])
    prior = uniform.copy()
    for _ in range(rounds):
        posterior = tilted(probs, prior / uniform, 1.0)
        prior = np.maximum(posterior.mean(axis=0), PRIOR_FLOOR)
    return prior / uniform


def candidates() -> list[dict[str, Any]]:
    return [{"tilt": t} for t in TAUS] + [{"em": p} for p in EM_POWERS]


def adjusted(probs: np.ndarray, setting: dict[str, Any] | None, prior: np.ndarray) -> np.ndarray:
    if setting is None:
        return probs
    if "tilt" in setting:
        return tilted(probs, prior, setting["tilt"])
    return tilted(probs, em_prior(probs), setting["em"])


def read_as_app(
    records: dict[str, dict[str, np.ndarray]],
    setting: dict[str, Any] | None,
    priors: dict[str, np.ndarray],
) -> dict[str, dict[str, np.ndarray]]:
    """Each record's beats with the candidate's probabilities, A calls inside AF read as N."""
    from ecg.io.records import default_data_dir

    out = {}
    for name, data in records.items():
        probs = adjusted(data["model_probs"].astype(np.float64), setting, priors[name])
        out[name] = rb.with_af_context(dict(data, probs=probs), default_data_dir(), name)
    return out


def arms(
    records: dict[str, dict[str, np.ndarray]],
    priors: dict[str, np.ndarray],
    threshold: float | None,
    members: dict[str, list[str]],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Pooled and per-group figures of ``automatic`` and every candidate, in that order."""
    pooled, groups = [], {g: [] for g in members}
    for setting in [None, *candidates()]:
        read = read_as_app(records, setting, priors)
        name = "automatic" if setting is None else setting
        pooled.append({"arm": name, **pr.figures(pr.rows_of(read, None), threshold)})
        for group, names in members.items():
            rows = pr.rows_of({n: read[n] for n in names}, None)
            groups[group].append({"arm": name, **pr.figures(rows, threshold)})
        print(f"{str(name):16s} obj {pooled[-1]['objective']:.4f} "
              f"six {pooled[-1]['six_macro_f1']:.3f} VEB {pooled[-1]['VEB']['Se']:.3f}/"
              f"{pooled[-1]['VEB']['+P']:.3f} SVEB {pooled[-1]['SVEB']['Se']:.3f}/"
              f"{pooled[-1]['SVEB']['+P']:.3f}", flush=True)  # fmt: skip
    return pooled, groups


def main() -> None:
    import ds1_cross_fit as cf

    from ecg.features.beat_states import uncertain_threshold
    from ecg.io.records import default_data_dir
    from ecg.training.mixed_pipeline import SHIPPED_PLAN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/prior_shift_ds1.json"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    records = cf.out_of_fold_records(default_data_dir())
    shipped_prior = training_prior(list(SHIPPED_PLAN.mitdb_records))
    priors = {}
    for name in records:
        if name in rb.VALIDATION_RECORDS:
            priors[name] = shipped_prior
        else:
            priors[name] = training_prior(list(cf.fold_plan(cf.fold_of(name)).mitdb_records))
    threshold = uncertain_threshold(rb.shipped_recording_bundle().metadata)
    members = {f"fold {k}": list(f) for k, f in enumerate(cf.FOLDS)}
    members["validation"] = list(rb.VALIDATION_RECORDS)
    pooled, groups = arms(records, priors, threshold, members)
    result = {
        "rule": __doc__.split("The rule, written before any figure was seen")[1].strip(),
        "shipped_model_prior": dict(zip(rb.SIX, np.round(shipped_prior, 5).tolist(), strict=True)),
        "groups": members,
        "pooled": pooled,
        "per_group": groups,
        "decision": pr.decide_cross_fitted(pooled, groups),
        "uncertain_below": threshold,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(result["decision"], indent=1, default=float))


if __name__ == "__main__":
    main()
