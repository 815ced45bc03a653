"""How long an explanation and a PDF report take on this machine (prints figures, writes JSON).

    python benchmarks/explain_benchmark.py [--model models/NAME.keras] [--out FILE]

Without ``--model`` the first ``models/*.keras`` is used; with none shipped, a CNN of the size
the pipeline trains (three conv blocks, 64x64 input, image + RR) stands in, and the output says
so. Figures: Grad-CAM for one image (first call, which builds the gradient model, then the
median of repeated calls), per-image cost in a batch of 256, overlay PNG encoding, PDF build;
with MIT-BIH and a shipped recording model, the first heat map of one beat of record 119.

Both Grad-CAM paths are measured: Keras/TensorFlow (``grad_cam_*``) and, when
``manage.py export_lite_models`` has exported the model's Grad-CAM, LiteRT + NumPy head
(``litert_grad_cam_*``, and the largest difference between the two paths' heat maps). The first
heat map of a serving process is measured in fresh child processes, one per path, as a web
worker meets it: the model already loaded for predictions (LiteRT), then one heat-map request
(loading what explains, the Grad-CAM, the overlay PNG); RSS before and after it
(``first_heat_map``).
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

from ecg.models import explain  # noqa: E402


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


def rss_mb() -> float:
    """Resident set size of this process now, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def first_heat_map_child(model_path: str, path: str, repeat: int) -> None:
    """In a fresh process: what one heat-map request costs a serving process that has only
    served predictions so far. ``path`` "litert": ``explain_bundle`` (the Grad-CAM export);
    "keras": the Keras model, as every heat map was computed before the export existed."""
    from ecg.models.bundle import read_metadata
    from ecg.models.registry import ModelRegistry

    rss_start = rss_mb()  # Django, the pipeline and its imports (scipy, ...), no model yet
    model_path = Path(model_path)
    kind = read_metadata(model_path)["representation"]["kind"]
    registry = ModelRegistry(model_path.parent, preferred={kind: model_path.stem}, runtime="auto")
    serving = registry.serving_bundle(kind=kind)
    image = np.random.default_rng(0).integers(0, 256, (serving.image_size,) * 2, dtype=np.uint8)
    label = int(np.argmax(serving.predict_proba(image[None])[0]))
    rss_serving = rss_mb()

    def heat_map(bundle) -> bytes:
        heat, _ = explain.bundle_grad_cam(bundle, image[None], class_index=label)
        return explain.overlay_png(image, heat[0])

    start = time.perf_counter()
    load = registry.explain_bundle if path == "litert" else registry.keras_bundle
    bundle = load(kind=kind)
    heat_map(bundle)
    first = (time.perf_counter() - start) * 1000
    rss_after = rss_mb()
    later = timed(lambda: heat_map(bundle), repeat)
    print(
        json.dumps(
            {
                "serving_runtime": registry.runtimes[model_path],
                "explained_by": "litert" if isinstance(bundle.model, explain.SelfExplaining)
                else "keras",
                "first_heat_map_ms": round(first, 1),
                "later_heat_maps_median_ms": round(statistics.median(later), 1),
                "rss_mb_app_imported": round(rss_start, 1),
                "rss_mb_after_predictions": round(rss_serving, 1),
                "rss_mb_after_first_heat_map": round(rss_after, 1),
                "tensorflow_imported": "tensorflow" in sys.modules,
            }
        )
    )  # fmt: skip


def first_heat_map_figures(model_path: Path, repeat: int) -> dict:
    """``first_heat_map_child`` for both paths, each in its own fresh process."""
    import subprocess

    from ecg.models.registry import ModelRegistry

    paths = ["litert", "keras"] if ModelRegistry.gradcam_is_fresh(model_path) else ["keras"]
    figures = {}
    for path in paths:
        out = subprocess.run(
            [sys.executable, __file__, "--first-heat-map", path, "--model", str(model_path),
             "--repeat", str(repeat)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures[path] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def litert_figures(model_path: Path, model, images, rr, repeat: int) -> dict:
    """LiteRT + NumPy head Grad-CAM of the same images, and its largest difference from Keras.
    Empty when the model has no fresh Grad-CAM export."""
    from ecg.models.lite_runtime import load_gradcam_model
    from ecg.models.registry import ModelRegistry

    if not ModelRegistry.gradcam_is_fresh(model_path):
        return {}
    lite = load_gradcam_model(model_path)

    def one(i=0):
        return lite.grad_cam(images[i : i + 1], rr=None if rr is None else rr[i : i + 1])

    one()
    single = timed(one, repeat)
    batch = timed(lambda: lite.grad_cam(images, rr=rr), 3)
    lite_maps, lite_targets = lite.grad_cam(images, rr=rr)
    keras_maps, keras_targets = explain.grad_cam(model, images, rr=rr)
    return {
        "litert_grad_cam_one_image_median_ms": round(statistics.median(single), 1),
        "litert_grad_cam_per_image_in_batch_256_ms": round(statistics.median(batch) / 256, 2),
        "litert_vs_keras_heat_map_max_abs_diff_256_images": float(
            np.abs(lite_maps - keras_maps).max()
        ),
        "litert_vs_keras_same_classes_256_images": bool(
            np.array_equal(lite_targets, keras_targets)
        ),
    }


def recording_figures(record: str = "119") -> dict:
    """One beat of a 30-minute MIT-BIH record explained the way a recording page does it: the
    whole lead through ``beat_inputs`` (RR features need every beat), then Grad-CAM of one beat.
    Skipped (empty) without the data or a shipped recording model."""
    from ecg.io.records import default_data_dir, load_record
    from ecg.models.bundle import load_bundle
    from ecg.models.registry import ModelRegistry

    data_dir = default_data_dir()
    path = ModelRegistry(ROOT / "models").recording_model_path()
    if data_dir is None or path is None:
        return {}
    paths = [path]
    from ecg.models.lite_runtime import load_gradcam_bundle

    rec = load_record(data_dir, record)
    result = {
        "recording_model": paths[0].name,
        "recording_record": (
            f"MIT-BIH {record}, {rec.duration_s / 60:.0f} min, {len(rec.ann_samples)} annotations"
        ),
    }
    bundles = {"": load_bundle(paths[0])}
    if ModelRegistry.gradcam_is_fresh(paths[0]):
        bundles["_litert"] = load_gradcam_bundle(paths[0])
    for suffix, bundle in bundles.items():
        explain.explain_beats(bundle, rec.signal, rec.fs, rec.ann_samples, [10])  # warm-up
        times = timed(
            lambda b=bundle: explain.explain_beats(b, rec.signal, rec.fs, rec.ann_samples, [500]),
            3,
        )
        result[f"recording_one_beat_heat_map_median_ms{suffix}"] = round(
            statistics.median(times), 1
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    parser.add_argument("--first-heat-map", choices=["litert", "keras"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_heat_map:  # the child process of first_heat_map_figures
        first_heat_map_child(args.model, args.first_heat_map, args.repeat)
        return

    from ecg.models.registry import ModelRegistry

    shipped = [Path(args.model)] if args.model else ModelRegistry(ROOT / "models").model_files()
    # First, before this process imports TensorFlow (the children are separate processes).
    first_heat_map = first_heat_map_figures(shipped[0], args.repeat) if shipped else {}
    load_average = round(os.getloadavg()[0], 2)
    if shipped:
        from ecg.models.bundle import load_bundle

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
    lite = litert_figures(shipped[0], model, images, rr, args.repeat) if shipped else {}
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
        "load_average_1min_at_start": load_average,
        "tensorflow_threads": "default",
        "model": source,
        "grad_cam_first_call_ms": round(first, 1),
        "grad_cam_one_image_median_ms": round(statistics.median(single), 1),
        "grad_cam_per_image_in_batch_256_ms": round(statistics.median(batch) / 256, 2),
        **lite,
        "overlay_png_median_ms": round(statistics.median(png), 2),
        "pdf_build_median_ms": round(statistics.median(pdf), 1),
        "first_heat_map": first_heat_map,
    }
    result = {k: result[k] for k in sorted(result, key=lambda k: k != "measured_at")}
    for key, value in result.items():
        for name, part in value.items() if isinstance(value, dict) else [("", value)]:
            print(f"{key + (' ' + name if name else ''):50s} {part}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
