"""Issues 17 (point 5) and 18: train the recording model with recording artefacts?

    nice python benchmarks/artefact_training_study.py            # train (~12 min) and score
    nice python benchmarks/artefact_training_study.py --score    # score only (trained before)
    nice python benchmarks/artefact_training_study.py --test     # after the decision: tests

``--test`` (run only after the rule's answer is in the results file, whatever it is) scores both
models, the network alone, on the test sets of ``ptbxl_mixed_eval`` (MIT-BIH DS2 MLII beats,
PTB-XL fold 10 on the four leads, LUDB lead II) and the DS2 records through this study's noise
path (every DS2 reference beat, clean and at 24, 18, 12, 6 and 0 dB) into
``artefact_training_study_test.json``: reported, never chosen on.

Issue 17 asks to "train with realistic baseline wander, muscle and electrode-motion artefacts";
the shipped ``recording_mixed`` learnt from clean beats (gain, a slow sinusoidal drift and the
R-peak jitter are its only augmentation; no noise: ``noise_mv=0`` as every spectrogram model).
Issue 18's noise stress finds its answered beats right 93.4 % of the time at 24 dB and 85.4 %
at 12 dB on DS2 (targets 97 / 90 %). The candidate is the shipped recipe
(``mixed_pipeline.SHIPPED_PLAN``: three seeds, four PTB-XL leads) with half of each epoch's
beats given one artefact of ``ecg.training.artefacts`` (drift, muscle or electrode motion, SNR
6-30 dB drawn per beat, band-passed as the app filters a recording), nothing else changed;
one setting, fixed before any figure. Training here is deterministic (the atrial study's
control retrained the shipped weights exactly), so the shipped model is this candidate's
control.

The validation noise is ``noise_stress``'s generator (the one DS2's noise stress uses), not the
training one: the candidate must cope with noise it was not trained on. Nothing here reads
DS2, PTB-XL fold 10 or LUDB.

RULE (written before any figure of this study existed):

Candidate against the shipped model, both as served (each model's own calibration applied:
class prior, then temperature; the answer is the top class):

1. noise: the six-class accuracy of every reference beat of the four MIT-BIH DS1 validation
   records (106, 124, 209, 223; MLII, the beats cut at the annotated R peaks as
   ``review_benchmark`` does) with ``noise_stress``'s noise mix over the whole record, averaged
   over 24, 18 and 12 dB: candidate minus shipped >= +0.02;
2. nothing lost on clean beats: six-class macro-F1 of the network on every validation beat
   (MIT-BIH DS1 validation records on MLII and V1/V5, PTB-XL fold 9 on II, III, V1, V5; the
   measure every choice of this recipe read), candidate minus shipped >= -0.01;
3. nor on MIT-BIH's patients alone: the same on the MIT-BIH validation beats >= -0.01.

All met: the candidate is the better model and replaces the shipped one once the shipped
model's chain (calibration, LiteRT and int8, test sets, the app's benchmarks) is run for it.
Otherwise the shipped model stays. Reported beside the rule, never part of it: 6 and 0 dB, the
clean records through the same path, and each model's answered share and answered accuracy
under its own "uncertain" threshold.

AFTER THE RULE'S ANSWER (written after it, before any test figure): the rule said yes (noise
+0.040, clean -0.008, MIT-BIH +0.012) and the candidate is **not shipped**. Looking at what
made the pooled gain, per record: it is record 124 alone, an RBBB patient both models mostly
call N (a known miss, docs/mixed-training.md), whose calls the noise pushes across the
boundary, more for the candidate; without 124 the gain is negative, and on each of the three
other records the candidate is lower, clean included (``per_record_review`` in the results,
computed by this script). One patient's borderline calls moving is not robustness to noise.
The rule should have asked what ``prior_shift_ds1`` asks (not lower on most groups); a later
noise rule should. ``DECISION`` records this.

Figures: ``benchmarks/results/artefact_training_study.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.features.beats import beat_annotations, labels_for  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir  # noqa: E402
from ecg.io.records import default_data_dir, load_record  # noqa: E402
from ecg.models.bundle import ModelBundle, load_bundle  # noqa: E402
from ecg.models.calibration import calibrated_probabilities  # noqa: E402
from ecg.training import noise_stress as nst  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402
from ecg.training.metrics import classification_metrics  # noqa: E402
from ecg.training.mixed import record_of  # noqa: E402
from ecg.training.mixed_pipeline import (  # noqa: E402
    SHIPPED_PLAN,
    build,
    mixed_split,
    mixed_table,
    validation_probabilities,
)

NAME = "recording_mixed_artefacts"
OUT = ROOT / "build" / "artefact_study"
SHIPPED = ROOT / "models" / "recording_mixed.keras"
RESULT = ROOT / "benchmarks" / "results" / "artefact_training_study.json"
TEST_RESULT = RESULT.with_name("artefact_training_study_test.json")
PLAN = replace(SHIPPED_PLAN, artefact_share=0.5)
RULE_SNRS = (24, 18, 12)
REPORTED_SNRS = (6, 0)
NOISE_MIN_GAIN = 0.02
MAX_LOSS = 0.01


def noisy_beats(
    bundle: ModelBundle, data_dir: Path, snrs: tuple, records: tuple[str, ...]
) -> dict[str, dict]:
    """Per SNR ("clean" for none): the served probabilities and six-class labels of every
    reference beat of ``records`` (MLII), pooled."""
    out: dict[str, dict] = {}
    calibration = bundle.metadata.get("calibration")
    for name in records:
        record = load_record(data_dir, name, lead="MLII")
        peaks, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
        labels = labels_for(np.asarray(symbols), "six")
        for snr in ("clean", *snrs):
            signal = record.signal
            if snr != "clean":
                # noise_stress.with_noise's seed (record, SNR): the DS2 benchmark's generator
                rng = np.random.default_rng([int(name), int(snr) + 100])
                noise = nst.noise_mix(signal.size, record.fs, rng)
                everywhere = np.ones(signal.size, bool)
                signal = nst.add_noise(
                    signal, record.fs, r_peaks=record.ann_samples, snr_db=snr, noise=noise,
                    mask=everywhere,
                )  # fmt: skip
            kept, windows, rr = bundle.beat_windows(signal, record.fs, peaks)
            probs = calibrated_probabilities(bundle.classify_windows(windows, rr), calibration)
            part = out.setdefault(str(snr), {"probs": [], "labels": [], "records": []})
            part["probs"].append(probs)
            part["labels"].append(labels[kept])
            part["records"].append(np.full(len(kept), name))
    return {k: {key: np.concatenate(parts) for key, parts in v.items()} for k, v in out.items()}


def noise_figures(beats: dict[str, dict], threshold: float | None) -> dict[str, dict]:
    """Accuracy of every labelled beat (pooled and per record); answered share and accuracy
    under ``threshold``."""
    figures = {}
    for snr, part in beats.items():
        scored = part["labels"] >= 0
        probs, labels = part["probs"][scored], part["labels"][scored]
        records = part["records"][scored]
        right = probs.argmax(axis=1) == labels
        answered = probs.max(axis=1) >= (threshold if threshold is not None else 0.0)
        figures[snr] = {
            "beats": int(scored.sum()),
            "accuracy": round(float(right.mean()), 4),
            "answered_share": round(float(answered.mean()), 4),
            "answered_accuracy": round(float(right[answered].mean()), 4)
            if answered.any()
            else None,
            "per_record_accuracy": {
                str(r): round(float(right[records == r].mean()), 4) for r in np.unique(records)
            },
            "per_record_beats": {str(r): int((records == r).sum()) for r in np.unique(records)},
        }
    return figures


def clean_figures(bundle: ModelBundle, table, split, sources, is_val) -> dict[str, float]:
    """Network six-class macro-F1 on the validation beats: all, MIT-BIH, PTB-XL."""
    probs = validation_probabilities(bundle, table, split, is_val)
    labels = table.labels("six")[split.val]
    records = record_of(table.records[split.val])
    src = sources[split.val]
    out = {}
    for group, keep in (("all", np.ones(len(src), bool)), ("mitdb", src == "mitdb"),
                        ("ptbxl", src == "ptbxl")):  # fmt: skip
        m = classification_metrics(labels[keep], probs[keep], bundle.classes, records[keep])
        out[group] = round(float(m["macro_f1"]), 4)
    return out


def decide(noise: dict[str, dict], clean: dict[str, dict]) -> dict:
    def mean_accuracy(model: str) -> float:
        return float(np.mean([noise[model][str(s)]["accuracy"] for s in RULE_SNRS]))

    gain = mean_accuracy("candidate") - mean_accuracy("shipped")
    all_loss = clean["candidate"]["all"] - clean["shipped"]["all"]
    mitdb_loss = clean["candidate"]["mitdb"] - clean["shipped"]["mitdb"]
    rule = {
        "noisy_accuracy_24_18_12": {m: round(mean_accuracy(m), 4) for m in noise},
        "noise_gain": round(gain, 4),
        "noise_met": bool(gain >= NOISE_MIN_GAIN),
        "clean_macro_f1_difference": round(all_loss, 4),
        "clean_met": bool(all_loss >= -MAX_LOSS),
        "mitdb_macro_f1_difference": round(mitdb_loss, 4),
        "mitdb_met": bool(mitdb_loss >= -MAX_LOSS),
    }
    rule["candidate_is_better"] = rule["noise_met"] and rule["clean_met"] and rule["mitdb_met"]
    return rule


def per_record_review(noise: dict[str, dict]) -> dict:
    """Added after the rule's answer (see the docstring): each validation record's accuracy
    averaged over the rule's SNRs, per model, and the rule's pooled gain without each record."""
    records = sorted(noise["shipped"]["clean"]["per_record_accuracy"])

    def mean_on(model: str, record: str) -> float:
        return float(np.mean([noise[model][str(s)]["per_record_accuracy"][record]
                              for s in RULE_SNRS]))  # fmt: skip

    def pooled_without(model: str, left_out: str) -> float:
        per_snr = []
        for s in RULE_SNRS:
            figures = noise[model][str(s)]
            beats = figures["per_record_beats"]
            kept = [r for r in records if r != left_out]
            right = sum(figures["per_record_accuracy"][r] * beats[r] for r in kept)
            per_snr.append(right / sum(beats[r] for r in kept))
        return float(np.mean(per_snr))

    return {
        "accuracy_24_18_12": {
            r: {m: round(mean_on(m, r), 4) for m in ("candidate", "shipped")} for r in records
        },
        "records_where_candidate_is_not_lower": sum(
            mean_on("candidate", r) >= mean_on("shipped", r) for r in records
        ),
        "gain_without_record": {
            r: round(pooled_without("candidate", r) - pooled_without("shipped", r), 4)
            for r in records
        },
    }


# The rule's answer was yes; what was done with it (docstring, "AFTER THE RULE'S ANSWER").
DECISION = {
    "shipped": False,
    "why": "the rule's pooled noise gain is record 124 alone, an RBBB patient both models "
    "mostly call N and whose calls the noise flips; without it the gain is negative, and the "
    "candidate is lower on each of the other three records (per_record_review)",
}

TRAINING_KEYS = ("seconds", "validation_macro_f1", "member_validation_macro_f1", "calibration")


def rule_text() -> str:
    """The rule as the docstring wrote it."""
    after = __doc__.split("RULE (written before any figure of this study existed):")[1]
    return after.split("AFTER THE RULE'S ANSWER")[0].strip()


def test_main() -> int:
    """Both models on the test sets (after the decision; reported only)."""
    if not RESULT.is_file():
        print(f"no decision yet ({RESULT}): run the study first", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ptbxl_mixed_eval as ev

    from ecg.classes import DS2_RECORDS
    from ecg.io.ludb import default_ludb_dir

    started = time.perf_counter()
    ds2, tests, ludb, groups = ev.test_sets(
        default_ptbxl_dir(), default_ludb_dir(), leads=PLAN.ptbxl_leads
    )
    result: dict = {
        "about": "the network alone on the test sets of ptbxl_mixed_eval (no lead fusion, no "
        "calibration states) and, as served (calibration applied), every MIT-BIH DS2 reference "
        "beat with noise_stress's noise over the whole record; run after the validation "
        f"decision in {RESULT.name}, never chosen on",
        "decision": json.loads(RESULT.read_text())["rule"],
        "targets": ev.TARGETS,
        "models": {},
    }
    for name, path in (("candidate", OUT / f"{NAME}.keras"), ("shipped", SHIPPED)):
        bundle = load_bundle(path)
        print(f"testing {name}", flush=True)
        figures = ev.test_figures(bundle, ds2, tests, ludb, groups)
        threshold = (bundle.metadata.get("calibration") or {}).get("uncertain_below")
        beats = noisy_beats(
            bundle, default_data_dir(), RULE_SNRS + REPORTED_SNRS, tuple(DS2_RECORDS)
        )
        result["models"][name] = {
            "headline": ev.test_headline(figures),
            "ds2_noise": noise_figures(beats, threshold),
            "figures": figures,
        }
    result["ds2_per_record_review"] = per_record_review(
        {m: result["models"][m]["ds2_noise"] for m in ("candidate", "shipped")}
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["created_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    TEST_RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    for name, m in result["models"].items():
        print(name, json.dumps({"headline": m["headline"], "ds2_noise": m["ds2_noise"]},
                               indent=1, default=float))  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--score", action="store_true", help="score the trained candidate only")
    parser.add_argument("--test", action="store_true", help="the test sets (after the decision)")
    args = parser.parse_args(argv)
    if args.test:
        return test_main()
    mitdb, ptbxl = default_data_dir(), default_ptbxl_dir()
    if mitdb is None or ptbxl is None:
        raise SystemExit("MIT-BIH or PTB-XL not found")
    started = time.perf_counter()
    if not args.score:
        build(mitdb, ptbxl, OUT, PLAN, name=NAME)
    run = json.loads((OUT / "run.json").read_text())
    bundles = {"candidate": load_bundle(OUT / f"{NAME}.keras"), "shipped": load_bundle(SHIPPED)}
    table, sources, is_val = mixed_table(mitdb, ptbxl, PLAN)
    split, _ = mixed_split(table, sources, is_val, PLAN)
    noise, clean = {}, {}
    for model, bundle in bundles.items():
        print(f"scoring {model}", flush=True)
        clean[model] = clean_figures(bundle, table, split, sources, is_val)
        threshold = (bundle.metadata.get("calibration") or {}).get("uncertain_below")
        beats = noisy_beats(bundle, mitdb, RULE_SNRS + REPORTED_SNRS, DS1_VALIDATION_RECORDS)
        noise[model] = noise_figures(beats, threshold)
    result = {
        "question": "issues 17 (point 5) and 18: train the recording model with artefacts?",
        "rule_written_before": rule_text(),
        "plan": asdict(PLAN),
        "training": {k: run.get(k) for k in TRAINING_KEYS},
        "clean_validation_macro_f1": clean,
        "ds1_validation_noise": noise,
        "rule": decide(noise, clean),
        "per_record_review": per_record_review(noise),
        "decision": DECISION,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(result["rule"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
