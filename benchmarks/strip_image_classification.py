"""Strip images uploaded as recordings: how their beats are classified against the strip's own
signal (issue 19, point 2), and what the trace height given at upload changes.

    python benchmarks/strip_image_classification.py [--strips-per-record 2] [--out FILE]

Ten-second MLII strips of every MIT-BIH DS1 and DS2 record (``--strips-per-record`` a record,
starts drawn with a fixed seed, the MIT-BIH truth band-passed as the app does) are analysed
the way the app analyses an uploaded recording (``recording_analysis.analyse`` with the served
recording model from ``models/``), five ways:

- ``own_signal``: the strip's samples themselves (what a WFDB or CSV upload of it would give);
- ``paper_strip``: drawn on ECG paper, digitised at the grid's scale;
- ``matplotlib_wide_axes``: a matplotlib plot with numbered axes, scale from the labels;
- ``pillow_1600x400``: a bare line drawing, no grid, no labels: drawn to the assumed 2 mV;
- ``pillow_1600x400_height_given``: the same image with the drawn trace's height given at
  upload (``parse_image(trace_height_mv=)``), the exact height: the best a user can give.

Scored on the reference beats of the six classes matched to a detected beat (EC57's 150 ms,
``reference_agreement``): detection sensitivity, the share of those beats whose class (the
model's top one, shown or uncertain) is right, the share answered (not uncertain or
unreadable) and their accuracy, per class, and the difference of accuracy against
``own_signal`` with its 95% interval over records (paired bootstrap, the same records
resampled). DS1 training records are the model's own patients; DS1 validation and DS2 are new.
Writes ``benchmarks/results/strip_image_classification.json``.

The first run (commit ``strip_image_classification.json`` of 2026-12-07) found bare strips
refused as "a single beat": 5 of 54 on DS1 training records, 2 of 66 on DS2, each with one or
two beats far larger than the rest (a ventricular beat twice the others' height), which leave
``count_peaks`` fewer than three deflections over half the largest.

BESIDE_LARGEST_RULE (written before the run that measured it): the digitiser also counts the
deflections of a gridless trace once its one or two largest complexes are left out
(``digitise.peaks_beside_largest``) and reads it as a strip when either count reaches three,
if and only if, on DS1 (training and validation records), (1) fewer bare strips of this
benchmark are refused, (2) no beat renderer of ``digitise_benchmark.py`` reads fewer of its
DS1 beats as a single beat (``kind_single_beat``), and (3) no kind of non-ECG image of that
benchmark is refused or flagged less often; DS2 is reported only.

Version 1 (any count of three beside the largest) said **no**: DS1 bare strips refused 5 -> 0,
but five no-grid beat renderers read 1-9 fewer of their 240 DS1 training beats as a single beat
(``matplotlib_no_axes`` 0.921 -> 0.883): without their QRS, a beat with a large T wave, an S
wave of the other polarity or a flutter wave kept 3-6 deflections. The seven strips had 9-18.

BESIDE_LARGEST_RULE version 2 (written after version 1's answer and a look at the DS1 beats it
turned, before the run that measures it; so its DS1 criterion (2) no longer tests it alone):
the same, with a strip needing ``MIN_BESIDE_LARGEST`` = 7 deflections beside the largest (a
10-s strip at 42 beats a minute), and criterion (2) asked of DS2 too. Its answer: **yes**
(DS1 strips refused 5 -> 0, DS2 2 -> 0; no beat renderer reads fewer single beats on DS1 or
DS2; non-ECG refusals unchanged: ``digitise_beside_largest_v2.json`` against
``digitise_beside_largest_before.json``), served.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import digitise_renderers as R  # noqa: E402
from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.dsp.signal import MODEL_FS, prepare_signal  # noqa: E402
from ecg.features.beats import beat_annotations, labels_for  # noqa: E402
from ecg.io.recording_base import ParsedRecording  # noqa: E402
from ecg.io.recording_image import parse_image  # noqa: E402
from ecg.io.records import default_data_dir, load_record  # noqa: E402
from ecg.models.registry import ModelRegistry  # noqa: E402
from ecg.recording_analysis import analyse  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402
from ecg.training.metrics import bootstrap_difference, per_record_confusions  # noqa: E402

FS = MODEL_FS
STRIP_S = 10.0
RESULT = ROOT / "benchmarks" / "results" / "strip_image_classification.json"
RENDERERS = {
    "paper_strip": lambda x: R.ecg_paper(x, FS),
    "matplotlib_wide_axes": lambda x: R.mpl_plot(x, FS, size=(16, 4)),
    "pillow_1600x400": lambda x: R.pillow_line(x, width=1600, height=400),
}
GIVEN = "pillow_1600x400_height_given"
ARMS = ("own_signal", *RENDERERS, GIVEN)
SPLITS = {
    "DS1_train": [r for r in DS1_RECORDS if r not in DS1_VALIDATION_RECORDS],
    "DS1_validation": list(DS1_VALIDATION_RECORDS),
    "DS2": list(DS2_RECORDS),
}


def png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def strips(data_dir: Path, name: str, count: int, seed: int):
    """``count`` 10-s strips of the record: (truth in mV at FS, reference samples, symbols)."""
    record = load_record(data_dir, name)
    signal = prepare_signal(record.signal, record.fs, FS)
    peaks, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
    peaks = np.round(np.asarray(peaks) * FS / record.fs).astype(np.int64)
    n = int(STRIP_S * FS)
    rng = np.random.default_rng([seed, int(name)])
    for start in rng.integers(int(10 * FS), signal.size - n - int(10 * FS), size=count):
        inside = (peaks >= start) & (peaks < start + n)
        yield signal[start : start + n], peaks[inside] - start, np.asarray(symbols)[inside]


def with_reference(parsed: ParsedRecording, samples, symbols) -> ParsedRecording:
    """The parsed strip with the strip's reference beats, at its own rate."""
    scale = parsed.fs / FS
    return replace(
        parsed,
        ann_samples=np.round(samples * scale).astype(np.int64),
        ann_symbols=np.asarray(symbols),
    )


def parsed_arm(arm: str, truth: np.ndarray, images: dict[str, bytes]) -> ParsedRecording:
    if arm == "own_signal":
        return ParsedRecording(
            name="strip", format="csv", fs=FS, lead_names=["MLII"],
            signals=truth[None].astype(np.float32), lead_index=0, source_files=["strip"],
        )  # fmt: skip
    if arm == GIVEN:
        return parse_image("strip.png", images["pillow_1600x400"],
                           trace_height_mv=float(np.ptp(truth)))  # fmt: skip
    return parse_image("strip.png", images[arm])


def scored_beats(analysis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference class index, predicted index, answered) of the matched six-class beats."""
    classes = analysis.beats.classes
    ref = analysis.reference_labels
    keep = ref != ""
    ref_index = np.array([classes.index(c) for c in ref[keep]], dtype=np.int64)
    answered = np.asarray(analysis.states)[keep] == "classified"
    return ref_index, analysis.beats.label_index[keep], answered


def summary(rows: dict, classes: list[str], reference: dict | None) -> tuple[dict, dict]:
    """One arm's figures, and its per-record confusions (what the paired bootstrap reads)."""
    truth = np.concatenate(rows["truth"]) if rows["truth"] else np.zeros(0, np.int64)
    pred = np.concatenate(rows["pred"]) if rows["pred"] else np.zeros(0, np.int64)
    answered = np.concatenate(rows["answered"]) if rows["answered"] else np.zeros(0, bool)
    records = np.concatenate(rows["records"]) if rows["records"] else np.zeros(0, str)
    right = pred == truth
    out = {
        "strips": rows["strips"],
        "strips_refused": rows["refused"],
        "refusals": rows["refusals"],
        "reference_beats": rows["reference_beats"],
        "scored_beats": int(truth.size),
        "detected_share_of_reference": round(
            rows["matched"] / max(rows["reference_beats"], 1), 4
        ),  # fmt: skip
        "accuracy": round(float(right.mean()), 4) if truth.size else None,
        "answered_share": round(float(answered.mean()), 4) if truth.size else None,
        "answered_accuracy": round(float(right[answered].mean()), 4) if answered.any() else None,
        "sensitivity": {
            c: round(float(right[truth == i].mean()), 4)
            for i, c in enumerate(classes)
            if (truth == i).any()
        },
    }
    per_record = per_record_confusions(truth, pred, records, len(classes))
    if reference is not None:
        # Paired over the records both arms scored (a refused strip image leaves its record
        # out when it was that record's only strip).
        both = sorted(set(per_record) & set(reference))
        diff = bootstrap_difference({r: per_record[r] for r in both},
                                    {r: reference[r] for r in both}, "accuracy",
                                    resamples=1000)  # fmt: skip
        out["accuracy_minus_own_signal"] = {
            "difference": round(diff["difference"], 4),
            "interval": [round(v, 4) for v in diff["interval"]],
            "records_paired": len(both),
        }
    return out, per_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strips-per-record", type=int, default=2)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--out", default=str(RESULT))
    args = parser.parse_args(argv)
    data_dir = default_data_dir()
    if data_dir is None:
        raise SystemExit("MIT-BIH not found")
    registry = ModelRegistry(ROOT / "models")
    bundle = registry.serving_bundle(task="recording")
    classes = list(bundle.classes)
    started = time.perf_counter()
    result: dict = {
        "what": __doc__.split("\n\n")[0],
        "model": f"{bundle.name} v{bundle.version} ({registry.runtimes.get(bundle.path, '?')})",
        "strips_per_record": args.strips_per_record,
        "seed": args.seed,
        "splits": {},
    }
    for split, records in SPLITS.items():
        rows = {
            arm: {"truth": [], "pred": [], "answered": [], "records": [], "strips": 0,
                  "refused": 0, "refusals": [], "reference_beats": 0, "matched": 0}
            for arm in ARMS
        }  # fmt: skip
        for name in records:
            for truth, samples, symbols in strips(data_dir, name, args.strips_per_record,
                                                  args.seed):  # fmt: skip
                six = labels_for(symbols, "six") >= 0
                images = {arm: png(draw(truth).image) for arm, draw in RENDERERS.items()}
                for arm in ARMS:
                    r = rows[arm]
                    r["strips"] += 1
                    r["reference_beats"] += int(six.sum())
                    try:
                        parsed = with_reference(parsed_arm(arm, truth, images), samples, symbols)
                        analysis = analyse(parsed, bundle)
                    except Exception as exc:  # refused or no readable beat: counted, not scored
                        r["refused"] += 1
                        r["refusals"].append(f"{name}: {exc}")
                        print(f"  {split} {name} {arm}: {exc}", flush=True)
                        continue
                    ref, pred, answered = scored_beats(analysis)
                    r["matched"] += int(ref.size)
                    r["truth"].append(ref)
                    r["pred"].append(pred)
                    r["answered"].append(answered)
                    r["records"].append(np.full(ref.size, name))
        block, reference = {}, None
        for arm in ARMS:
            block[arm], per_record = summary(rows[arm], classes, reference)
            if arm == "own_signal":
                reference = per_record
        result["splits"][split] = {"records": records, "arms": block}
        print(split, json.dumps({a: {k: block[a][k] for k in ("accuracy", "answered_accuracy",
              "detected_share_of_reference")} for a in ARMS}), flush=True)  # fmt: skip
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    result["created_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
