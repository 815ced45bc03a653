"""The recording's conduction pattern (issue 17, point 7): a record's class from its beats.

    nice -n 10 python benchmarks/conduction_ptbxl.py           # fold 9: the choice
    nice -n 10 python benchmarks/conduction_ptbxl.py --test    # after the choice: the test sets

The report's record-level CLBBB / CRBBB / NORM figures call a record the class most of its
beats are called (``conduction.MAJORITY``). On PTB-XL fold 10, lead II, the shipped model's
CRBBB F1 is 0.717 at Se 0.81 / +P 0.64 (``models/REPORT.md``): false block calls, not missed
blocks, hold it back. This study asks whether the mean probability over a record's beats with a
threshold per block (``conduction.ConductionRule``) calls records better, and the product then
shows that finding once per recording (``conduction.conduction_finding``).

RULE (written and committed before any figure of this study existed):

Data: PTB-XL fold 9 (validation), the cached beat tables the mixed training validates on
(every CLBBB and CRBBB record the label rule keeps and 300 random NORM records, per lead:
``ptbxl_lead_table(..., "validation", lead, n_norm=300)``), leads II, III, V1 and V5. Each NORM
record is weighted by (the fold's NORM records the label rule keeps) / (NORM records in the
table), so false block calls weigh as they would over the whole fold. Model: the shipped
``recording_mixed`` ensemble through ``bundle_probabilities`` (the network alone on every beat,
as the report's record figures).

Objective: the mean, over the four leads and the three record classes (CLBBB, CRBBB, NORM), of
the weighted record F1; a record called anything else or not determined is a miss.

Candidates: ``MAJORITY`` (the report's vote today) and ``ConductionRule(lbbb_min, rbbb_min)``
for each pair of thresholds in 0.20, 0.25, ..., 0.80 (169 pairs). Ties in the objective go to
the pair with the larger sum (fewer block calls).

Choice: the gain is estimated free of the choice's own optimism: the fold-9 patients are split
in two halves (a seeded permutation, seed 0); on each half, the pair chosen on the other half is
scored against ``MAJORITY`` on that half, and the gain is the mean of the two differences.
``SHIPPED_RULE`` becomes the pair chosen on all of fold 9 when both hold:

1. the cross-validated gain is at least 0.01;
2. on all of fold 9, with that pair, no lead's NORM F1 is more than 0.01 below ``MAJORITY``'s.

Otherwise ``SHIPPED_RULE`` stays ``MAJORITY``. Only after that decision is committed does
``--test`` score fold 10 (all labelled records, four leads, intervals over patients), LUDB
(lead II at the cardiologists' QRS peaks: the findings per header-diagnosis group) and MIT-BIH
DS2 (each record's finding beside its most frequent annotated class), both rules side by side,
reported only.

Writes ``benchmarks/results/conduction_ptbxl.json`` (``--test``: ``conduction_ptbxl_test.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ecg.features import conduction  # noqa: E402
from ecg.features.conduction import MAJORITY, ConductionRule  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir, load_ptbxl_table, ptbxl_splits  # noqa: E402
from ecg.models.bundle import load_bundle  # noqa: E402
from ecg.training.evaluation import bundle_probabilities  # noqa: E402
from ecg.training.mixed import as_mixed, ptbxl_lead_table  # noqa: E402
from ecg.training.mixed_eval import f1_with_intervals  # noqa: E402
from ecg.training.ptbxl_beats import labelled_records  # noqa: E402

MODEL = ROOT / "models" / "recording_mixed.keras"
LEADS = ("II", "III", "V1", "V5")
RECORD_CLASSES = ("L", "R", "N")
GRID = np.round(np.arange(0.20, 0.801, 0.05), 2)
MIN_GAIN = 0.01
NORM_MAX_LOSS = 0.01
VALIDATION_NORM = 300
CACHE = ROOT / "build" / "conduction"
RESULT = ROOT / "benchmarks" / "results" / "conduction_ptbxl.json"
TEST_RESULT = RESULT.with_name("conduction_ptbxl_test.json")


def lead_records(split: str, lead: str, n_norm: int | None, bundle) -> dict[str, np.ndarray]:
    """Per record of one split and lead: its mean probabilities, label, patient; plus the
    beats' probabilities for the majority vote (cached: the network is the slow part)."""
    path = CACHE / f"{split}_{lead.lower()}_n{n_norm or 'all'}.npz"
    if not path.is_file():
        import ptbxl_mixed_eval as ev

        beats = ptbxl_lead_table(default_ptbxl_dir(), split, lead, n_norm=n_norm, workers=2)
        table = as_mixed(beats.table)
        probs = bundle_probabilities(bundle, table, np.arange(len(table)), ev.rr_for(bundle, table))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, probs=probs.astype(np.float32), records=table.records,
                            labels=table.symbols, patients=beats.patients)  # fmt: skip
    d = np.load(path, allow_pickle=False)
    names, means = conduction.record_means(d["probs"], d["records"])
    _, voted = conduction.majority_call(d["probs"], d["records"], list(bundle.classes))
    first = {r: i for i, r in reversed(list(enumerate(d["records"])))}
    return {
        "names": names,
        "means": means,
        "majority": np.array([v or "-" for v in voted]),
        "labels": np.array([str(d["labels"][first[r]]) for r in names]),
        "patients": np.array([int(d["patients"][first[r]]) for r in names]),
    }


def weighted_f1(true: np.ndarray, called: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Record F1 of each record class from weighted counts (a miss: any other call)."""
    out = {}
    for c in RECORD_CLASSES:
        tp = float(weights[(true == c) & (called == c)].sum())
        support, calls = float(weights[true == c].sum()), float(weights[called == c].sum())
        out[c] = 2 * tp / (support + calls) if support + calls else float("nan")
    return out


def calls_under(rule, data: dict[str, np.ndarray], classes) -> np.ndarray:
    if rule == MAJORITY:
        return data["majority"]
    return np.array([c or "-" for c in conduction.conduction_call(data["means"], classes, rule)])


def objective(rule, per_lead: dict, classes, keep=None) -> tuple[float, dict]:
    """Mean weighted record F1 over leads and classes (records ``keep[lead]`` only)."""
    figures = {}
    for lead, data in per_lead.items():
        mask = np.ones(len(data["names"]), bool) if keep is None else keep[lead]
        called = calls_under(rule, data, classes)[mask]
        figures[lead] = weighted_f1(data["labels"][mask], called, data["weights"][mask])
    return float(np.mean([f for lead in figures.values() for f in lead.values()])), figures


def best_on_grid(value_of) -> tuple[ConductionRule, float]:
    """The threshold pair on ``GRID`` whose ``value_of(rule)`` is highest (ties: the larger
    sum, fewer block calls), and that value: the choice both conduction studies make."""
    scored = [
        (value_of(ConductionRule(float(a), float(b))), a + b, a, b) for a in GRID for b in GRID
    ]
    value, _, a, b = max(scored)
    return ConductionRule(float(a), float(b)), value


def best_pair(per_lead: dict, classes, keep=None) -> tuple[ConductionRule, float]:
    return best_on_grid(lambda rule: objective(rule, per_lead, classes, keep)[0])


def choose() -> int:
    started = time.perf_counter()
    bundle = load_bundle(MODEL)
    classes = list(bundle.classes)
    fold9 = labelled_records(ptbxl_splits(load_ptbxl_table(default_ptbxl_dir()))["validation"])
    norm_total = int((fold9["label"] == "N").sum())
    per_lead = {}
    for lead in LEADS:
        print(f"fold 9, lead {lead}", flush=True)
        data = lead_records("validation", lead, VALIDATION_NORM, bundle)
        is_norm = data["labels"] == "N"
        data["weights"] = np.where(is_norm, norm_total / max(int(is_norm.sum()), 1), 1.0)
        per_lead[lead] = data
    # two halves of the fold's patients
    patients = np.unique(np.concatenate([d["patients"] for d in per_lead.values()]))
    half_of = dict(
        zip(
            np.random.default_rng(0).permutation(patients),
            np.arange(len(patients)) % 2,
            strict=True,
        )
    )
    halves = []
    for h in (0, 1):
        this = {
            ld: np.array([half_of[p] == h for p in d["patients"]]) for ld, d in per_lead.items()
        }
        other = {ld: ~m for ld, m in this.items()}
        pair, _ = best_pair(per_lead, classes, other)
        chosen_here = objective(pair, per_lead, classes, this)[0]
        majority_here = objective(MAJORITY, per_lead, classes, this)[0]
        halves.append({"chosen_on_other_half": pair.__dict__, "objective": chosen_here,
                       "majority_objective": majority_here,
                       "gain": chosen_here - majority_here})  # fmt: skip
    gain = float(np.mean([h["gain"] for h in halves]))
    pair, value = best_pair(per_lead, classes)
    majority_value, majority_figures = objective(MAJORITY, per_lead, classes)
    _, pair_figures = objective(pair, per_lead, classes)
    norm_loss = {ld: majority_figures[ld]["N"] - pair_figures[ld]["N"] for ld in LEADS}
    met_gain = gain >= MIN_GAIN
    met_norm = all(v <= NORM_MAX_LOSS for v in norm_loss.values())
    result = {
        "about": "benchmarks/conduction_ptbxl.py: PTB-XL fold 9 (validation), shipped "
        "recording_mixed, record calls from beats; the rule is the module docstring",
        "records": {
            ld: {c: int((d["labels"] == c).sum()) for c in RECORD_CLASSES}
            for ld, d in per_lead.items()
        },  # fmt: skip
        "fold9_norm_records": norm_total,
        "majority": {"objective": majority_value, "record_f1": majority_figures},
        "best_pair_all_fold9": {
            "rule": pair.__dict__,
            "objective": value,
            "record_f1": pair_figures,
        },  # fmt: skip
        "halves": halves,
        "cross_validated_gain": gain,
        "norm_f1_loss_by_lead": norm_loss,
        "rule": {
            "gain_met": met_gain,
            "norm_met": met_norm,
            "adopt": bool(met_gain and met_norm),
            "shipped_rule": pair.__dict__ if met_gain and met_norm else "majority",
        },  # fmt: skip
        "seconds": round(time.perf_counter() - started, 1),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    shown = ("majority", "best_pair_all_fold9", "halves", "cross_validated_gain", "rule")
    print(json.dumps({k: result[k] for k in shown}, indent=1))
    return 0


def run(argv: list[str] | None, doc: str, choose_fn, test_fn) -> int:
    """The command line both conduction studies share: the choice, or ``--test`` after it."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--test", action="store_true", help="after the choice: the test sets")
    args = parser.parse_args(argv)
    if default_ptbxl_dir() is None:
        print("PTB-XL not found (set PTBXL_DIR)", file=sys.stderr)
        return 1
    return test_fn() if args.test else choose_fn()


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, choose, test_main)


def interval_figures(data: dict[str, np.ndarray], rule, classes) -> dict:
    """Record Se / +P / F1 of CLBBB, CRBBB, NORM with intervals over patients."""
    codes = [*RECORD_CLASSES, "-"]
    called = calls_under(rule, data, classes)
    true = np.array([codes.index(c) if c in codes else codes.index("-") for c in data["labels"]])
    pred = np.array([codes.index(c) for c in called])
    return f1_with_intervals(true, pred, data["patients"], codes, list(RECORD_CLASSES))


def findings_count(calls: np.ndarray) -> dict[str, int]:
    return {str(conduction.FINDINGS[c if c != "-" else None]): int(np.sum(calls == c))
            for c in (*RECORD_CLASSES, "-")}  # fmt: skip


def test_main() -> int:
    """Both rules on the test sets (after the choice; reported only)."""
    import ptbxl_mixed_eval as ev

    from ecg.io.ludb import default_ludb_dir
    from ecg.training.dataset import load_beat_table
    from ecg.training.mixed_eval import ludb_beat_table

    started = time.perf_counter()
    bundle = load_bundle(MODEL)
    classes = list(bundle.classes)
    rules = {"majority": MAJORITY, "shipped": conduction.SHIPPED_RULE}
    result: dict = {
        "about": "benchmarks/conduction_ptbxl.py --test: scored after the fold-9 choice "
        "(conduction_ptbxl.json), never chosen on",
        "shipped_rule": conduction.SHIPPED_RULE.__dict__,
        "ptbxl_fold10": {},
    }
    for lead in LEADS:
        print(f"fold 10, lead {lead}", flush=True)
        data = lead_records("test", lead, None, bundle)
        result["ptbxl_fold10"][lead] = {
            name: interval_figures(data, rule, classes) for name, rule in rules.items()
        }
    result["fold10_mean_record_f1"] = {
        name: float(
            np.mean(
                [
                    f[c]["F1"]
                    for m in result["ptbxl_fold10"].values()
                    for c in RECORD_CLASSES
                    for f in [m[name]]
                ]
            )
        )
        for name in rules
    }  # fmt: skip (the objective of the choice, unweighted: fold 10 is scored whole)
    ludb_dir = default_ludb_dir()
    if ludb_dir is not None:
        print("LUDB, lead II", flush=True)
        table, diagnoses = ludb_beat_table(ludb_dir, lead="ii")
        table = as_mixed(table)
        probs = bundle_probabilities(bundle, table, np.arange(len(table)), ev.rr_for(bundle, table))
        data = {"means": conduction.record_means(probs, table.records)[1]}
        names, voted = conduction.majority_call(probs, table.records, classes)
        data["majority"] = np.array([v or "-" for v in voted])
        result["ludb"] = {}
        for group, members in ev.ludb_groups(diagnoses).items():
            keep = np.isin(names, members)
            result["ludb"][group] = {
                name: findings_count(calls_under(rule, data, classes)[keep])
                for name, rule in rules.items()
            }
    print("MIT-BIH DS2, MLII", flush=True)
    mlii = load_beat_table(ROOT / "build" / "beats_mlii.npz")
    ds2 = as_mixed(mlii.subset(np.flatnonzero(np.isin(mlii.records, list(ev.DS2_RECORDS)))))
    probs = bundle_probabilities(bundle, ds2, np.arange(len(ds2)), ev.rr_for(bundle, ds2))
    names, means = conduction.record_means(probs, ds2.records)
    _, voted = conduction.majority_call(probs, ds2.records, classes)
    data = {"means": means, "majority": np.array([v or "-" for v in voted])}
    calls = {name: calls_under(rule, data, classes) for name, rule in rules.items()}
    result["ds2"] = {}
    for i, record in enumerate(names):
        symbols, counts = np.unique(ds2.symbols[ds2.records == record], return_counts=True)
        shares = {
            str(s): round(int(n) / int(counts.sum()), 3)
            for s, n in zip(symbols, counts, strict=True)
        }
        result["ds2"][str(record)] = {
            "annotated_shares": dict(sorted(shares.items(), key=lambda kv: -kv[1])[:3]),
            "mean_probability": {c: round(float(means[i, classes.index(c)]), 3)
                                 for c in RECORD_CLASSES},
            **{name: str(conduction.FINDINGS[c[i] if c[i] != "-" else None])
               for name, c in calls.items()},
        }  # fmt: skip
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["created_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    TEST_RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    for lead, m in result["ptbxl_fold10"].items():
        for name, f in m.items():
            print(lead, name, {c: round(f[c]["F1"], 3) for c in RECORD_CLASSES})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
