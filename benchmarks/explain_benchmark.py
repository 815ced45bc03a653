"""How long an explanation and a PDF report take on this machine (prints figures, writes JSON).

    python benchmarks/explain_benchmark.py [--model models/NAME.keras] [--out FILE]

Without ``--model`` the first ``models/*.keras`` is used; with none shipped, a CNN of the size
the pipeline trains (three conv blocks, 64x64 input, image + RR) stands in, and the output says
so. Figures: Grad-CAM for one image (first call, which builds the gradient model, then the
median of repeated calls), per-image cost in a batch of 256, overlay PNG encoding, PDF build;
with MIT-BIH and a shipped recording model, the first heat map of one beat of record 119.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifier.ml import explain  # noqa: E402


def stand_in_model():
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 1), name="image", dtype="uint8")
    rr = keras.Input((6,), name="rr")
    x = keras.layers.Rescaling(1 / 255)(image)
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Concatenate()([x, rr])
    out = keras.layers.Dense(6, activation="softmax")(x)
    return keras.Model([image, rr], out), ["image", "rr"]


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def recording_figures(record: str = "119") -> dict:
    """One beat of a 30-minute MIT-BIH record explained the way a recording page does it: the
    whole lead through ``beat_inputs`` (RR features need every beat), then Grad-CAM of one beat.
    Skipped (empty) without the data or a shipped recording model."""
    from classifier.ml.bundle import load_bundle, read_metadata
    from classifier.ml.records import default_data_dir, load_record

    data_dir = default_data_dir()
    paths = [p for p in sorted((ROOT / "models").glob("*.keras"))
             if read_metadata(p).get("task") == "recording"]  # fmt: skip
    if data_dir is None or not paths:
        return {}
    bundle = load_bundle(paths[0])
    rec = load_record(data_dir, record)
    explain.explain_beats(bundle, rec.signal, rec.fs, rec.ann_samples, [10])  # warm-up
    times = timed(
        lambda: explain.explain_beats(bundle, rec.signal, rec.fs, rec.ann_samples, [500]), 3
    )
    return {
        "recording_model": paths[0].name,
        "recording_record": (
            f"MIT-BIH {record}, {rec.duration_s / 60:.0f} min, {len(rec.ann_samples)} annotations"
        ),
        "recording_one_beat_heat_map_median_ms": round(statistics.median(times), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    args = parser.parse_args()

    shipped = [Path(args.model)] if args.model else sorted((ROOT / "models").glob("*.keras"))
    if shipped:
        from classifier.ml.bundle import load_bundle

        bundle = load_bundle(shipped[0])
        model, inputs, source = bundle.model, bundle.metadata["inputs"], str(shipped[0].name)
    else:
        (model, inputs), source = stand_in_model(), "stand-in CNN (no shipped model)"
    rng = np.random.default_rng(0)
    size = int(model.inputs[0].shape[1])
    images = rng.integers(0, 256, size=(256, size, size)).astype(np.uint8)
    rr_width = next((int(t.shape[-1]) for t in model.inputs if t.name == "rr"), 0)
    rr = np.ones((256, rr_width), dtype=np.float32) if "rr" in inputs else None

    def one(i=0):
        return explain.grad_cam(model, images[i : i + 1], rr=None if rr is None else rr[i : i + 1])

    first = timed(one, 1)[0]
    single = timed(one, args.repeat)
    batch = timed(lambda: explain.grad_cam(model, images, rr=rr), 3)
    heat = one()[0][0]
    png = timed(lambda: explain.overlay_png(images[0], heat), args.repeat)

    from reports.pdf import ReportData, build_pdf

    data = ReportData(
        title="ECG beat classification report",
        patient_reference="BENCH-1",
        created_at=datetime.now(UTC),
        label="N",
        label_name="Normal",
        confidence=0.9,
        model_name="bench",
        model_version="1",
        image_png=explain.png_bytes(images[0]),
        heatmap_png=explain.overlay_png(images[0], heat),
    )
    pdf = timed(lambda: build_pdf(data), 5)
    result = {
        **recording_figures(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "tensorflow_threads": "default",
        "model": source,
        "grad_cam_first_call_ms": round(first, 1),
        "grad_cam_one_image_median_ms": round(statistics.median(single), 1),
        "grad_cam_per_image_in_batch_256_ms": round(statistics.median(batch) / 256, 2),
        "overlay_png_median_ms": round(statistics.median(png), 2),
        "pdf_build_median_ms": round(statistics.median(pdf), 1),
    }
    result = {k: result[k] for k in sorted(result, key=lambda k: k != "measured_at")}
    for key, value in result.items():
        print(f"{key:40s} {value}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
