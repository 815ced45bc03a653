"""The shipped recording model, the mixed-data candidate and the baseline on every test set
(issue 17, points 3, 4, 6, 7), and on the mixed validation set the choice is made on.

Long on purpose: every test set is scored by the same code in one run, so the figures compare.

    python benchmarks/ptbxl_mixed_eval.py   # after benchmarks/ptbxl_mixed_train.py
    python benchmarks/ptbxl_mixed_eval.py --seeds 0 1 2   # after training seeds 1 and 2

Writes ``benchmarks/results/mixed_training.json`` and ``mixed_training.md``:

- validation (MIT-BIH DS1 records 106, 124, 209, 223 + PTB-XL fold 9, leads as trained):
  six-class macro-F1 and per-class figures per source -- the only figures a choice reads;
- MIT-BIH DS2 (MLII): six-class Se / +P / F1, macro-F1, AAMI VEB / SVEB (intervals over
  records);
- PTB-XL fold 10 (every labelled record, leads II and V1 each): beat-level per class
  (intervals over patients) and record-level CLBBB / CRBBB / NORM F1, a record's class being
  the class most of its beats are called (intervals over patients);
- LUDB (all 200 records, lead II, beats at the cardiologists' QRS peaks): the share of beats
  called L, R, V, A per header-diagnosis group (intervals over records).

With ``--seeds``, writes ``mixed_training_seeds.{json,md}`` instead: for the candidate and the
ablation, each seed's figures, their mean and spread over the seeds (``mixed_eval.seed_summary``)
and those of the seeds' probability-averaged ensemble (``mixed_eval.AveragedBundle``); paired
validation differences of the seed means (``metrics.seed_mean_difference``): candidate minus
ablation (what band-limiting changes) and candidate minus the shipped model. Validation first
(written as soon as it is done), then the test sets unless ``--validation-only``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ptbxl_label_report import ludb_statements  # noqa: E402
from ptbxl_mixed_train import (  # noqa: E402
    mixed_split,
    mixed_table,
    seeded_name,
    validation_by_source,
)

from ecg.classes import DS2_RECORDS  # noqa: E402
from ecg.io.ludb import default_ludb_dir  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.models.bundle import load_bundle  # noqa: E402
from ecg.training.dataset import inter_patient_split, load_beat_table  # noqa: E402
from ecg.training.evaluation import bundle_probabilities, evaluate_on_split  # noqa: E402
from ecg.training.metrics import (  # noqa: E402
    bootstrap_difference,
    classification_metrics,
    seed_mean_difference,
)
from ecg.training.mixed import as_mixed, ptbxl_lead_table  # noqa: E402
from ecg.training.mixed_eval import (  # noqa: E402
    AveragedBundle,
    call_shares,
    f1_with_intervals,
    ludb_beat_table,
    majority_vote,
    summarise_seeds,
)

RESULTS = ROOT / "benchmarks" / "results"
SHIPPED = "shipped recording_spec_ctx"
CANDIDATE = "candidate mixed_spec_ctx_v2"
ABLATION = "ablation mixed_spec_ctx_v2_nobl"
MODELS = {
    "shipped recording_spec_ctx": ROOT / "models" / "recording_spec_ctx.keras",
    "candidate mixed_spec_ctx_v2": ROOT / "build/mixed/models/mixed_spec_ctx_v2.keras",
    "ablation mixed_spec_ctx_v2_nobl": ROOT / "build/mixed/models/mixed_spec_ctx_v2_nobl.keras",
    "baseline mixed_original_cnn": ROOT / "build/mixed/models/mixed_original_cnn.keras",
}
TARGETS = {
    "ds2_macro_f1": 0.75,
    "ds2_L_R_recall": 0.80,
    "VEB": {"Se": 0.93, "+P": 0.90},
    "SVEB": {"Se": 0.75, "+P": 0.50},
    "ptbxl_record_f1": 0.90,
    "ludb_sinus_no_bbb": {"L+R": 0.02, "V": 0.01},
}
# Fold 10 on II (the product's default lead) and on V1 (where the blocks show most); both are
# reported, neither is chosen on fold 10.
FOLD10_LEADS = ("II", "V1")
LEAD_TAGS = ("mitdb@mlii", "mitdb@v1v5", "ptbxl@ii", "ptbxl@v1")
RECORD_CLASSES = {"L": "CLBBB", "R": "CRBBB", "N": "NORM"}


def _drop_per_record(m: dict) -> dict:
    m.pop("per_record_confusion", None)
    return m


def rr_for(bundle, table):
    if "rr" not in bundle.metadata["inputs"]:
        return None
    w = bundle.metadata["window"]
    return table.rhythm_inputs(w["pre_s"], w["post_s"], bundle.rhythm_features)


def ds2_figures(bundle, table) -> dict:
    split = inter_patient_split(table.records, table.labels("six"))
    result = evaluate_on_split(bundle, table, split)
    _drop_per_record(result["six_class"])
    _drop_per_record(result["aami"])
    return result


def ptbxl_figures(bundle, beats) -> dict:
    table = as_mixed(beats.table)
    idx = np.arange(len(table))
    probs = bundle_probabilities(bundle, table, idx, rr_for(bundle, table))
    labels = table.labels("six")
    patients = beats.patients.astype(str)
    beat_level = _drop_per_record(classification_metrics(labels, probs, bundle.classes, patients))
    names, voted = majority_vote(probs.argmax(axis=1), table.records, len(bundle.classes))
    first = {r: i for i, r in reversed(list(enumerate(table.records)))}
    true = np.array([labels[first[r]] for r in names])
    record_patients = np.array([patients[first[r]] for r in names])
    record_level = f1_with_intervals(
        true, voted, record_patients, bundle.classes, list(RECORD_CLASSES)
    )
    called = {c: int(np.sum(voted == i)) for i, c in enumerate(bundle.classes)}
    return {
        "beat_level": beat_level,
        "record_level": record_level,
        "records_called": called,
    }


def ludb_groups(diagnoses: dict[str, list[str]]) -> dict[str, list[str]]:
    """Record names (``ludb<n>``) per header-diagnosis group; groups may overlap."""
    groups: dict[str, list[str]] = {
        "sinus, no BBB": [],
        "sinus, no BBB, no extrasystole": [],
        "complete LBBB": [],
        "complete RBBB": [],
        "incomplete BBB": [],
        "atrial fibrillation / flutter": [],
        "paced": [],
        "all": [],
    }
    for name, lines in diagnoses.items():
        codes = ludb_statements(lines)
        text = " | ".join(lines).lower()
        key = f"ludb{name}"
        groups["all"].append(key)
        sinus = "rhythm: sinus" in text
        bbb = bool(codes & {"CLBBB", "CRBBB", "ILBBB", "IRBBB"})
        if sinus and not bbb and "PACE" not in codes:
            groups["sinus, no BBB"].append(key)
            if not codes & {"PVC", "PAC"}:
                groups["sinus, no BBB, no extrasystole"].append(key)
        if "CLBBB" in codes:
            groups["complete LBBB"].append(key)
        if "CRBBB" in codes:
            groups["complete RBBB"].append(key)
        if codes & {"ILBBB", "IRBBB"}:
            groups["incomplete BBB"].append(key)
        if codes & {"AFIB", "AFLT"}:
            groups["atrial fibrillation / flutter"].append(key)
        if "PACE" in codes:
            groups["paced"].append(key)
    return groups


def test_sets(ptbxl_dir, ludb_dir, leads: tuple[str, ...] = FOLD10_LEADS) -> tuple:
    """The test sets every model is scored on: MIT-BIH DS2 (MLII beat table), PTB-XL fold 10
    on each of ``leads``, LUDB lead II with its diagnosis groups."""
    mlii = load_beat_table(ROOT / "build" / "beats_mlii.npz")
    ds2 = mlii.subset(np.flatnonzero(np.isin(mlii.records, list(DS2_RECORDS))))
    tests = {
        lead: ptbxl_lead_table(ptbxl_dir, "test", lead, n_norm=None, workers=2) for lead in leads
    }
    ludb, diagnoses = ludb_beat_table(ludb_dir, lead="ii")
    return ds2, tests, as_mixed(ludb), ludb_groups(diagnoses)


def ludb_figures(bundle, table, groups) -> dict:
    idx = np.arange(len(table))
    pred = bundle_probabilities(bundle, table, idx, rr_for(bundle, table)).argmax(axis=1)
    out = {}
    for group, names in groups.items():
        keep = np.isin(table.records, names)
        if keep.any():
            out[group] = call_shares(pred[keep], table.records[keep], bundle.classes)
    return out


def paired_validation(models: dict) -> dict:
    """Validation macro-F1 of each model minus the shipped model's on the same resampled
    validation records (paired bootstrap, ``metrics.bootstrap_difference``)."""
    shipped = models.get(SHIPPED, {}).get("validation", {}).get("all", {})
    out = {}
    for name, m in models.items():
        ours = m["validation"]["all"].get("per_record_confusion")
        if name == SHIPPED or ours is None or "per_record_confusion" not in shipped:
            continue
        out[name] = bootstrap_difference(ours, shipped["per_record_confusion"], "macro_f1")
    return out


def anonymised(per_record: dict) -> dict:
    """Per-record confusions keyed by position in name order, not by record: the figures
    need only the same keys for every model, and record names with their labels are data."""
    return {f"record_{i:04d}": per_record[name] for i, name in enumerate(sorted(per_record))}


def band_limit_difference(models: dict) -> dict | None:
    """Validation macro-F1 of the candidate (band-limit augmentation) minus the ablation's
    (none), paired over records: what the augmentation changes, on validation only."""
    a, b = models.get(CANDIDATE), models.get(ABLATION)
    if not a or not b:
        return None
    out = {}
    for src in ("all", "mitdb", "ptbxl"):
        out[src] = {
            "candidate": a["validation"][src]["macro_f1"],
            "ablation": b["validation"][src]["macro_f1"],
        }
    out["paired_all"] = bootstrap_difference(
        a["validation"]["all"]["per_record_confusion"],
        b["validation"]["all"]["per_record_confusion"],
        "macro_f1",
    )
    return out


def _fmt(v, interval=None, pct=False) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    scale, unit = (100, "%") if pct else (1, "")
    text = f"{v * scale:.1f}{unit}" if pct else f"{v:.3f}"
    if interval:
        lo, hi = interval
        text += f" [{lo * scale:.1f}, {hi * scale:.1f}]" if pct else f" [{lo:.2f}, {hi:.2f}]"
    return text


def markdown(result: dict) -> str:
    lines = ["# Mixed training: figures (written by benchmarks/ptbxl_mixed_eval.py)", ""]
    lines += [
        "Intervals: 95% percentile bootstrap over records (MIT-BIH, LUDB) or patients (PTB-XL).",
        "",
        "## Validation (the only figures a choice reads)",
        "",
        "| model | macro-F1 all | MIT-BIH val records | PTB-XL fold 9 | "
        "L Se | R Se | V Se | A Se |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        v = m["validation"]
        pc = v["all"]["per_class"]
        bs = v["all"]["bootstrap"]["per_class"]
        lines.append(
            f"| {name} | {_fmt(v['all']['macro_f1'], v['all']['bootstrap']['macro_f1'])} | "
            f"{_fmt(v['mitdb']['macro_f1'], v['mitdb']['bootstrap']['macro_f1'])} | "
            f"{_fmt(v['ptbxl']['macro_f1'], v['ptbxl']['bootstrap']['macro_f1'])} | "
            + " | ".join(
                _fmt(pc[c]["sensitivity"], bs[c]["sensitivity"]) for c in ("L", "R", "V", "A")
            )
            + " |"
        )
    if result.get("validation_vs_shipped"):
        lines += ["", "Validation macro-F1 minus the shipped model's (paired over records):", ""]
        for name, d in result["validation_vs_shipped"].items():
            lo, hi = d["interval"]
            lines.append(
                f"- {name}: {d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}], ahead in "
                f"{d['share_ahead']:.0%} of resampled record sets"
            )
    bl = result.get("validation_band_limit")
    if bl:
        d = bl["paired_all"]
        lines += [
            "",
            "Band-limit augmentation (candidate minus ablation), validation macro-F1: all "
            f"{bl['all']['candidate'] - bl['all']['ablation']:+.3f} "
            f"(paired interval [{d['interval'][0]:+.3f}, {d['interval'][1]:+.3f}], ahead in "
            f"{d['share_ahead']:.0%}), MIT-BIH "
            f"{bl['mitdb']['candidate'] - bl['mitdb']['ablation']:+.3f}, PTB-XL "
            f"{bl['ptbxl']['candidate'] - bl['ptbxl']['ablation']:+.3f}.",
        ]
    lines += [
        "",
        "Validation macro-F1 per source and lead (one model, several leads):",
        "",
        "| model | " + " | ".join(LEAD_TAGS) + " |",
        "|---|" + "---|" * len(LEAD_TAGS),
    ]
    for name, m in result["models"].items():
        v = m["validation"]
        lines.append(
            f"| {name} | "
            + " | ".join(
                _fmt(v[t]["macro_f1"], v[t]["bootstrap"]["macro_f1"]) if t in v else "-"
                for t in LEAD_TAGS
            )
            + " |"
        )
    lines += [
        "",
        "## MIT-BIH DS2 (MLII), six classes",
        "",
        "| model | macro-F1 | " + " | ".join(f"{c} Se / +P / F1" for c in "LNAVR!") + " |",
        "|---|---|" + "---|" * 6,
    ]
    for name, m in result["models"].items():
        s = m["ds2"]["six_class"]
        cells = []
        for c in "LNAVR!":
            pc = s["per_class"][c]
            cells.append(f"{_fmt(pc['sensitivity'])} / {_fmt(pc['precision'])} / {_fmt(pc['f1'])}")
        lines.append(
            f"| {name} | {_fmt(s['macro_f1'], s['bootstrap']['macro_f1'])} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "L and R recall with intervals, AAMI (every annotated DS2 beat):",
        "",
        "| model | L Se | R Se | VEB Se | VEB +P | SVEB Se | SVEB +P |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        s, a = m["ds2"]["six_class"], m["ds2"]["aami"]
        bs, ab = s["bootstrap"]["per_class"], a["bootstrap"]["per_class"]
        lines.append(
            f"| {name} | {_fmt(s['per_class']['L']['sensitivity'], bs['L']['sensitivity'])} | "
            f"{_fmt(s['per_class']['R']['sensitivity'], bs['R']['sensitivity'])} | "
            f"{_fmt(a['summary']['VEB']['Se'], ab['VEB']['sensitivity'])} | "
            f"{_fmt(a['summary']['VEB']['+P'], ab['VEB']['precision'])} | "
            f"{_fmt(a['summary']['SVEB']['Se'], ab['SVEB']['sensitivity'])} | "
            f"{_fmt(a['summary']['SVEB']['+P'], ab['SVEB']['precision'])} |"
        )
    lines += [
        "",
        "## PTB-XL fold 10 (every labelled record; a record's class: most of its beats)",
        "",
        "| model | lead | beat macro-F1 | beat L / N / R F1 | record CLBBB F1 | "
        "record CRBBB F1 | record NORM F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        for lead, p in m["ptbxl_fold10"].items():
            b, r = p["beat_level"], p["record_level"]
            beat_f1 = " / ".join(_fmt(b["per_class"][c]["f1"]) for c in "LNR")
            lines.append(
                f"| {name} | {lead} | {_fmt(b['macro_f1'], b['bootstrap']['macro_f1'])} | "
                f"{beat_f1} | "
                + " | ".join(_fmt(r[c]["F1"], r[c]["F1_interval"]) for c in "LRN")
                + " |"
            )
    lines += [
        "",
        "## LUDB (lead II, beats at annotated QRS peaks): share of beats called L, R, V, A",
        "",
        "| model | group | records | beats | L | R | V | A |",
        "|---|---|---:|---:|---|---|---|---|",
    ]
    for name, m in result["models"].items():
        for group, g in m["ludb"].items():
            cells = " | ".join(_fmt(g["share"][c], g["interval"][c], pct=True) for c in "LRVA")
            lines.append(f"| {name} | {group} | {g['records']} | {g['beats']} | {cells} |")
    lines.append("")
    return "\n".join(lines)


# --seeds: the two configurations whose seeds are compared (the baseline has one seed).
SEED_CONFIGS = {"candidate": "mixed_spec_ctx_v2", "ablation": "mixed_spec_ctx_v2_nobl"}


def seed_model_path(name: str, seed: int) -> Path:
    return ROOT / "build" / "mixed" / "models" / f"{seeded_name(name, seed)}.keras"


def validation_headline(v: dict) -> dict[str, float | None]:
    """The validation figures summarised over seeds: macro-F1 pooled, per source and per
    source and lead; L, R, V, A sensitivity pooled."""
    out = {f"macro_f1 {k}": v[k]["macro_f1"] for k in ("all", "mitdb", "ptbxl", *LEAD_TAGS)}
    for c in "LRVA":
        out[f"{c} Se"] = v["all"]["per_class"][c]["sensitivity"]
    return out


def test_figures(bundle, ds2, tests, ludb, groups) -> dict:
    """One model on every test set of ``test_sets``: DS2, PTB-XL fold 10 per lead, LUDB."""
    return {
        "ds2": ds2_figures(bundle, ds2),
        "ptbxl_fold10": {lead: ptbxl_figures(bundle, t) for lead, t in tests.items()},
        "ludb": ludb_figures(bundle, ludb, groups),
    }


def test_headline(m: dict) -> dict[str, float | None]:
    """The test figures of the issue's targets table, one number each."""
    six, aami = m["ds2"]["six_class"], m["ds2"]["aami"]["summary"]
    out = {
        "DS2 macro-F1": six["macro_f1"],
        "DS2 L Se": six["per_class"]["L"]["sensitivity"],
        "DS2 R Se": six["per_class"]["R"]["sensitivity"],
        "DS2 VEB Se": aami["VEB"]["Se"],
        "DS2 VEB +P": aami["VEB"]["+P"],
        "DS2 SVEB Se": aami["SVEB"]["Se"],
        "DS2 SVEB +P": aami["SVEB"]["+P"],
    }
    for lead, p in m["ptbxl_fold10"].items():
        out[f"fold 10 {lead} beat macro-F1"] = p["beat_level"]["macro_f1"]
        for c, statement in RECORD_CLASSES.items():
            out[f"fold 10 {lead} record {statement} F1"] = p["record_level"][c]["F1"]
    sinus = m["ludb"]["sinus, no BBB"]["share"]
    out["LUDB sinus no BBB L+R share"] = sinus["L"] + sinus["R"]
    out["LUDB sinus no BBB V share"] = sinus["V"]
    return out


def _validation_core(v: dict) -> dict:
    """A validation result without its per-record confusions (data, and only the paired
    comparisons read them)."""
    return {
        k: {kk: vv for kk, vv in m.items() if kk != "per_record_confusion"} for k, m in v.items()
    }


def seeds_markdown(result: dict) -> str:
    seeds = result["seeds"]
    lines = [
        "# Mixed training over seeds (written by benchmarks/ptbxl_mixed_eval.py --seeds)",
        "",
        f"Seeds {', '.join(map(str, seeds))} of each configuration, same table and split. "
        "Mean, sample SD and range over seeds; 'ensemble': the seeds' probabilities averaged. "
        "Paired intervals: 95% bootstrap over validation records, the same draws for every "
        "seed and model.",
        "",
        "## Validation (the only figures a choice reads)",
        "",
        "| model | figure | mean | SD | min | max | per seed | ensemble |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shipped = result.get("shipped", {}).get("validation_headline", {})
    for key, cfg in result["configs"].items():
        ens = cfg.get("ensemble", {}).get("validation_headline", {})
        for fig, s in cfg["validation_summary"].items():
            per_seed = " / ".join(_fmt(v) for v in s["values"])
            lines.append(
                f"| {key} | {fig} | {_fmt(s['mean'])} | {_fmt(s['sd'])} | {_fmt(s['min'])} | "
                f"{_fmt(s['max'])} | {per_seed} | {_fmt(ens.get(fig))} |"
            )
    for fig, v in shipped.items():
        lines.append(f"| shipped | {fig} | {_fmt(v)} | - | - | - | one model | - |")
    lines += ["", "Paired validation macro-F1 differences (pooled validation records):", ""]
    for name, d in result.get("validation_differences", {}).items():
        lo, hi = d["interval"]
        lines.append(
            f"- {name}: {d['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}], ahead in "
            f"{d['share_ahead']:.0%} of resampled record sets"
        )
    if any("test_summary" in c for c in result["configs"].values()):
        lines += [
            "",
            "## Test sets (nothing is chosen on these)",
            "",
            "| model | figure | seed mean | SD | min | max | ensemble |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, cfg in result["configs"].items():
            ens = cfg.get("ensemble", {}).get("test_headline", {})
            for fig, s in cfg.get("test_summary", {}).items():
                lines.append(
                    f"| {key} | {fig} | {_fmt(s['mean'])} | {_fmt(s['sd'])} | "
                    f"{_fmt(s['min'])} | {_fmt(s['max'])} | {_fmt(ens.get(fig))} |"
                )
    lines.append("")
    return "\n".join(lines)


def seeds_main(seeds: list[int], validation_only: bool) -> int:
    """Each seed of the candidate and the ablation, their mean and spread, their ensemble;
    validation first, then (unless ``validation_only``) the test sets."""
    started = time.perf_counter()
    ptbxl_dir, mitdb_dir, ludb_dir = default_ptbxl_dir(), default_data_dir(), default_ludb_dir()
    mixed, sources, is_val = mixed_table(Path(mitdb_dir), ptbxl_dir)
    split, _ = mixed_split(mixed, sources, is_val)
    paths = {k: [seed_model_path(n, s) for s in seeds] for k, n in SEED_CONFIGS.items()}
    missing = [str(p.relative_to(ROOT)) for ps in paths.values() for p in ps if not p.is_file()]
    if missing:
        print(f"missing models (train them first): {', '.join(missing)}", file=sys.stderr)
        return 2
    out_json, out_md = RESULTS / "mixed_training_seeds.json", RESULTS / "mixed_training_seeds.md"
    result: dict = {
        "description": "Candidate and ablation over seeds: mean, spread and ensemble "
        "(benchmarks/ptbxl_mixed_eval.py --seeds)",
        "seeds": seeds,
        "mixed_split": split.description,
        "configs": {},
    }

    def write() -> None:
        result["seconds"] = round(time.perf_counter() - started, 1)
        out_json.write_text(json.dumps(result, indent=1, default=float) + "\n")
        out_md.write_text(seeds_markdown(result))

    def validate(model) -> dict:
        return validation_by_source(model, mixed, split, sources, is_val)

    shipped_val = validate(MODELS[SHIPPED])
    result["shipped"] = {
        "path": str(MODELS[SHIPPED].relative_to(ROOT)),
        "validation_headline": validation_headline(shipped_val),
    }
    bundles, per_record = {}, {}
    for key, name in SEED_CONFIGS.items():
        print(f"validating {name}, seeds {seeds}", flush=True)
        bundles[key] = [load_bundle(p) for p in paths[key]]
        vals = [validate(b) for b in bundles[key]]
        ensemble = AveragedBundle(bundles[key], f"{name}_ensemble{len(seeds)}")
        ens_val = validate(ensemble)
        per_record[key] = [v["all"]["per_record_confusion"] for v in vals]
        per_record[f"{key} ensemble"] = ens_val["all"]["per_record_confusion"]
        result["configs"][key] = {
            "name": name,
            "paths": [str(p.relative_to(ROOT)) for p in paths[key]],
            "best_epochs": [b.metadata.get("training", {}).get("best_epoch") for b in bundles[key]],
            "validation_summary": summarise_seeds([validation_headline(v) for v in vals]),
            "validation": [_validation_core(v) for v in vals],
            "ensemble": {
                "validation_headline": validation_headline(ens_val),
                "validation": _validation_core(ens_val),
            },
        }
    shipped_pr = shipped_val["all"]["per_record_confusion"]
    result["validation_differences"] = {
        "candidate seed mean - ablation seed mean (band-limiting)": seed_mean_difference(
            per_record["candidate"], per_record["ablation"]
        ),
        "candidate seed mean - shipped": seed_mean_difference(
            per_record["candidate"], [shipped_pr]
        ),
        "ablation seed mean - shipped": seed_mean_difference(per_record["ablation"], [shipped_pr]),
        "candidate ensemble - ablation ensemble": bootstrap_difference(
            per_record["candidate ensemble"], per_record["ablation ensemble"]
        ),
        "candidate ensemble - shipped": bootstrap_difference(
            per_record["candidate ensemble"], shipped_pr
        ),
        "candidate ensemble - candidate seed mean": seed_mean_difference(
            [per_record["candidate ensemble"]], per_record["candidate"]
        ),
    }
    write()
    print(seeds_markdown(result), flush=True)
    if validation_only:
        return 0
    test_data = test_sets(ptbxl_dir, ludb_dir)

    for key, members in bundles.items():
        cfg = result["configs"][key]
        ensemble = AveragedBundle(members, f"{cfg['name']}_ensemble{len(seeds)}")
        print(f"testing {cfg['name']} ensemble", flush=True)
        cfg["ensemble"]["test_headline"] = test_headline(test_figures(ensemble, *test_data))
        write()
        heads = []
        for seed, b in zip(seeds, members, strict=True):
            print(f"testing {cfg['name']} seed {seed}", flush=True)
            heads.append(test_headline(test_figures(b, *test_data)))
            cfg["test_per_seed"] = heads
            cfg["test_summary"] = summarise_seeds(heads)
            write()
    print(seeds_markdown(result), flush=True)
    return 0


def challenger_main(challenger: str, seeds: list[int]) -> int:
    """A challenger configuration's seeds and their ensemble against the shipped ensemble (the
    candidate's seeds averaged), on validation only: ``mixed_training_<challenger>.json``."""
    started = time.perf_counter()
    mixed, sources, is_val = mixed_table(Path(default_data_dir()), default_ptbxl_dir())
    split, _ = mixed_split(mixed, sources, is_val)
    names = {"shipped ensemble": SEED_CONFIGS["candidate"], "challenger": challenger}
    paths = {k: [seed_model_path(n, s) for s in seeds] for k, n in names.items()}
    missing = [str(p.relative_to(ROOT)) for ps in paths.values() for p in ps if not p.is_file()]
    if missing:
        print(f"missing models (train them first): {', '.join(missing)}", file=sys.stderr)
        return 2
    result: dict = {
        "description": f"{challenger} against the shipped ensemble ({names['shipped ensemble']} "
        "seeds averaged) on validation only (benchmarks/ptbxl_mixed_eval.py --challenger)",
        "seeds": seeds,
        "mixed_split": split.description,
        "configs": {},
    }
    per_record = {}
    for key, name in names.items():
        print(f"validating {name}, seeds {seeds}", flush=True)
        members = [load_bundle(p) for p in paths[key]]
        vals = [validation_by_source(b, mixed, split, sources, is_val) for b in members]
        ensemble = AveragedBundle(members, f"{name}_ensemble{len(seeds)}")
        ens_val = validation_by_source(ensemble, mixed, split, sources, is_val)
        per_record[key] = [v["all"]["per_record_confusion"] for v in vals]
        per_record[f"{key} (ensemble)"] = ens_val["all"]["per_record_confusion"]
        result["configs"][key] = {
            "name": name,
            "validation_summary": summarise_seeds([validation_headline(v) for v in vals]),
            "ensemble_validation_headline": validation_headline(ens_val),
        }
    result["validation_differences"] = {
        "challenger ensemble - shipped ensemble": bootstrap_difference(
            per_record["challenger (ensemble)"], per_record["shipped ensemble (ensemble)"]
        ),
        "challenger seed mean - shipped seed mean": seed_mean_difference(
            per_record["challenger"], per_record["shipped ensemble"]
        ),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    out = RESULTS / f"mixed_training_{challenger}.json"
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(result["validation_differences"], indent=1, default=float))
    for key, cfg in result["configs"].items():
        print(key, cfg["name"], "ensemble", cfg["ensemble_validation_headline"]["macro_f1 all"])
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="evaluate only models whose name contains one")
    parser.add_argument("--out", default="mixed_training", help="file stem under results/")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other models' entries of the output file"
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        help="score these seeds of the candidate and the ablation: mixed_training_seeds.*",
    )
    parser.add_argument(
        "--validation-only", action="store_true", help="with --seeds: skip the test sets"
    )
    parser.add_argument(
        "--challenger",
        help="with --seeds: this configuration's seeds against the shipped ensemble, validation "
        "only (mixed_training_<name>.json)",
    )
    args = parser.parse_args(argv)
    if args.challenger:
        return challenger_main(args.challenger, args.seeds or [0, 1, 2])
    if args.seeds:
        return seeds_main(args.seeds, args.validation_only)
    started = time.perf_counter()
    ptbxl_dir, mitdb_dir, ludb_dir = default_ptbxl_dir(), default_data_dir(), default_ludb_dir()
    mixed, sources, is_val = mixed_table(Path(mitdb_dir), ptbxl_dir)
    split, counts = mixed_split(mixed, sources, is_val)
    ds2, tests, ludb, groups = test_sets(ptbxl_dir, ludb_dir)
    result = {
        "description": __doc__.split("\n\n")[0],
        "targets": TARGETS,
        "mixed_split": split.description,
        "mixed_beats": counts,
        "ptbxl_fold10": {
            lead: {
                "records_used": t.records_used,
                "records_failed": t.records_failed,
                "beats": int(len(t.table)),
            }
            for lead, t in tests.items()
        },
        "ludb_groups": {g: len(n) for g, n in groups.items()},
        "models": {},
    }
    out_json = RESULTS / f"{args.out}.json"
    if args.merge and out_json.is_file():
        result["models"] = json.loads(out_json.read_text())["models"]
    for name, path in MODELS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        if not path.is_file():
            print(f"{name}: {path} missing, skipped", flush=True)
            continue
        bundle = load_bundle(path)
        print(f"evaluating {name}", flush=True)
        result["models"][name] = {
            "path": str(path.relative_to(ROOT)),
            "rhythm_features": bundle.metadata.get("rhythm_features"),
            "validation": validation_by_source(path, mixed, split, sources, is_val),
            **test_figures(bundle, ds2, tests, ludb, groups),
        }
    result["validation_vs_shipped"] = paired_validation(result["models"])
    result["validation_band_limit"] = band_limit_difference(result["models"])
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    result["models"] = {n: result["models"][n] for n in MODELS if n in result["models"]}
    for m in result["models"].values():
        m["validation"]["all"]["per_record_confusion"] = anonymised(
            m["validation"]["all"]["per_record_confusion"]
        )
    out_json.write_text(json.dumps(result, indent=1, default=float) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
