"""Read A calls inside a detected AF episode as N? Decided on MIT-BIH DS1 (issues 17, 18, 20).

    nice -n 10 python benchmarks/af_atrial_merge_ds1.py             # DS1: the choice
    nice -n 10 python benchmarks/af_atrial_merge_ds1.py --report    # DS2, reported only

Why: an atrial premature beat is not defined during atrial fibrillation (there is no sinus
rhythm to be early against), and MIT-BIH labels the beats of AF normal; the shipped model calls
many of them A (``ecg.features.af_context``). The app can read every A call inside an AF episode
its rhythm detector found as N (``ecg.features.af_context.MERGE_ATRIAL_IN_AF``). The risk: where
the detector finds AF that is not there (a run of atrial ectopy, a junctional rhythm), true A
beats are lost.

Each record is analysed twice as the app analyses an upload (``analyse`` on the record's
``.hea``/``.dat``/``.atr`` bytes, the shipped recording model as the app serves it), with the
setting off and on. Scored: every detected beat matched to a reference beat (EC57 150 ms), its
arg-max class (the call the app makes before states) against the reference, in the six classes
(reference beats outside them left out) and in AAMI's (SVEB = A, VEB = V or !, from the six-class
call); and the answers shown (classified beats' share and accuracy).

Rule -- written and committed before any figure of this script was computed. The only figure
seen before: DS2's cached app-path calls, with the AF spans of ``episodes.json``: 1,466 of
2,832 false A calls lie inside detected AF (SVEB Se 67 -> 58 %, +P 29 -> 42 %). That is a
test set, so nothing is chosen on it; it is why the question is asked. Seen too, before the
commit: the script's smoke run on DS1 record 201 alone (358 A calls read as N, its A F1 0.14 ->
0.48); the rule above was written before that run and is unchanged.

- The validation set is ALL 22 DS1 records. The four DS1 validation records (106, 124, 209,
  223) hold no AF, and PTB-XL's 10-second records are shorter than one AF window, so no
  held-out validation data can say anything here. The other 18 are the model's training
  records, which biases the answer AGAINST the merge on both sides: the model fits their AF
  beats as N (fewer false A calls to remove) and their true A beats as A (more true calls to
  lose where the detector errs).
- The app merges (``MERGE_ATRIAL_IN_AF = True``) if and only if, on DS1 pooled, BOTH hold:
  1. the six-class A F1 with the merge is at least the F1 without (to four decimals);
  2. the six-class macro-F1 of the arg-max calls is at most 0.005 below the one without.
- Otherwise it stays off. DS2 (``--report``) is reported after the answer, never used.

Results: ``benchmarks/results/af_atrial_merge_ds1.json`` (DS1) and
``benchmarks/results/af_atrial_merge_ds2.json`` (``--report``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ecg.classes import DS1_RECORDS, DS2_RECORDS, class_codes  # noqa: E402
from ecg.dsp.detection import match_to_reference  # noqa: E402
from ecg.features.beats import labels_for  # noqa: E402
from ecg.io.records import default_data_dir  # noqa: E402
from ecg.training.aami import SIX_TO_AAMI  # noqa: E402
from ecg.training.metrics import confusion_matrix, macro_f1  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MIN_F1_GAIN = 0.0  # condition 1: A F1 with the merge >= without
MAX_MACRO_DROP = 0.005  # condition 2
RESAMPLES = 1000


def analysed_beats(data_dir: Path, name: str, bundle: Any, merge: bool) -> dict[str, Any]:
    """One record through the app's analysis with the setting ``merge``: per matched beat its
    six-class and AAMI reference index (-1 outside the set), its call and its state."""
    from two_lead_serving import mitdb_upload

    from ecg.features import af_context
    from ecg.recording_analysis import analyse

    recording = mitdb_upload(data_dir, name)
    before = af_context.MERGE_ATRIAL_IN_AF
    af_context.MERGE_ATRIAL_IN_AF = merge
    try:
        result = analyse(recording, bundle)
    finally:
        af_context.MERGE_ATRIAL_IN_AF = before
    match = match_to_reference(recording.ann_samples, result.beats.samples, recording.fs)
    matched = match >= 0
    symbols = np.asarray(recording.ann_symbols)[match[matched]]
    return {
        "six": labels_for(symbols, "six"),
        "aami": labels_for(symbols, "aami"),
        "call": result.beats.label_index[matched],
        "state": result.states.astype(str)[matched],
        "merged": int(result.summary.get("atrial_calls_in_af", 0)),
        "af_s": round(
            sum(e["duration_s"] for e in result.summary["episodes"] if e["kind"] == "AF"), 1
        ),  # fmt: skip
    }


def record_tables(rows: dict[str, dict[str, Any]], classes: list[str]) -> dict[str, Any]:
    """Per record: the six-class confusion of the calls, the AAMI one, and the answers shown."""
    aami_codes = class_codes("aami")
    six_to_aami = np.array([aami_codes.index(SIX_TO_AAMI[c]) for c in classes])
    out = {}
    for name, row in rows.items():
        six = row["six"] >= 0
        answered = row["state"] == "classified"
        out[name] = {
            "six": confusion_matrix(row["six"][six], row["call"][six], len(classes)).tolist(),
            "aami": confusion_matrix(
                row["aami"][row["aami"] >= 0],
                six_to_aami[row["call"][row["aami"] >= 0]],
                len(aami_codes),
            ).tolist(),  # fmt: skip
            "answered": int((answered & six).sum()),
            "answered_right": int((answered & six & (row["six"] == row["call"])).sum()),
            "scored": int(six.sum()),
            "merged": row["merged"],
            "af_s": row["af_s"],
        }
    return out


def class_f1(cm: np.ndarray, index: int) -> float:
    tp = cm[index, index]
    den = cm[index].sum() + cm[:, index].sum()
    return float(2 * tp / den) if den else 0.0


def figures(tables: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """Pooled figures of one setting."""
    six = np.sum([t["six"] for t in tables.values()], axis=0)
    aami = np.sum([t["aami"] for t in tables.values()], axis=0)
    codes = class_codes("aami")
    a, s = classes.index("A"), codes.index("SVEB")
    answered = sum(t["answered"] for t in tables.values())
    scored = sum(t["scored"] for t in tables.values())

    def share(num: float, den: float) -> float | None:
        return round(float(num / den), 4) if den else None

    return {
        "six_class_macro_f1": round(macro_f1(six), 4),
        "A_f1": round(class_f1(six, a), 4),
        "A_sensitivity": share(six[a, a], six[a].sum()),
        "A_precision": share(six[a, a], six[:, a].sum()),
        "SVEB_sensitivity": share(aami[s, s], aami[s].sum()),
        "SVEB_precision": share(aami[s, s], aami[:, s].sum()),
        "SVEB_f1": round(class_f1(aami, s), 4),
        "answered_share": share(answered, scored),
        "answered_accuracy": share(sum(t["answered_right"] for t in tables.values()), answered),
        "beats_scored": int(scored),
        "A_calls_read_as_N": int(sum(t["merged"] for t in tables.values())),
    }


def paired_interval(on: dict[str, Any], off: dict[str, Any], classes: list[str]) -> dict:
    """95 % interval of (on - off) A F1 and macro-F1 over records drawn with replacement."""
    names = sorted(on)
    rng = np.random.default_rng(0)
    a = classes.index("A")
    diffs: dict[str, list[float]] = {"A_f1": [], "six_class_macro_f1": []}
    for _ in range(RESAMPLES):
        pick = rng.choice(names, size=len(names), replace=True)
        cm_on = np.sum([on[n]["six"] for n in pick], axis=0)
        cm_off = np.sum([off[n]["six"] for n in pick], axis=0)
        diffs["A_f1"].append(class_f1(cm_on, a) - class_f1(cm_off, a))
        diffs["six_class_macro_f1"].append(macro_f1(cm_on) - macro_f1(cm_off))
    return {k: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
            for k, v in diffs.items()}  # fmt: skip


def decide(on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    gain = on["A_f1"] - off["A_f1"]
    drop = off["six_class_macro_f1"] - on["six_class_macro_f1"]
    first, second = round(gain, 4) >= MIN_F1_GAIN, round(drop, 4) <= MAX_MACRO_DROP
    return {
        "A_f1_gain": round(gain, 4),
        "condition_1_A_f1_not_lower": bool(first),
        "macro_f1_drop": round(drop, 4),
        "condition_2_macro_drop_at_most_0.005": bool(second),
        "merge": bool(first and second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--report", action="store_true", help="DS2, reported only")
    parser.add_argument("--records", nargs="*", help="only these (nothing is written)")
    args = parser.parse_args()

    from review_benchmark import shipped_recording_bundle

    bundle = shipped_recording_bundle()
    classes = list(bundle.classes)
    names = args.records or list(DS2_RECORDS if args.report else DS1_RECORDS)
    started = time.perf_counter()
    tables: dict[str, dict[str, Any]] = {}
    for setting, merge in (("off", False), ("on", True)):
        rows = {}
        for name in names:
            rows[name] = analysed_beats(args.data_dir, name, bundle, merge)
            print(f"{setting} {name} merged {rows[name]['merged']} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        tables[setting] = record_tables(rows, classes)
    pooled = {s: figures(t, classes) for s, t in tables.items()}
    out: dict[str, Any] = {
        "question": "read A calls inside a detected AF episode as N (MERGE_ATRIAL_IN_AF)",
        "records": "DS2 (reported only)" if args.report else "DS1 (all 22: the choice)",
        "model": f"{bundle.name} v{bundle.metadata.get('version')} ({bundle.runtime})",
        "pooled": pooled,
        "paired_interval_on_minus_off": paired_interval(tables["on"], tables["off"], classes),
        "per_record": {
            n: {s: {k: tables[s][n][k] for k in ("merged", "af_s", "six")} for s in tables}
            for n in names
        },  # fmt: skip
        "seconds": round(time.perf_counter() - started, 1),
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if not args.report:
        out["rule"] = {"min_A_f1_gain": MIN_F1_GAIN, "max_macro_f1_drop": MAX_MACRO_DROP}
        out["decision"] = decide(pooled["on"], pooled["off"])
    print(json.dumps({k: out[k] for k in ("pooled", "paired_interval_on_minus_off")}, indent=1))
    if "decision" in out:
        print(json.dumps(out["decision"], indent=1))
    if args.records:
        return
    name = "af_atrial_merge_ds2.json" if args.report else "af_atrial_merge_ds1.json"
    (RESULTS / name).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
