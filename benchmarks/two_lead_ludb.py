"""LUDB for the two-lead model (issue 17): the figure ``recording_mixed`` has and it lacked.

    nice -n 10 python benchmarks/two_lead_ludb.py [--ludb DIR] [--models-dir models]

Every LUDB record (200 ten-second 12-lead ECGs at 500 Hz) is classified at the cardiologists' QRS
peaks (lead II's delineation, as ``mixed_eval.ludb_beat_table``) by the serving functions of
``ecg.recording_analysis``, with II as the primary lead and V1 as the second:

- ``recording_two_lead``: ``classify_two_lead`` (II and V1 as the two channels, V1's screen on);
- ``recording_mixed`` on II alone (``classify_at``): the basis of its published LUDB figure
  (``models/recording_mixed.external.json``, from beat tables), recomputed here as a check;
- ``recording_mixed`` fused with V1 (``classify_at`` + ``fuse_second_lead``): the default path.

All three with the Keras weights in float32 (the app serves LiteRT conversions of them).

Per header-diagnosis group (``ptbxl_mixed_eval.ludb_groups``): the share of beats called each
class (arg-max; no "uncertain" state), with 95 % intervals over records
(``mixed_eval.call_shares``). The targets are ``ptbxl_mixed_eval``'s for the sinus, no-BBB
group: at most 2 % of beats called L or R and 1 % called V.

Reported only: LUDB is a test set; nothing here chooses or changes a model. Writes
``benchmarks/results/two_lead_ludb.json``.
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

from ptbxl_mixed_eval import TARGETS, ludb_groups  # noqa: E402

from ecg.io.ludb import default_ludb_dir, list_ludb_records, load_ludb_record  # noqa: E402
from ecg.io.recording_base import ParsedRecording  # noqa: E402
from ecg.models.bundle import file_sha256, load_bundle  # noqa: E402
from ecg.recording_analysis import (  # noqa: E402
    classify_at,
    classify_two_lead,
    fuse_second_lead,
)
from ecg.training.mixed_eval import call_shares  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "two_lead_ludb.json"
PATHS = ("recording_two_lead", "recording_mixed, II alone", "recording_mixed, fused with V1")


def ludb_recording(ludb_dir: Path, name: str) -> tuple[ParsedRecording, np.ndarray, list[str]]:
    """(II + V1 as an upload would give them, the QRS peaks of II's delineation, diagnoses)."""
    two = [load_ludb_record(ludb_dir, name, lead=lead) for lead in ("ii", "v1")]
    recording = ParsedRecording(
        name=f"ludb{name}",
        format="wfdb",
        fs=two[0].fs,
        lead_names=["II", "V1"],
        signals=np.stack([r.signal for r in two]).astype(np.float32),
        lead_index=0,
        source_files=[],
    )
    return recording, two[0].delineation.qrs[:, 1].astype(np.int64), two[0].diagnoses


def calls(two, mixed, recording: ParsedRecording, peaks: np.ndarray) -> dict[str, np.ndarray]:
    """Arg-max class index of every beat the serving path keeps, per path."""
    two_lead, _ = classify_two_lead(two, recording, peaks)
    alone = classify_at(mixed, recording.signal, recording.fs, peaks)
    fused, _, _ = fuse_second_lead(mixed, recording, peaks, alone)
    beats = (two_lead, alone, fused)
    return {path: b.probabilities.argmax(axis=1) for path, b in zip(PATHS, beats, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ludb", default=None, help="LUDB folder (default: $LUDB_DIR)")
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    args = parser.parse_args(argv)
    ludb_dir = Path(args.ludb) if args.ludb else default_ludb_dir()
    if ludb_dir is None:
        parser.error("LUDB not found: pass --ludb")
    models = Path(args.models_dir)
    two = load_bundle(models / "recording_two_lead.keras")
    mixed = load_bundle(models / "recording_mixed.keras")
    if two.classes != mixed.classes:
        sys.exit("the two models name their classes differently")
    started = time.perf_counter()
    preds: dict[str, list[np.ndarray]] = {p: [] for p in PATHS}
    records: dict[str, list[np.ndarray]] = {p: [] for p in PATHS}
    diagnoses: dict[str, list[str]] = {}
    for name in list_ludb_records(ludb_dir):
        recording, peaks, diagnoses[name] = ludb_recording(ludb_dir, name)
        if len(peaks) < 3:  # as ludb_beat_table: no RR to read
            continue
        for path, pred in calls(two, mixed, recording, peaks).items():
            preds[path].append(pred)
            records[path].append(np.full(len(pred), recording.name))
    groups = ludb_groups(diagnoses)
    figures = {}
    for path in PATHS:
        pred, names = np.concatenate(preds[path]), np.concatenate(records[path])
        figures[path] = {
            group: call_shares(pred[np.isin(names, members)], names[np.isin(names, members)],
                               two.classes)
            for group, members in groups.items()
            if np.isin(names, members).any()
        }  # fmt: skip
    sinus = {p: figures[p]["sinus, no BBB"]["share"] for p in PATHS}
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "models": {
            b.name: {"version": b.version, "model_sha256": file_sha256(b.path)}
            for b in (two, mixed)
        },
        "path": "ecg.recording_analysis serving functions at LUDB's lead-II QRS peaks (II primary, "
        "V1 second); arg-max calls, no uncertain state; intervals over records",
        "targets_sinus_no_bbb": TARGETS["ludb_sinus_no_bbb"],
        "sinus_no_bbb": {
            p: {"L+R": round(s["L"] + s["R"], 4), "V": round(s["V"], 4)} for p, s in sinus.items()
        },
        "group_records": {g: len(m) for g, m in groups.items()},
        "by_path": figures,
        "seconds": round(time.perf_counter() - started, 1),
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["sinus_no_bbb"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
