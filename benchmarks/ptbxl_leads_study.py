"""Issue 17, point 3: train the recording model on all four PTB-XL leads (II, III, V1, V5)?

    python benchmarks/ptbxl_leads_study.py            # train (~20-30 min on 2 cores), then score
    python benchmarks/ptbxl_leads_study.py --score    # score only (members already trained)
    python benchmarks/ptbxl_leads_study.py --test     # after the decision: the test sets
    python benchmarks/ptbxl_leads_study.py --ship     # the rule met: models/recording_mixed.*

``--test`` (run only after the rule's answer was committed) scores both models on the test sets
the mixed-training evaluation uses (``ptbxl_mixed_eval``: MIT-BIH DS2 MLII beats, PTB-XL fold
10 on all four leads, LUDB lead II) into ``ptbxl_leads_study_test.json``; reported, never chosen
on.

The shipped ``recording_mixed`` saw PTB-XL's II and V1 only (III and V5 were left out for the
time their beat detection took), so lead III is outside its trained set and the product warns
when it is the analysed lead. This study trains the shipped recipe (``mixed_pipeline.build``:
three seeds of ``mixed_spec_ctx_v2``, averaged, calibrated) on the four leads the PTB-XL folder
holds, and scores it beside the shipped ensemble on the SAME validation beats: the four MIT-BIH
validation records (MLII, V1/V5) and PTB-XL fold 9 on II, III, V1 and V5. Nothing here reads
DS2, PTB-XL fold 10 or LUDB. Figures: ``benchmarks/results/ptbxl_leads_study.json``.

RULE (written before any figure of this study existed):

Candidate: the shipped plan (``mixed_pipeline.FULL``) with ``ptbxl_leads`` II, III, V1, V5 and
the per-source cap doubled to 16,000 beats per class (so each lead keeps the share of the pool
it had with two leads), three seeds averaged. Against the shipped ensemble, on the validation
beats above, macro-F1 over the six classes, paired bootstrap over validation records (a PTB-XL
record's leads are drawn together; 1,000 resamples, 95%):

1. new leads: on the PTB-XL fold-9 beats of leads III and V5 pooled, candidate minus shipped
   >= +0.02, with the interval's lower end above 0;
2. old leads: on the beats of the leads both models saw (MIT-BIH MLII and V1/V5, PTB-XL II and
   V1) pooled, candidate minus shipped >= -0.01 (the point estimate).

Both met: the four-lead model is the better one and should replace the shipped model once its
test figures are run as for any shipped model (III then joins the trained leads). Otherwise the
shipped model stays. The test sets are not looked at before that decision.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.classes import class_codes  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.models.bundle import ModelBundle, file_sha256, load_bundle  # noqa: E402
from ecg.training.metrics import (  # noqa: E402
    bootstrap_difference,
    classification_metrics,
    per_record_confusions,
)
from ecg.training.mixed import LEAD_SEPARATOR  # noqa: E402
from ecg.training.mixed_pipeline import (  # noqa: E402
    CANDIDATE,
    SHIPPED_PLAN,
    build,
    mixed_split,
    mixed_table,
    seeded_name,
    validation_probabilities,
)

# the candidate; mixed_pipeline.SHIPPED_PLAN since the rule was met
PLAN = SHIPPED_PLAN
NAME = "recording_mixed_4leads"
OUT = ROOT / "build" / "leads_study"
SHIPPED = ROOT / "models" / "recording_mixed.keras"
# the two-lead ensemble shipped before this study (version 1.0), for --test's comparison; on a
# fresh clone: git show f8fbc06:models/recording_mixed.keras (and .json) into these files
SHIPPED_BEFORE = OUT / "recording_mixed_two_lead_before.keras"
TWO_LEAD_VERSION = "1.0"


def _version(path: Path) -> str:
    return str(json.loads(path.with_suffix(".json").read_text()).get("version"))


RESULT = ROOT / "benchmarks" / "results" / "ptbxl_leads_study.json"
TEST_RESULT = RESULT.with_name("ptbxl_leads_study_test.json")
NEW_LEADS = ("ptbxl@iii", "ptbxl@v5")
OLD_LEADS = ("mitdb@mlii", "mitdb@v1v5", "ptbxl@ii", "ptbxl@v1")
NEW_LEADS_MIN_GAIN = 0.02
OLD_LEADS_MAX_LOSS = 0.01


def _group_figures(probs: np.ndarray, labels: np.ndarray, records: np.ndarray, classes) -> dict:
    m = classification_metrics(labels, probs, classes, records)
    keep = ("macro_f1", "accuracy", "per_class", "bootstrap")
    return {k: m[k] for k in keep if k in m}


def score(plan_tables, bundles: dict[str, ModelBundle]) -> dict:
    """Per model: six-class figures per source@lead, on the old and the new leads pooled; and
    the rule's paired differences."""
    table, split, sources, is_val = plan_tables
    labels = table.labels("six")[split.val]
    tagged = np.char.partition(table.records[split.val], LEAD_SEPARATOR)
    records, leads = tagged[:, 0], tagged[:, 2]
    tags = np.char.add(np.char.add(sources[split.val], "@"), leads)
    groups = {g: tags == g for g in sorted(set(tags))}
    groups["old leads"] = np.isin(tags, OLD_LEADS)
    groups["new leads"] = np.isin(tags, NEW_LEADS)
    groups["all"] = np.ones(len(tags), bool)
    out: dict = {"beats": {g: int(k.sum()) for g, k in groups.items()}, "models": {}}
    confusions: dict[str, dict] = {}
    for name, bundle in bundles.items():
        probs = validation_probabilities(bundle, table, split, is_val)
        pred = probs.argmax(axis=1)
        figures = {}
        for g, keep in groups.items():
            if keep.any():
                figures[g] = _group_figures(
                    probs[keep], labels[keep], records[keep], bundle.classes
                )
        out["models"][name] = figures
        confusions[name] = {
            g: per_record_confusions(labels[keep], pred[keep], records[keep], 6)
            for g, keep in groups.items()
            if g in ("old leads", "new leads", "all")
        }
    cand, ship = confusions["candidate"], confusions["shipped"]
    out["paired"] = {
        g: bootstrap_difference(cand[g], ship[g], "macro_f1") for g in ("new leads", "old leads")
    }
    new, old = out["paired"]["new leads"], out["paired"]["old leads"]
    met_new = new["difference"] >= NEW_LEADS_MIN_GAIN and new["interval"][0] > 0
    met_old = old["difference"] >= -OLD_LEADS_MAX_LOSS
    out["rule"] = {
        "new_leads_gain": round(new["difference"], 4),
        "new_leads_interval": [round(v, 4) for v in new["interval"]],
        "new_leads_met": bool(met_new),
        "old_leads_difference": round(old["difference"], 4),
        "old_leads_met": bool(met_old),
        "candidate_is_better": bool(met_new and met_old),
    }
    return out


def test_main() -> int:
    """Both models on the test sets (after the decision; reported only)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ptbxl_mixed_eval as ev

    from ecg.io.ludb import default_ludb_dir
    from ecg.training.mixed_eval import summarise_seeds

    started = time.perf_counter()
    # fold 10 on every trained PTB-XL lead
    ds2, tests, ludb, groups = ev.test_sets(
        default_ptbxl_dir(), default_ludb_dir(), leads=PLAN.ptbxl_leads
    )
    result: dict = {
        "about": "test sets of benchmarks/ptbxl_mixed_eval.py (DS2 MLII beat table, PTB-XL fold "
        "10 every labelled record per lead, LUDB lead II at the cardiologists' QRS peaks); the "
        "network alone (no lead fusion, no calibration states): reported after the validation "
        "decision in ptbxl_leads_study.json, never chosen on",
        "targets": ev.TARGETS,
        "models": {},
    }
    members = [OUT / "members" / f"{seeded_name(CANDIDATE, seed)}.keras" for seed in PLAN.seeds]
    candidate = OUT / f"{NAME}.keras"
    shipped_before = SHIPPED_BEFORE if SHIPPED_BEFORE.is_file() else SHIPPED
    if _version(shipped_before) != TWO_LEAD_VERSION:
        print(f"no two-lead ensemble to compare with: put it at {SHIPPED_BEFORE}", file=sys.stderr)
        return 1
    runs = [("candidate", candidate), ("shipped", shipped_before)]
    runs += [(f"candidate member {p.stem}", p) for p in members]
    for name, path in runs:
        bundle = load_bundle(path)
        print(f"testing {name}", flush=True)
        figures = ev.test_figures(bundle, ds2, tests, ludb, groups)
        result["models"][name] = {"headline": ev.test_headline(figures), "figures": figures}
    heads = [m["headline"] for n, m in result["models"].items() if n.startswith("candidate member")]
    result["candidate_member_summary"] = summarise_seeds(heads) if heads else None
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["created_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    TEST_RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    for name, m in result["models"].items():
        print(name, json.dumps(m["headline"], indent=1, default=float))
    return 0


def external_main() -> int:
    """``models/recording_mixed.external.json`` (what models/REPORT.md tables beside DS2) from
    ``--test``'s figures of the shipped four-lead ensemble and its members."""
    test = json.loads(TEST_RESULT.read_text())
    ensemble = test["models"]["candidate"]
    if file_sha256(SHIPPED) != file_sha256(OUT / f"{NAME}.keras"):
        print(f"{SHIPPED} is not the study's model: nothing written", file=sys.stderr)
        return 1
    figures = {
        "source": TEST_RESULT.relative_to(ROOT).as_posix(),
        "about": "benchmarks/ptbxl_leads_study.py --test: the shipped four-lead ensemble and its "
        "three members, the network alone on reference beats; PTB-XL record F1: a record's "
        "class is the class most of its beats are called; LUDB: lead II beats at the "
        "cardiologists' QRS peaks",
        "model_sha256": file_sha256(SHIPPED),
        "ensemble": ensemble["headline"],
        "seed_summary": test["candidate_member_summary"],
    }
    out = SHIPPED.with_suffix(".external.json")
    out.write_text(json.dumps(figures, indent=1, sort_keys=True, default=float) + "\n")
    print(f"wrote {out}")
    return 0


def ship_main() -> int:
    """Copy the four-lead ensemble to ``models/recording_mixed.{keras,json}`` (refused unless the
    study's rule was met), its metadata naming the study as its selection. Then, as for any
    shipped model: ``lead_fusion_study.py --write-metadata``, ``manage.py export_lite_models``,
    ``quantised_serving.py validate`` and ``manage.py evaluate_model``."""
    decision = json.loads(RESULT.read_text())
    if not decision["rule"]["candidate_is_better"]:
        print("the study's rule was not met: models/ left untouched", file=sys.stderr)
        return 1
    meta = json.loads((OUT / f"{NAME}.json").read_text())
    meta["name"] = SHIPPED.stem
    # a new build under the shipped name: a new version, so every recording, image result and
    # benchmark file says which of the two read it (the two-lead ensemble was 1.0)
    meta["version"] = "2.0"
    meta["selection"] = {
        "rule": "ptbxl_leads_study.py's rule against the two-lead ensemble shipped before "
        "(benchmarks/results/ptbxl_leads_study.json)",
        "validation": decision["rule"],
    }
    if not SHIPPED_BEFORE.is_file() and _version(SHIPPED) == TWO_LEAD_VERSION:
        shutil.copyfile(SHIPPED, SHIPPED_BEFORE)
        shutil.copyfile(SHIPPED.with_suffix(".json"), SHIPPED_BEFORE.with_suffix(".json"))
    shutil.copyfile(OUT / f"{NAME}.keras", SHIPPED)
    SHIPPED.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"shipped to {SHIPPED}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--score", action="store_true", help="score the trained model only")
    parser.add_argument("--test", action="store_true", help="the test sets (after the decision)")
    parser.add_argument("--ship", action="store_true", help="copy the model to models/")
    parser.add_argument(
        "--external", action="store_true", help="write models/recording_mixed.external.json"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ptbxl-dir", default=None)
    args = parser.parse_args(argv)
    if args.test:
        return test_main()
    if args.ship:
        return ship_main()
    if args.external:
        return external_main()
    mitdb = Path(args.data_dir) if args.data_dir else default_data_dir()
    ptbxl = Path(args.ptbxl_dir) if args.ptbxl_dir else default_ptbxl_dir()
    if mitdb is None or ptbxl is None:
        raise SystemExit("MIT-BIH or PTB-XL not found: pass --data-dir / --ptbxl-dir")
    started = time.perf_counter()
    run = None
    if not args.score:
        run = build(mitdb, ptbxl, OUT, PLAN, name=NAME)
        (OUT / "run_summary.json").write_text(json.dumps(run, indent=1, default=str) + "\n")
    elif (OUT / "run.json").is_file():
        run = json.loads((OUT / "run.json").read_text())
    table, sources, is_val = mixed_table(mitdb, ptbxl, PLAN)
    split, counts = mixed_split(table, sources, is_val, PLAN)
    bundles = {"candidate": load_bundle(OUT / f"{NAME}.keras"), "shipped": load_bundle(SHIPPED)}
    result = {
        "question": "issue 17 point 3: train on PTB-XL leads II, III, V1, V5 (shipped: II, V1)?",
        "rule_written_before": __doc__.split("RULE (")[1]
        .split("\n\n", 1)[1]
        .rsplit('"""', 1)[0]
        .strip(),
        "plan": asdict(PLAN),
        "split": split.description,
        "beat_counts": counts,
        "classes": class_codes("six"),
        "candidate_training": None
        if run is None
        else {
            "validation_macro_f1": run.get("validation_macro_f1"),
            "member_validation_macro_f1": run.get("member_validation_macro_f1"),
            "seconds": run.get("seconds"),
            "calibration": {
                k: run["calibration"].get(k) for k in ("rule", "temperature", "uncertain_below")
            },
        },
        **score((table, split, sources, is_val), bundles),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["rule"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
