"""Issue 20: the review vote's scales chosen again, on DS1 patients the model has not seen and
on what ONE review action does, not only on 20 confirmed beats.

Why: the vote's last re-choice (``review_benchmark.py --choose``) read 20 card beats per record
on the four validation records; it picked model-led scales that made a single correction break
more beats than it fixed in places (``review_one_correction_ds1.json``), so they were not
applied and "a rule that measures one action" was left open (docs/review.md). Its other 18 DS1
records were the model's training patients, whose probabilities are near one-hot and say
little about a new patient. ``benchmarks/ds1_cross_fit.py`` now gives every DS1 record as a new
patient.

    python benchmarks/review_cross_fit_rechoice.py   # -> results/review_cross_fit_rechoice.json
    python benchmarks/review_cross_fit_rechoice.py --test   # after the decision: DS2

RULE (written before any figure of this script existed):

1. Records: the 22 DS1 records as new patients (``ds1_cross_fit.out_of_fold_records``), read as
   the app stores them (A calls inside AF as N).
2. Candidates: the vote's scales over ``GRID`` (morphology 0.08-0.64 mV, rhythm 0.1-0.4, model
   0.25-2.0; the shipped 0.16 / 0.10 / 2.0 among them), in that order; the template cut and
   every step after the vote (premature and ventricular steps, pooling, fusion) as shipped.
3. Two measures per candidate, pooled over the 22 records:
   - ``objective``: ``review_benchmark.objective`` (mean of six-class macro-F1, VEB F1 and
     SVEB F1 on the beats not reviewed) after the cards clinician's 20 beats;
   - one action, for "first mistake corrected" and "first beat confirmed"
     (``review_one_correction_ds1``'s definitions): beats fixed minus beats broken among the
     record's other beats, summed over records (``net``).
4. Feasible: both nets at least the shipped scales' nets.
5. Best: the feasible candidate with the highest objective; ties (within 0.001) by the larger
   sum of the two nets, then the grid order.
6. It replaces the shipped scales only if its objective beats theirs by 0.01 or more, and then
   only if the product's review tests (``tests/ml/test_review.py``,
   ``tests/recordings/test_review.py``) still pass with it; if they fail it is not applied,
   and that is reported.
7. ``--test`` (after the decision is written): DS2 (the served model), both measures for the
   shipped and the best scales; reported, never chosen on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import review_benchmark as rb  # noqa: E402
import review_one_correction_ds1 as oc  # noqa: E402

from ecg.classes import DS2_RECORDS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "review_cross_fit_rechoice.json"
TEST_RESULTS = RESULTS.with_name("review_cross_fit_rechoice_ds2.json")
GRID = {
    "morph_scale": (0.08, 0.16, 0.32, 0.64),
    "rhythm_scale": (0.10, 0.20, 0.40),
    "model_scale": (0.25, 0.5, 1.0, 2.0),
}
SHIPPED = dict(rb.VOTE_SCALES)
MARGIN = 0.01
TIE = 0.001
ACTIONS = ("first_mistake_corrected", "first_beat_confirmed")
RULE = __doc__.split("RULE (written")[1].split('"""')[0].strip()


def measure(
    records: dict[str, dict[str, np.ndarray]],
    chosen: dict[str, np.ndarray],
    scales: dict[str, float],
) -> dict[str, Any]:
    """Point 3 of the rule for one set of vote scales."""
    params = {**rb.PARAMS, **scales}
    rows = rb.simulate(records, chosen, params)
    summary = rb.score(rows, rows["pf"])["summary"]
    out: dict[str, Any] = {
        **scales,
        "objective": rb.summary_objective(summary),
        "six_macro_f1": summary["six_macro_f1"],
        "VEB_F1": summary["VEB"]["F1"],
        "SVEB_F1": summary["SVEB"]["F1"],
    }
    firsts = {name: oc.first_beats(data) for name, data in records.items()}
    for action in ACTIONS:
        fixed = broken = 0
        for name, data in records.items():
            truth, beats = firsts[name]
            if beats[action] is None:
                continue
            counts = oc.one_action(data, truth, beats[action], params)
            fixed, broken = fixed + counts["fixed"], broken + counts["broken"]
        out[action] = {"fixed": fixed, "broken": broken, "net": fixed - broken}
    return out


def decide(rows: list[dict[str, Any]], shipped: dict[str, Any]) -> dict[str, Any]:
    """Points 4-6 (before the product tests) of the rule; ``rows`` in the grid order."""
    feasible = [r for r in rows if all(r[a]["net"] >= shipped[a]["net"] for a in ACTIONS)]
    top = max(r["objective"] for r in feasible)
    tied = [r for r in feasible if r["objective"] >= top - TIE]
    best = max(tied, key=lambda r: (sum(r[a]["net"] for a in ACTIONS), -rows.index(r)))
    gain = best["objective"] - shipped["objective"]
    return {
        "feasible": len(feasible),
        "best": {k: best[k] for k in GRID},
        "objective_gain": gain,
        "replaces_shipped_if_tests_pass": bool(gain >= MARGIN),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="store_true", help="DS2, after the decision")
    args = parser.parse_args()
    from ecg.io.records import default_data_dir

    started = time.perf_counter()
    data_dir = default_data_dir()
    if args.test:
        decision = json.loads(RESULTS.read_text())["decision"]  # the decision comes first
        bundle = rb.shipped_recording_bundle()
        records = {
            name: rb.with_af_context(rb.cache_record(bundle, data_dir, name), data_dir, name)
            for name in DS2_RECORDS
        }
        chosen = rb.confirmations(records, "cards", premature_beats=rb.PREMATURE_CARDS)
        result = {
            "rule": RULE,
            "decision_before": decision,
            "data": "MIT-BIH DS2 (22 records), the served model; reported only",
            "shipped": measure(records, chosen, SHIPPED),
            "best": measure(records, chosen, decision["best"]),
        }
        path = TEST_RESULTS
    else:
        import ds1_cross_fit as cf

        records = cf.out_of_fold_records(data_dir)
        chosen = rb.confirmations(records, "cards", premature_beats=rb.PREMATURE_CARDS)
        rows = []
        for values in itertools.product(*GRID.values()):
            rows.append(measure(records, chosen, dict(zip(GRID, values, strict=True))))
            print(json.dumps(rows[-1]), flush=True)
        shipped = next(r for r in rows if all(r[k] == SHIPPED[k] for k in GRID))
        result = {
            "rule": RULE,
            "data": "MIT-BIH DS1, every record as a new patient (benchmarks/ds1_cross_fit.py)",
            "shipped": shipped,
            "grid": rows,
            "decision": decide(rows, shipped),
        }
        path = RESULTS
    result["seconds"] = round(time.perf_counter() - started, 1)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result.get("decision", result.get("best")), indent=1))


if __name__ == "__main__":
    main()
