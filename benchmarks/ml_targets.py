"""Issue 2's targets against the figures in models/*.metrics.json, plus a fresh speed run.

    python benchmarks/ml_targets.py [--models-dir models] [--record 208] [--no-speed]

Prints, for every shipped model: intra-/inter-patient accuracy and macro-F1, the AAMI VEB/SVEB
Se and +P, whether it beats the original CNN -- the targets for the served recording model, then
the same rows for every other recording model (not served; reported only) -- and (unless
--no-speed) the batch speed of
``classify_beats`` on a whole record -- signal preparation and image building included -- and
the single-image latency measured now on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg.training import report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default="models")
    parser.add_argument("--record", default="208", help="MIT-BIH record used for the speed run")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    models = Path(args.models_dir)
    metrics = {
        p.name.split(".")[0]: json.loads(p.read_text())
        for p in sorted(models.glob("*.metrics.json"))
    }
    if not metrics:
        sys.exit(f"no *.metrics.json in {models}: run manage.py train_model first")
    context_path = models / "evaluation.json"  # the last run's times, for the pipeline target
    context = json.loads(context_path.read_text()) if context_path.is_file() else None
    recordings = [n for n, m in metrics.items() if m.get("task") == "recording"]
    # the served one: the last full evaluation names it (else the first, as before)
    served = (context or {}).get("recording_model")
    recording = served if served in recordings else next(iter(recordings), None)
    if recording:
        print(f"served recording model: {recording}")
        print("\n".join(report.target_rows(metrics, recording, context)))
        print()
    for name in recordings:
        if name != recording:  # e.g. recording_two_lead (issue 17): opt-in, reported only
            print(f"{name} (not served by default; reported only, nothing chosen on it):")
            # no context: the pipeline-time row is the served model's run, not this model's
            print("\n".join(report.target_rows(metrics, name, None)))
            print()
    print("\n".join(report.comparison_rows(metrics, "original_cnn")))
    if args.no_speed:
        return
    from ecg.io.records import default_data_dir, load_record
    from ecg.models.bundle import load_bundle
    from ecg.models.registry import ModelRegistry
    from ecg.training.evaluation import measure_speed

    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("speed run needs MIT-BIH (../shared/data/mitdb or $ECG_DATA_DIR)")
    record = load_record(data_dir, args.record)
    print(f"\nspeed on record {args.record}, {os.cpu_count()} CPUs visible:")
    for path in ModelRegistry(models).model_files():
        bundle = load_bundle(path)
        if bundle.channels > 1:  # issue 17: its speed is timed by recording_benchmark.py
            print(f"  {bundle.name}: two-channel model, see recording_benchmark.py --model")
            continue
        s = measure_speed(bundle, record.signal, record.fs, record.ann_samples)
        target = (
            "meets" if s["batch_beats_per_s"] >= report.TARGETS["batch_beats_per_s"] else "BELOW"
        )
        print(
            f"  {bundle.name}: {s['batch_beats_per_s']:.0f} beats/s ({target} 2000), "
            f"single image {s['single_image_ms_median']:.1f} ms (target < 20)"
        )


if __name__ == "__main__":
    main()
