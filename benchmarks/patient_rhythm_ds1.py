"""Issues 17, 18: does the patient's own rhythm, learnt from the model's confident calls with
no clinician at all, tell premature atrial beats (A) from normal ones (N) better than the model
alone? A selection on MIT-BIH DS1, DS2 scored after the decision.

The review's ``corrections.premature_step`` decides N against A per patient with a logistic
regression on the rhythm block (prematurity, the pause after, RR over the recording's median)
and the model's own log-odds, fitted on the beats the clinician confirmed AND on the beats the
model calls N or A confidently (pseudo-labels). This study asks whether the pseudo-labels
alone already help: the same step with no confirmed beat, run on every recording after the
model (and after the A-in-AF reading the app stores). A premature atrial beat is told from a
normal one mostly by its timing *within this patient's rhythm*, which a model trained on other
patients sees only through fixed RR features.

    python benchmarks/patient_rhythm_ds1.py          # DS1 choice -> results/patient_rhythm_ds1.json
    python benchmarks/patient_rhythm_ds1.py --test   # after the decision: DS2, reported only

The beats are the review benchmark's (``review_benchmark.cache_record`` + ``with_af_context``:
the served int8 ``recording_mixed`` at MIT-BIH's annotated R peaks, MLII, A calls inside the
AF episodes found on these beats read as N), every annotated beat scored.

Rule, written before any figure of this study was computed:

1. Arms: ``automatic`` (the stored probabilities, the incumbent) and eight candidates:
   ``premature_step`` with no confirmed beat, ``pseudo_confidence`` in (0.8, 0.9, 0.95, 0.99)
   x ``model_feature`` in (True, False), in that order (confidence outer).
2. Score: ``review_benchmark.objective``'s quantity, the mean of six-class macro-F1, VEB F1 and
   SVEB F1 (both as EC57 counts them), over the pooled beats of the validation records 106,
   124, 209, 223 (held out of the model's training); "all DS1" is the same over the 22 DS1
   records (18 of them the model's training records).
3. Best candidate: the highest validation score; ties (within 0.001) by the higher all-DS1
   score, then the candidate order.
4. Adopted only if (a) its validation score beats ``automatic``'s by 0.01 or more, (b) its
   all-DS1 score is not below ``automatic``'s by more than 0.001, and (c) its validation SVEB
   F1 is not below ``automatic``'s.
5. ``--test`` (only after the decision is written): DS2's 22 records, both arms and every
   candidate, figures reported, nothing chosen. Also reported: the share of beats whose top
   probability falls under the model's calibrated "uncertain" threshold, before and after.

Rule 1's answer (``patient_rhythm_ds1.json``): the best setting gained 0.0075 on validation,
not adopted. DS2 was then scored (``patient_rhythm_ds2.json``) and favoured the step.

RULE 2, on cross-fitted DS1 (``--cross-fitted``). Written after rule 1's decision AND after its
DS2 figures were seen, before any figure of this rule existed. Because DS2 prompted this second
look, DS2 is no independent check of a step this rule adopts; the rule reads DS1 only:

1. Data: every DS1 record as a new patient (``benchmarks/ds1_cross_fit.py``): the 18 training
   records classified by the shipped recipe retrained without their fold, the 4 validation
   records by the shipped model; read as the app stores them (A calls inside AF as N).
2. Arms and score as rule 1's points 1 and 2, pooled over the 22 records; the best is the
   highest score, ties (within 0.001) by the candidate order.
3. Adopted only if (a) its score beats ``automatic``'s by 0.01 or more, (b) its SVEB F1 and
   its six-class macro-F1 are not below ``automatic``'s, and (c) its score is not below
   ``automatic``'s on the pooled beats of at least four of the five groups (the four folds'
   held-out records, the validation records).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import review_benchmark as rb  # noqa: E402

from ecg.classes import DS1_RECORDS, DS2_RECORDS, symbol_to_index  # noqa: E402
from ecg.features import corrections  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "patient_rhythm_ds1.json"
TEST_RESULTS = Path(__file__).resolve().parent / "results" / "patient_rhythm_ds2.json"
CONFIDENCES = (0.8, 0.9, 0.95, 0.99)
MODEL_FEATURE = (True, False)
TIE = 0.001
MARGIN = 0.01
RULE = __doc__.split("Rule, written")[1].split("Rule 1's answer")[0].strip()
RULE_2 = __doc__.split("RULE 2, ")[1].strip()
CROSS_FIT_RESULTS = Path(__file__).resolve().parent / "results" / "patient_rhythm_cross_fit.json"


def candidates() -> list[dict[str, Any]]:
    return [
        {"pseudo_confidence": c, "model_feature": m} for c in CONFIDENCES for m in MODEL_FEATURE
    ]


def adapted(data: dict[str, np.ndarray], setting: dict[str, Any]) -> np.ndarray:
    """The stored probabilities after ``premature_step`` with no confirmed beat."""
    six = rb.SIX
    none = np.zeros(0, dtype=np.int64)
    return corrections.premature_step(
        data["probs"], data["probs"], data["rr"], none, none,
        normal=six.index("N"), premature=six.index("A"), **setting,
    )  # fmt: skip


def rows_of(
    records: dict[str, dict[str, np.ndarray]], setting: dict[str, Any] | None
) -> dict[str, np.ndarray]:
    """Every beat of ``records`` with its reference six / AAMI class, ``pa`` the stored
    probabilities and ``pf`` the candidate's (``setting`` None: the stored ones again)."""
    six, aami = symbol_to_index("six"), symbol_to_index("aami")
    rows: dict[str, list] = {k: [] for k in ("rec", "six", "aami", "pa", "pf")}
    for name, data in records.items():
        symbols = data["symbols"]
        rows["rec"].append(np.full(len(symbols), name))
        rows["six"].append(np.array([six.get(str(s), -1) for s in symbols]))
        rows["aami"].append(np.array([aami.get(str(s), -1) for s in symbols]))
        stored = corrections.padded(data["probs"], len(rb.LABELS))
        rows["pa"].append(stored)
        fixed = data["probs"] if setting is None else adapted(data, setting)
        rows["pf"].append(corrections.padded(fixed, len(rb.LABELS)))
    return {k: np.concatenate(v) for k, v in rows.items()}


def figures(rows: dict[str, np.ndarray], uncertain_below: float | None) -> dict[str, Any]:
    summary = rb.score(rows, rows["pf"])["summary"]
    out = {
        "objective": rb.summary_objective(summary),
        "six_macro_f1": summary["six_macro_f1"],
        "six_per_class_f1": summary["six_per_class_f1"],
        "VEB": summary["VEB"],
        "SVEB": summary["SVEB"],
        "answers_changed": int((rows["pf"].argmax(axis=1) != rows["pa"].argmax(axis=1)).sum()),
        "beats": int(len(rows["rec"])),
    }
    if uncertain_below is not None:
        out["uncertain_share"] = float((rows["pf"].max(axis=1) < uncertain_below).mean())
    return out


def arms(
    records: dict[str, dict[str, np.ndarray]], uncertain_below: float | None
) -> list[dict[str, Any]]:
    out = [{"arm": "automatic", **figures(rows_of(records, None), uncertain_below)}]
    for setting in candidates():
        out.append({"arm": setting, **figures(rows_of(records, setting), uncertain_below)})
    return out


def decide(validation: list[dict[str, Any]], ds1: list[dict[str, Any]]) -> dict[str, Any]:
    """Points 3 and 4 of the rule: ``validation`` and ``ds1`` list the arms in the same order,
    ``automatic`` first."""
    auto_val, auto_all = validation[0], ds1[0]
    order = range(1, len(validation))
    top = max(validation[i]["objective"] for i in order)
    tied = [i for i in order if validation[i]["objective"] >= top - TIE]
    best = max(tied, key=lambda i: (ds1[i]["objective"], -i))
    checks = {
        "validation_gain": validation[best]["objective"] - auto_val["objective"],
        "ds1_all_change": ds1[best]["objective"] - auto_all["objective"],
        "validation_sveb_f1_change": (validation[best]["SVEB"]["F1"] or 0)
        - (auto_val["SVEB"]["F1"] or 0),
    }
    adopted = (
        checks["validation_gain"] >= MARGIN
        and checks["ds1_all_change"] >= -TIE
        and checks["validation_sveb_f1_change"] >= 0
    )
    return {"best": validation[best]["arm"], "checks": checks, "adopted": bool(adopted)}


def decide_cross_fitted(
    pooled: list[dict[str, Any]], groups: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Rule 2's points 2 and 3: ``pooled`` and each of ``groups`` list the arms in the same
    order, ``automatic`` first."""
    auto = pooled[0]
    order = range(1, len(pooled))
    top = max(pooled[i]["objective"] for i in order)
    best = min(i for i in order if pooled[i]["objective"] >= top - TIE)
    not_below = {
        group: bool(arms_[best]["objective"] >= arms_[0]["objective"])
        for group, arms_ in groups.items()
    }
    checks = {
        "gain": pooled[best]["objective"] - auto["objective"],
        "sveb_f1_change": (pooled[best]["SVEB"]["F1"] or 0) - (auto["SVEB"]["F1"] or 0),
        "six_macro_f1_change": pooled[best]["six_macro_f1"] - auto["six_macro_f1"],
        "groups_not_below": not_below,
    }
    adopted = (
        checks["gain"] >= MARGIN
        and checks["sveb_f1_change"] >= 0
        and checks["six_macro_f1_change"] >= 0
        and sum(not_below.values()) >= len(groups) - 1
    )
    return {"best": pooled[best]["arm"], "checks": checks, "adopted": bool(adopted)}


def cross_fitted_main() -> dict[str, Any]:
    import ds1_cross_fit as cf

    from ecg.features.beat_states import uncertain_threshold
    from ecg.io.records import default_data_dir

    records = cf.out_of_fold_records(default_data_dir())
    threshold = uncertain_threshold(rb.shipped_recording_bundle().metadata)
    members = {f"fold {k}": list(f) for k, f in enumerate(cf.FOLDS)}
    members["validation"] = list(rb.VALIDATION_RECORDS)
    groups = {g: arms({n: records[n] for n in names}, threshold) for g, names in members.items()}
    pooled = arms(records, threshold)
    return {
        "rule": RULE_2,
        "data": "MIT-BIH DS1, every record classified by a model that did not train on it "
        "(benchmarks/ds1_cross_fit.py)",
        "groups": members,
        "pooled": pooled,
        "per_group": groups,
        "decision": decide_cross_fitted(pooled, groups),
        "uncertain_below": threshold,
    }


def load(names: list[str]) -> tuple[dict[str, dict[str, np.ndarray]], Any]:
    from ecg.io.records import default_data_dir

    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("needs MIT-BIH (../shared/data/mitdb or $ECG_DATA_DIR)")
    bundle = rb.shipped_recording_bundle()
    records = {}
    for name in names:
        records[name] = rb.with_af_context(rb.cache_record(bundle, data_dir, name), data_dir, name)
    return records, bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="store_true", help="DS2, after the decision")
    parser.add_argument("--cross-fitted", action="store_true", help="rule 2 (DS1 out of fold)")
    args = parser.parse_args()
    from ecg.features.beat_states import uncertain_threshold

    started = time.perf_counter()
    if args.cross_fitted:
        result = cross_fitted_main()
        result["seconds"] = round(time.perf_counter() - started, 1)
        CROSS_FIT_RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        for row in result["pooled"]:
            print(f"{str(row['arm']):55s} obj {row['objective']:.4f}")
        print(json.dumps(result["decision"]))
        return
    if args.test:
        decision = json.loads(RESULTS.read_text())["decision"]  # the decision comes first
        records, bundle = load(list(DS2_RECORDS))
        threshold = uncertain_threshold(bundle.metadata)
        result = {
            "rule": RULE,
            "decision_before": decision,
            "data": "MIT-BIH DS2 (22 records), reported only",
            "arms": arms(records, threshold),
        }
        path = TEST_RESULTS
    else:
        records, bundle = load(list(DS1_RECORDS))
        threshold = uncertain_threshold(bundle.metadata)
        validation = {n: records[n] for n in rb.VALIDATION_RECORDS}
        val_arms, all_arms = arms(validation, threshold), arms(records, threshold)
        result = {
            "rule": RULE,
            "model": {"name": bundle.name, "version": bundle.version},
            "validation_records": list(rb.VALIDATION_RECORDS),
            "validation": val_arms,
            "ds1_all": all_arms,
            "decision": decide(val_arms, all_arms),
        }
        path = RESULTS
    result["uncertain_below"] = threshold
    result["seconds"] = round(time.perf_counter() - started, 1)
    path.write_text(json.dumps(result, indent=1) + "\n")
    for row in result.get("validation", result.get("arms")):
        print(
            f"{str(row['arm']):55s} obj {row['objective']:.4f} six {row['six_macro_f1']:.3f} "
            f"SVEB Se/+P/F1 {row['SVEB']['Se'] or 0:.3f}/{row['SVEB']['+P'] or 0:.3f}/"
            f"{row['SVEB']['F1'] or 0:.3f} changed {row['answers_changed']}"
        )
    if "decision" in result:
        print(json.dumps(result["decision"]))


if __name__ == "__main__":
    main()
