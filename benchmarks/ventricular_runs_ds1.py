"""Slow ventricular runs as events (issue 20): should a run of three or more classified V beats
at 100 bpm or slower be listed as an idioventricular rhythm (``IVR``) episode?

    python benchmarks/ventricular_runs_ds1.py          # DS1: the decision -> ventricular_runs.json
    python benchmarks/ventricular_runs_ds1.py --ds2    # DS2 after it -> ventricular_runs_ds2.json

Why: the events list had ventricular tachycardia (a run of V beats faster than 100 bpm) but no
slower ventricular run, so a recording whose class table showed a 20-beat V run at 60 bpm said
"no rhythm event found". MIT-BIH's annotators mark such runs ``(IVR`` (idioventricular rhythm:
124, 207) and some at 88-91 bpm ``(VT`` (205, 223).

Every record is analysed as the web app analyses an upload (``episodes_benchmark.analyse_record``:
the served model, beat states, quality), with ``SLOW_VENTRICULAR_RUNS`` on, which only adds
``IVR`` episodes (the VT episodes are the same either way). Two arms from the same analysis:
**VT alone** (what the app listed before) and **VT and IVR**, each scored as EC57 scores
episodes (``episode_scores``: episode and duration sensitivity and positive predictivity)
against the reference ventricular runs: the ``(VT`` and ``(IVR`` rhythm intervals of the
``.atr`` files, one episode where they follow each other.

The rule, written before this script's first run: pooled over the 22 DS1 records, the IVR kind
ships (``SLOW_VENTRICULAR_RUNS = True``) if VT and IVR together score an episode F1 and a
duration F1 (2 Se +P / (Se + P)) at least those of VT alone; otherwise it is switched off.
Disclosure: written after an exploration on DS1 listed where runs of three or more classified V
beats at <= 100 bpm fall with the shipped model (on reference IVR or VT in 124, 205, 207 and
223; on none in 108, 203 and 208). DS2 was not looked at before the decision; ``--ds2``
reports it after, changing nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import episodes_benchmark as eb  # noqa: E402

from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.features import episodes as rules  # noqa: E402
from ecg.features.episodes import episode_scores, reference_rhythm_intervals  # noqa: E402

VENTRICULAR_RHYTHMS = ("(VT", "(IVR")


def f1(se: float | None, ppv: float | None) -> float | None:
    if se is None or ppv is None or se + ppv == 0:
        return None
    return round(2 * se * ppv / (se + ppv), 4)


def record_row(data_dir: Path, name: str, bundle) -> dict[str, Any]:
    import wfdb

    row = eb.analyse_record(data_dir, name, bundle)
    ann = wfdb.rdann(str(data_dir / name), "atr")
    notes = [n or "" for n in ann.aux_note]
    reference = reference_rhythm_intervals(
        ann.sample, ann.symbol, notes, row["fs"], row["n_samples"], VENTRICULAR_RHYTHMS
    )
    vt, ivr = row["app"]["VT"], row["app"]["IVR"]
    return {"reference": reference, "vt": vt, "vt_ivr": sorted(vt + ivr), "ivr": ivr}


def pooled(rows: dict[str, dict], key: str, names: list[str]) -> dict[str, Any]:
    reference, detected = [], []
    for place, name in enumerate(names):
        shift = place * eb.RECORD_SPAN_S
        reference += [(s + shift, e + shift) for s, e in rows[name]["reference"]]
        detected += [(s + shift, e + shift) for s, e in rows[name][key]]
    score = episode_scores(reference, detected).as_dict()
    score["episode_f1"] = f1(score["episode_sensitivity"], score["episode_positive_predictivity"])
    score["duration_f1"] = f1(
        score["duration_sensitivity"], score["duration_positive_predictivity"]
    )
    return score


def decision(arms: dict[str, dict[str, Any]]) -> bool:
    before, after = arms["vt_alone"], arms["vt_and_ivr"]
    return all((after[k] or 0.0) >= (before[k] or 0.0) for k in ("episode_f1", "duration_f1"))


def main() -> None:
    from benchmarks.recording_model_option import recording_registry
    from ecg.io.records import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ds2", action="store_true", help="report DS2 (after the choice)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    group = "DS2" if args.ds2 else "DS1"
    name = "ventricular_runs_ds2.json" if args.ds2 else "ventricular_runs.json"
    args.out = args.out or ROOT / "benchmarks/results" / name
    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("MIT-BIH not found (../shared/data/mitdb)")
    bundle = recording_registry(ROOT / "models", None).serving_bundle(task="recording")
    rules.SLOW_VENTRICULAR_RUNS = True  # the arm "VT alone" is the same analysis's VT episodes
    names = list(DS2_RECORDS if args.ds2 else DS1_RECORDS)
    result: dict[str, Any] = {
        "rule": __doc__.split("The rule, written before this script's first run:")[1].strip(),
        "model": f"{bundle.name} v{bundle.version}",
        "rate_boundary_bpm": rules.FAST_BPM,
        "run_min_beats": rules.RUN_MIN_BEATS,
    }
    rows = {n: record_row(data_dir, n, bundle) for n in names}
    arms = {"vt_alone": pooled(rows, "vt", names), "vt_and_ivr": pooled(rows, "vt_ivr", names)}
    result[group] = {
        **arms,
        "per_record": {
            n: {
                k: [(round(s, 1), round(e, 1)) for s, e in r[k]] for k in ("reference", "vt", "ivr")
            }  # fmt: skip
            for n, r in rows.items()
            if r["reference"] or r["vt_ivr"]
        },
    }
    print(group, json.dumps(arms, indent=1), flush=True)
    if args.ds2:
        result["note"] = (
            "reported after the decision on DS1 (ventricular_runs.json); nothing chosen"
        )
    else:
        result["adopt"] = decision(arms)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print("adopt:", result.get("adopt", "(DS2: reported only)"))


if __name__ == "__main__":
    main()
