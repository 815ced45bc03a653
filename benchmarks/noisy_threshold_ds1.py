"""A stricter "uncertain" threshold where the signal is noisy? Decided on MIT-BIH DS1 (issue 18).

    nice -n 10 python benchmarks/noisy_threshold_ds1.py

Why: the calibrated threshold (``metadata["calibration"]["uncertain_below"]``) was fitted on
clean validation beats. Under noise that the quality index still lets through, the model is
wrong more often at the same confidence: on DS2 (``noise_stress.json``, a test set: why the
question is asked, nothing chosen on it) the answered beats of the noisy segments are right
94 % of the time at 24 dB and 88 % at 12 dB, against 95 % on clean records. A beat whose 5-s
segment has a low estimated QRS-to-noise ratio (``ecg.dsp.lead_screen.segment_snr_db``, the
second lead's screen's measure, on the analysed lead at the detected beats) could need a higher
confidence to be answered.

Validation data: the four DS1 validation records (106, 124, 209, 223; never DS2), 30 minutes
each, analysed as the app analyses them (``analyse``, the shipped model as served), clean and
with ``noise_stress.py``'s synthetic noise (the same generator, seeds and NST pattern: five clean
minutes, then two minutes noisy, two clean) at 24, 18, 12 and 6 dB. Per detected beat matched to
a six-class reference beat: its state, confidence and call, whether its segment was noised, and
its segment's estimated SNR. A candidate (``min_snr_db`` S, ``noisy_uncertain_below`` T) makes
every classified beat uncertain whose segment's estimated SNR is under S and whose confidence is
under T; the rest of the states are the app's.

Rule -- written and committed before any figure of this script was computed:

- Objective: the mean over 24, 18 and 12 dB of the answered accuracy of the beats in noisy
  segments (pooled over the four records).
- Constraint: on the clean records the share of beats not answered (uncertain or unreadable) may
  rise by at most ``MAX_CLEAN_RISE`` (0.01) over the shipped states.
- Grid: S in ``SNR_GRID``, T in ``THRESHOLD_GRID``, and "off" (the shipped states).
- Chosen: the candidate with the best objective under the constraint; candidates within
  ``TIE`` (0.002) of it are tied, and of those the one answering the most noisy-segment beats
  at 24-12 dB wins. It is shipped (``ecg.features.beat_states.NOISY_SNR_DB`` /
  ``NOISY_UNCERTAIN_BELOW``) only if its objective is at least ``MIN_GAIN`` (0.005) above "off";
  otherwise nothing changes.
- DS2 (``noise_stress.py``) is rerun afterwards and only reported.

**Version 2 of the rule** (written after version 1 shipped S 21 dB / T 0.75 and the reported
test sets showed its cost on clean signal far above the 1 point allowed: clean DS2 not answered
12.0 -> 19.9 %, PTB-XL fold-10 records without a noise note 5.6 -> 11.0 %, against +0.97 on
the four DS1 records; ``noisy_threshold_ds1_v1.json`` keeps version 1's run). The four DS1
validation records all have a high estimated SNR, so they could not show how many clean beats
elsewhere sit under 21 dB. Version 2 adds a second validation source to the constraint only:
``PTBXL_CLEAN`` records of PTB-XL **fold 9** (validation) without a noise note, with a
conducted-beat label and no ectopy (a fixed draw, seed 0; lead II, as the app reads them),
analysed as the app analyses them. The constraint must now hold on each source: the share of
beats not answered may rise by at most ``MAX_CLEAN_RISE`` on the DS1 records and on these. The
objective, grid, tie and minimum gain are unchanged, and no figure of version 2 was seen before
this paragraph was committed.

Results: ``benchmarks/results/noisy_threshold_ds1.json``.
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

from benchmarks.noise_stress import parsed_excerpt, with_noise  # noqa: E402
from benchmarks.two_lead_serving import ptbxl_lead_ii  # noqa: E402
from ecg.classes import class_codes  # noqa: E402
from ecg.dsp.detection import match_to_reference  # noqa: E402
from ecg.dsp.lead_screen import beat_snr_db  # noqa: E402
from ecg.features import beat_states  # noqa: E402
from ecg.features.beats import labels_for  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402
from ecg.training import noise_stress as nst  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "noisy_threshold_ds1.json"
SNRS_DB = (24, 18, 12, 6)
OBJECTIVE_SNRS = ("24_db", "18_db", "12_db")
SNR_GRID = (9.0, 12.0, 15.0, 18.0, 21.0)
THRESHOLD_GRID = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
MAX_CLEAN_RISE = 0.01
TIE = 0.002
MIN_GAIN = 0.005
PTBXL_CLEAN = 300  # fold-9 records without a noise note (version 2's second clean source)


def beat_rows(analysis, parsed, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Per detected beat with a six-class reference: state, confidence, right or not, noised
    segment or not, and the estimated SNR of its 5-s segment."""
    codes = np.array([*class_codes("six"), ""])
    reference = codes[labels_for(np.asarray(parsed.ann_symbols), "six")]
    samples = analysis.beats.samples
    matched = match_to_reference(parsed.ann_samples, samples, parsed.fs)
    ref = np.where(matched >= 0, reference[np.clip(matched, 0, None)], "")
    keep = ref != ""
    snr = beat_snr_db(parsed.signal, parsed.fs, samples)
    return {
        "state": np.asarray(analysis.states).astype(str)[keep],
        "confidence": analysis.beats.confidence[keep].astype(np.float64),
        "right": (analysis.beats.labels == ref)[keep],
        "noisy": mask[np.clip(samples, 0, mask.size - 1)][keep],
        "snr": snr[keep],
    }


def states_with(rows: dict[str, np.ndarray], snr_db: float | None, below: float | None):
    """The states under a candidate (None, None: the shipped ones)."""
    state = rows["state"].copy()
    if snr_db is not None:
        stricter = (state == "classified") & (rows["snr"] < snr_db) & (rows["confidence"] < below)
        state[stricter] = "uncertain"
    return state


def figures(conditions: dict[str, list[dict]], snr_db, below) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, per_record in conditions.items():
        parts = {"noisy": [], "all": []}
        for rows in per_record:
            state = states_with(rows, snr_db, below)
            for kind, where in (("noisy", rows["noisy"]), ("all", np.ones_like(rows["noisy"]))):
                answered = (state == "classified") & where
                parts[kind].append((int(where.sum()), int(answered.sum()),
                                    int((answered & rows["right"]).sum())))  # fmt: skip
        out[name] = {}
        for kind, rows_ in parts.items():
            beats, answered, right = (sum(r[i] for r in rows_) for i in range(3))
            out[name][kind] = {
                "beats": beats,
                "not_answered_share": round(1 - answered / beats, 4) if beats else None,
                "answered_accuracy": round(right / answered, 4) if answered else None,
                "answered": answered,
            }
    objective = np.mean([out[s]["noisy"]["answered_accuracy"] for s in OBJECTIVE_SNRS])
    out["objective"] = round(float(objective), 4)
    out["noisy_answered_24_to_12"] = int(sum(out[s]["noisy"]["answered"] for s in OBJECTIVE_SNRS))
    return out


def ptbxl_clean_rows(bundle, count: int) -> list[dict[str, np.ndarray]]:
    """Per PTB-XL fold-9 record without a noise note (conducted-beat label, no ectopy; a fixed
    draw of ``count``, seed 0; lead II): every detected beat's state, confidence and segment
    SNR. A record without a readable segment counts its beats as unreadable."""
    from ecg.dsp.detection import DetectionError, detect_beats
    from ecg.io.ptbxl import VALIDATION_FOLD, default_ptbxl_dir, load_ptbxl_table, noise_note_groups
    from ecg.recording_analysis import NoReadableSignal

    data_dir = default_ptbxl_dir()
    if data_dir is None:
        raise SystemExit("needs PTB-XL (../shared/data/ptbxl or $PTBXL_DIR)")
    table = load_ptbxl_table(data_dir)
    fold = table[table["strat_fold"] == VALIDATION_FOLD]
    noted, usable = noise_note_groups(fold)
    quiet = np.flatnonzero(~noted & usable)
    picked = np.sort(np.random.default_rng(0).choice(quiet, min(count, len(quiet)), replace=False))
    rows = []
    for ecg_id in fold.index[picked]:
        record, parsed = ptbxl_lead_ii(data_dir, ecg_id)
        try:
            analysis = analyse(parsed, bundle)
        except NoReadableSignal:
            n = len(detect_beats(record.signal, record.fs))
            rows.append({"state": np.full(n, "unreadable"), "confidence": np.zeros(n),
                         "snr": np.zeros(n)})  # fmt: skip
            continue
        except DetectionError:
            continue
        rows.append({
            "state": np.asarray(analysis.states).astype(str),
            "confidence": analysis.beats.confidence.astype(np.float64),
            "snr": beat_snr_db(parsed.signal, parsed.fs, analysis.beats.samples),
        })  # fmt: skip
    return rows


def not_answered(rows: list[dict[str, np.ndarray]], snr_db, below) -> float:
    """Share of the beats of ``rows`` not answered under a candidate (``states_with``)."""
    states = [states_with(r, snr_db, below) for r in rows]
    return round(float(np.mean(np.concatenate(states) != "classified")), 4)


def choose(conditions: dict[str, list[dict]], ptbxl: list[dict]) -> dict[str, Any]:
    off = figures(conditions, None, None)
    clean_off = off["clean"]["all"]["not_answered_share"]
    ptbxl_off = not_answered(ptbxl, None, None)
    rows = [{"snr_db": None, "uncertain_below": None, **off, "ptbxl_clean": ptbxl_off}]
    for snr_db in SNR_GRID:
        for below in THRESHOLD_GRID:
            rows.append({"snr_db": snr_db, "uncertain_below": below,
                         **figures(conditions, snr_db, below),
                         "ptbxl_clean": not_answered(ptbxl, snr_db, below)})  # fmt: skip
    allowed = [
        r
        for r in rows
        if r["clean"]["all"]["not_answered_share"] <= clean_off + MAX_CLEAN_RISE
        and r["ptbxl_clean"] <= ptbxl_off + MAX_CLEAN_RISE
    ]
    best = max(r["objective"] for r in allowed)
    tied = [r for r in allowed if r["objective"] >= best - TIE]
    winner = max(tied, key=lambda r: r["noisy_answered_24_to_12"])
    ship = winner["snr_db"] is not None and winner["objective"] >= off["objective"] + MIN_GAIN
    return {
        "off": {k: off[k] for k in ("objective", "noisy_answered_24_to_12")}
        | {"clean_not_answered": clean_off, "ptbxl_clean_not_answered": ptbxl_off},
        "winner": {k: winner[k] for k in ("snr_db", "uncertain_below", "objective")},
        "ship": bool(ship),
        "chosen": {"snr_db": winner["snr_db"], "uncertain_below": winner["uncertain_below"]}
        if ship
        else {"snr_db": None, "uncertain_below": None},
        "grid": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    from benchmarks.review_benchmark import shipped_recording_bundle

    bundle = shipped_recording_bundle()
    data_dir = resolve_data_dir(args.data_dir)
    # The states without the rule being chosen ("off"); each candidate applies it to them.
    beat_states.NOISY_SNR_DB = None
    started = time.perf_counter()
    conditions: dict[str, list[dict]] = {"clean": [], **{f"{s}_db": [] for s in SNRS_DB}}
    for record in DS1_VALIDATION_RECORDS:
        parsed = parsed_excerpt(data_dir, record, args.minutes)
        mask = nst.noisy_mask(parsed.n_samples, parsed.fs)
        conditions["clean"].append(beat_rows(analyse(parsed, bundle), parsed, mask))
        for snr in SNRS_DB:
            noisy = with_noise(parsed, record, snr, mask)
            conditions[f"{snr}_db"].append(beat_rows(analyse(noisy, bundle), noisy, mask))
        print(f"{record}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    ptbxl = ptbxl_clean_rows(bundle, PTBXL_CLEAN)
    print(f"PTB-XL fold 9: {len(ptbxl)} records ({time.perf_counter() - started:.0f} s)")
    result = {
        "question": __doc__.splitlines()[0],
        "records": list(DS1_VALIDATION_RECORDS),
        "rule_version": 2,
        "ptbxl_clean_records": len(ptbxl),
        "model": f"{bundle.name} v{bundle.version} ({bundle.runtime})",
        "rule": {
            "max_clean_rise": MAX_CLEAN_RISE,
            "tie": TIE,
            "min_gain": MIN_GAIN,
            "snr_grid": SNR_GRID,
            "threshold_grid": THRESHOLD_GRID,
        },  # fmt: skip
        **choose(conditions, ptbxl),
        "seconds": round(time.perf_counter() - started, 1),
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("off", "winner", "ship", "chosen")}, indent=1))


if __name__ == "__main__":
    main()
