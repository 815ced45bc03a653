"""The conduction finding from every trained lead of a recording, not the analysed lead alone
(issue 17, points 3 and 7).

    nice -n 10 python benchmarks/conduction_leads_ptbxl.py          # fold 9: the choice
    nice -n 10 python benchmarks/conduction_leads_ptbxl.py --test   # after it: fold 10

A cardiologist reads a bundle branch block from several leads (V1 above all); the app reads
the beats of one lead (II by default) and, with ``benchmarks/conduction_ptbxl.py``'s rule, calls
a block from their mean probabilities. On PTB-XL fold 10 that finding was better on V1 and V5
than on II. This study asks whether the mean over all of a recording's leads the model was
trained on (II, III, V1, V5) calls records better than the analysed lead alone.

RULE (written and committed before any figure of this study existed):

Data: PTB-XL fold 9, the per-lead probabilities ``conduction_ptbxl`` cached (every CLBBB and
CRBBB record and 300 NORM records, each NORM record weighted up to the fold's NORM records), the
records with lead II beats (II is the analysed lead; the others are what a 12-lead upload also
holds).

Candidates:
- "II alone": ``conduction.SHIPPED_RULE`` on lead II's mean probabilities (the product today);
- "all leads": per record, the mean over its leads among II, III, V1 and V5 (those with beats)
  of each lead's mean probability vector, with ``ConductionRule`` thresholds on the same grid
  as ``conduction_ptbxl`` (0.20 to 0.80 for each block; ties to the larger sum).

Objective: the weighted record F1 of CLBBB, CRBBB and NORM, averaged over the three.

Choice: as in ``conduction_ptbxl``: the fold's patients split in two halves (seed 0); on each
half the pair chosen on the other is scored against "II alone" on that half; the gain is the
mean of the two differences. "All leads" is adopted, with the pair chosen on all of fold 9,
when the gain is at least 0.02 (it costs a model pass per extra lead) and its NORM F1 on all
of fold 9 is no more than 0.01 below "II alone"'s. Otherwise the app keeps the analysed lead
alone. ``--test`` (run only after the decision is committed) scores both on fold 10, with the
two-lead subsets II + V1 and II + V5 under the chosen pair beside them, reported only.

Writes ``benchmarks/results/conduction_leads_ptbxl.json`` (``--test``: ``..._test.json``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conduction_ptbxl import (  # noqa: E402
    MODEL,
    RECORD_CLASSES,
    VALIDATION_NORM,
    best_on_grid,
    calls_under,
    interval_figures,
    lead_records,
    run,
    weighted_f1,
)

from ecg.features import conduction  # noqa: E402
from ecg.features.conduction import ConductionRule  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir, load_ptbxl_table, ptbxl_splits  # noqa: E402
from ecg.models.bundle import load_bundle  # noqa: E402
from ecg.training.ptbxl_beats import labelled_records  # noqa: E402

LEADS = ("II", "III", "V1", "V5")
ANALYSED = "II"
MIN_GAIN = 0.02
NORM_MAX_LOSS = 0.01
RESULT = ROOT / "benchmarks" / "results" / "conduction_leads_ptbxl.json"
TEST_RESULT = RESULT.with_name("conduction_leads_ptbxl_test.json")


def combined(per_lead: dict[str, dict], leads: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per record with lead II beats: label, patient, II's mean probabilities and the mean of
    the mean probabilities over its leads among ``leads``."""
    base = per_lead[ANALYSED]
    index = {ld: {r: i for i, r in enumerate(per_lead[ld]["names"])} for ld in leads}
    means = np.zeros_like(base["means"])
    for row, record in enumerate(base["names"]):
        have = [per_lead[ld]["means"][index[ld][record]] for ld in leads if record in index[ld]]
        means[row] = np.mean(have, axis=0)
    return {**{k: base[k] for k in ("names", "labels", "patients")}, "ii": base["means"],
            "combined": means}  # fmt: skip


def score(data: dict, weights: np.ndarray, which: str, rule, classes, keep=None) -> tuple:
    mask = np.ones(len(weights), bool) if keep is None else keep
    called = calls_under(rule, {"means": data[which][mask]}, classes)
    f1 = weighted_f1(data["labels"][mask], called, weights[mask])
    return float(np.mean(list(f1.values()))), f1


def best_pair(data: dict, weights: np.ndarray, classes, keep=None) -> ConductionRule:
    return best_on_grid(lambda rule: score(data, weights, "combined", rule, classes, keep)[0])[0]


def choose() -> int:
    started = time.perf_counter()
    bundle = load_bundle(MODEL)
    classes = list(bundle.classes)
    per_lead = {ld: lead_records("validation", ld, VALIDATION_NORM, bundle) for ld in LEADS}
    data = combined(per_lead, LEADS)
    fold9 = labelled_records(ptbxl_splits(load_ptbxl_table(default_ptbxl_dir()))["validation"])
    norm_total = int((fold9["label"] == "N").sum())
    is_norm = data["labels"] == "N"
    weights = np.where(is_norm, norm_total / max(int(is_norm.sum()), 1), 1.0)
    shipped = conduction.SHIPPED_RULE
    patients = np.unique(data["patients"])
    order = np.random.default_rng(0).permutation(patients)
    half_of = dict(zip(order, np.arange(len(order)) % 2, strict=True))
    halves = []
    for h in (0, 1):
        this = np.array([half_of[p] == h for p in data["patients"]])
        pair = best_pair(data, weights, classes, ~this)
        ours = score(data, weights, "combined", pair, classes, this)[0]
        alone = score(data, weights, "ii", shipped, classes, this)[0]
        halves.append({"chosen_on_other_half": pair.__dict__, "all_leads": ours,
                       "ii_alone": alone, "gain": ours - alone})  # fmt: skip
    gain = float(np.mean([h["gain"] for h in halves]))
    pair = best_pair(data, weights, classes)
    all_value, all_f1 = score(data, weights, "combined", pair, classes)
    ii_value, ii_f1 = score(data, weights, "ii", shipped, classes)
    met_gain = gain >= MIN_GAIN
    met_norm = ii_f1["N"] - all_f1["N"] <= NORM_MAX_LOSS
    result = {
        "about": "benchmarks/conduction_leads_ptbxl.py: PTB-XL fold 9, records with lead II "
        "beats, the shipped recording_mixed; the rule is the module docstring",
        "records": {c: int((data["labels"] == c).sum()) for c in RECORD_CLASSES},
        "records_with_all_four_leads": int(
            sum(all(r in set(per_lead[ld]["names"]) for ld in LEADS) for r in data["names"])
        ),
        "ii_alone": {"rule": shipped.__dict__, "objective": ii_value, "record_f1": ii_f1},
        "all_leads": {"rule": pair.__dict__, "objective": all_value, "record_f1": all_f1},
        "halves": halves,
        "cross_validated_gain": gain,
        "rule": {
            "gain_met": met_gain,
            "norm_met": bool(met_norm),
            "adopt": bool(met_gain and met_norm),
        },  # fmt: skip
        "seconds": round(time.perf_counter() - started, 1),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(result, indent=1, default=float))
    return 0


def test_main() -> int:
    """Fold 10, after the decision: reported only."""
    chosen = json.loads(RESULT.read_text())
    bundle = load_bundle(MODEL)
    classes = list(bundle.classes)
    per_lead = {ld: lead_records("test", ld, None, bundle) for ld in LEADS}
    pair = ConductionRule(**chosen["all_leads"]["rule"])
    result: dict = {
        "about": "benchmarks/conduction_leads_ptbxl.py --test: PTB-XL fold 10, every labelled "
        "record with lead II beats; scored after the fold-9 decision, never chosen on",
        "decision": chosen["rule"],
        "figures": {},
    }
    variants = {
        "II alone (shipped rule)": (("II",), "ii", conduction.SHIPPED_RULE),
        "all leads (chosen pair)": (LEADS, "combined", pair),
        "II + V1 (chosen pair)": (("II", "V1"), "combined", pair),
        "II + V5 (chosen pair)": (("II", "V5"), "combined", pair),
    }
    for name, (leads, which, rule) in variants.items():
        data = combined(per_lead, leads)
        figures = interval_figures({**data, "means": data[which]}, rule, classes)
        figures["mean_F1"] = float(np.mean([figures[c]["F1"] for c in RECORD_CLASSES]))
        result["figures"][name] = figures
        print(name, {c: round(figures[c]["F1"], 3) for c in RECORD_CLASSES})
    result["created_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    TEST_RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, choose, test_main)


if __name__ == "__main__":
    raise SystemExit(main())
