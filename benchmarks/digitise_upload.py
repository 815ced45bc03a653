"""Benchmark: one digitised-image upload through the real Django view (issue 19).

    python benchmarks/digitise_upload.py [--n 30] [--models-dir models] [--tiny] [--out FILE]

What is timed: a logged-in POST of one image to ``/predictions/new/`` ("detect
automatically") through the middleware, the form, the own-format checks, ``check_ecg_image``
(digitising), the beat window redrawn as the app's beat image, the model, the file write and
the row, until the redirect -- after the model is loaded (one untimed warm-up per image).
Three images: a matplotlib plot of one beat (axes, ticks, blue line), the same beat on ECG
paper as a JPEG (grid scale read), and the app's own 64x64 beat image (the fast path, for
comparison). A MIT-BIH record-100 beat when the data is present, else a synthetic beat. Scratch
SQLite database and MEDIA_ROOT. Writes ``benchmarks/results/digitise_upload.json``: run it on an
idle machine (the file's ``load_average_1min``); on a busy one, write elsewhere with ``--out``
(e.g. ``benchmarks/results/digitise_upload_busy.json``) and keep the idle figures.
The LiteRT exports are git-ignored: in a fresh worktree pass ``--models-dir`` a models folder
that has them, else Keras serves the model (the file's ``runtime`` says which).

Target (issue 19): p50 <= 100 ms including digitisation on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.django_scratch import (  # noqa: E402
    beat_image_models,
    migrated_client,
    scratch_django,
)

RESULTS = ROOT / "benchmarks" / "results" / "digitise_upload.json"
TARGET_P50_MS = 100.0
FS = 360.0


def source_beat():
    """A 0.7-s beat window in mV: MIT-BIH record 100 (beat 11) if present, else synthetic."""
    import numpy as np

    from ecg.dsp.signal import prepare_signal
    from ecg.features.beats import beat_annotations, extract_windows
    from ecg.io.records import default_data_dir, load_record

    data_dir = default_data_dir()
    if data_dir is not None and (data_dir / "100.hea").is_file():
        record = load_record(data_dir, "100")
        signal = prepare_signal(record.signal, record.fs, FS)
        peaks, _ = beat_annotations(record.ann_samples, record.ann_symbols)
        peaks = np.round(peaks[10:11] * FS / record.fs).astype(np.int64)
        windows, _ = extract_windows(signal, peaks, FS, pre_s=0.25, post_s=0.45)
        return windows[0], "MIT-BIH record 100, beat 11"
    from tests.factories import synthetic_beat

    return synthetic_beat(0), "synthetic beat (MIT-BIH not found)"


def encoded(image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=30, help="timed uploads per image (default 30)")
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--tiny", action="store_true", help="use a tiny test model")
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON file")
    parser.add_argument("--out", default=str(RESULTS), help="the JSON file to write")
    args = parser.parse_args()

    work = scratch_django("digitise-bench-")
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from PIL import Image

    from benchmarks import digitise_renderers as R
    from classifier.models import Prediction
    from ecg.imaging.representations import render
    from ecgsite.model_registry import get_model_registry

    models_dir = beat_image_models(Path(args.models_dir), work, tiny=args.tiny)
    tiny = models_dir != Path(args.models_dir)
    client = migrated_client(models_dir)
    registry = get_model_registry()
    registry.warm_up()
    bundle = registry.serving_bundle(kind="beat_image")
    params = (bundle.metadata.get("representation") or {}).get("params") or {}

    beat, source = source_beat()
    own = render("beat_image", beat[None], FS, params)[0]
    images = {
        "matplotlib_plot_png": ("plot.png", encoded(R.mpl_plot(beat, FS).image, "PNG")),
        "ecg_paper_jpeg": ("paper.jpg", encoded(R.jpeg(R.ecg_paper(beat, FS)).image, "JPEG")),
        "own_format_png": ("beat.png", encoded(Image.fromarray(own), "PNG")),
    }
    url = reverse("classifier:upload")

    def upload(name: str, data: bytes) -> tuple[float, float]:
        file = SimpleUploadedFile(name, data, content_type="image/png")
        start, cpu_start = time.perf_counter(), time.process_time()
        response = client.post(url, {"images": file, "image_type": "auto"})
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        assert response.status_code == 302, response.content[:2000]
        return elapsed * 1000, cpu * 1000

    runs = {}
    for key, (name, data) in images.items():
        upload(name, data)  # warm-up
        latest = Prediction.objects.order_by("-id").first()
        measured = [upload(name, data) for _ in range(args.n)]
        times = [m[0] for m in measured]
        runs[key] = {
            "p50_ms": round(statistics.median(times), 1),
            "p90_ms": round(statistics.quantiles(times, n=10)[8], 1),
            "cpu_p50_ms": round(statistics.median(m[1] for m in measured), 1),
            "bytes": len(data),
            "source": latest.source,
            "scale_source": latest.scale_source,
            "state": latest.state,
            "label": latest.shown_label,
        }
    result = {
        "what": "one image upload through the real view (POST -> digitised/classified -> 302)",
        "n_per_image": args.n,
        "target_p50_ms": TARGET_P50_MS,
        "runs": runs,
        "model_used": f"{bundle.name} v{bundle.version}",
        "runtime": sorted(set(registry.runtimes.values())),
        "tiny_test_model": tiny,
        "beat": source,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    for key, run in runs.items():
        verdict = "OK" if run["p50_ms"] <= TARGET_P50_MS else "OVER"
        print(f"{key}: p50 {run['p50_ms']} ms (CPU {run['cpu_p50_ms']} ms) {verdict}")
    if not args.no_write:
        out = Path(args.out).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(f"written to {out}")


if __name__ == "__main__":
    main()
