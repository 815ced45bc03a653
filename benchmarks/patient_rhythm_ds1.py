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
RULE = __doc__.split("Rule, written")[1].split('"""')[0].strip()


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
        "objective": float(
            np.mean(
                [summary["six_macro_f1"], summary["VEB"]["F1"] or 0, summary["SVEB"]["F1"] or 0]
            )
        ),  # fmt: skip
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
    args = parser.parse_args()
    from ecg.features.beat_states import uncertain_threshold

    started = time.perf_counter()
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
