"""Whole-recording benchmark: speed and memory of one 30-minute record, detector accuracy on all.

    python benchmarks/recording_benchmark.py [--model models/NAME.keras] [--record 100]
                                             [--data-dir ../shared/data/mitdb] [--quick]
                                             [--long-hours 24] [--no-survey] [--threads 2]
                                             [--speed-only --output OTHER.json]
                                             [--precision int8|float32]

Part 1 -- one 30-minute two-lead MIT-BIH record end to end, as the web app runs it: parse the
uploaded bytes (.hea + .dat + .atr), filter, detect, cut and draw the beat images, classify (batch
inference), and store (the compact per-beat arrays written the way the app writes them). Timed
after the model is loaded and warmed up; median of several runs. Target: under 5 s on 2 CPU cores.
The model runs in ``--threads`` one-thread LiteRT interpreters side by side, as the worker's
does (``RECORDING_MODEL_THREADS``, default 2).

With ``--long-hours N`` (24: a Holter recording), also an N-hour two-lead WFDB upload (format
212) built from MIT-BIH records: time and beats/s, and memory where the app spends it -- the
numpy/Python heap peak to parse the upload (the web request), to analyse the stored signal (the
worker), and the peak RSS of a fresh worker process with the model loaded.

Part 2 -- the detector against the reference annotations on every non-paced record (both leads),
sensitivity / positive predictivity (EC57 matching, 150 ms), target >= 99.5 % on average; printed
beside the reference-annotation path (beats cut at the annotated R peaks) so the cost of detection
errors on the class agreement is visible.

Figures are printed and written to ``benchmarks/results/recording_benchmark.json``.

Long on purpose: a self-contained benchmark script whose parts are run by hand.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.classes import PACED_RECORDS, class_codes  # noqa: E402
from ecg.dsp.detection import detect_beats, evaluate_detection  # noqa: E402
from ecg.io.recording_io import Limits, ParsedRecording, parse_upload  # noqa: E402
from ecg.io.records import default_data_dir, list_records  # noqa: E402
from ecg.models.bundle import ModelBundle, load_bundle  # noqa: E402
from ecg.models.lite_runtime import PRECISIONS  # noqa: E402
from ecg.models.registry import SERVED_RECORDING_PRECISION, ModelRegistry  # noqa: E402
from ecg.recording_analysis import (  # noqa: E402
    analyse,
    classify_at,
    limit_malloc_arenas,
    reference_agreement,
)

RESULTS = ROOT / "benchmarks" / "results" / "recording_benchmark.json"
THIRTY_MINUTES_S = 1800.0


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM when there is one: ``getrusage`` keeps the parent's peak across fork and exec,
    so a fresh child process would report its parent's.
    """
    peak = status_mb("VmHWM")
    return peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def find_model(
    explicit: str | None, threads: int = 2, precision: str = SERVED_RECORDING_PRECISION
) -> tuple[ModelBundle, str]:
    """The shipped model with task "recording", or a stand-in CNN when none is shipped yet;
    its LiteRT interpreter with ``threads`` threads (the worker's ``RECORDING_MODEL_THREADS``)
    and its ``precision`` conversion (``RECORDING_MODEL_PRECISION``, the app's int8 default)."""
    options = {"recording_threads": threads, "recording_precision": precision}
    if explicit:
        registry = ModelRegistry(Path(explicit).parent, **options)
        bundle = registry.serving_bundle_at(Path(explicit))
        return bundle, f"given, {registry.runtimes[Path(explicit)]}"
    registry = ModelRegistry(ROOT / "models", **options)
    path = registry.recording_model_path()
    if path is not None:
        bundle = registry.serving_bundle(task="recording")
        return bundle, f"shipped, {registry.runtimes[path]}"
    return stand_in_bundle(), "stand-in (untrained; no models/*.keras with task=recording yet)"


def stand_in_bundle() -> ModelBundle:
    """A CNN of realistic size (3 conv blocks) so inference cost is representative."""
    import keras

    from ecg.models.bundle import save_bundle

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 1), name="image", dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(image)
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    out = keras.layers.Dense(6, activation="softmax")(x)
    metadata = {
        "name": "stand_in_recording",
        "version": "0",
        "classes": class_codes("six"),
        "label_set": "six",
        "representation": {"kind": "beat_image", "params": {"size": 64, "mv_range": [-1.5, 2.5]}},
        "inputs": ["image"],
        "image_size": 64,
        "sampling_rate": 360,
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "task": "recording",
    }
    folder = Path(tempfile.mkdtemp(prefix="stand-in-model-"))
    return load_bundle(save_bundle(keras.Model(image, out), metadata, folder / "stand_in.keras"))


def upload_bytes(data_dir: Path, name: str, seconds: float | None) -> list[tuple[str, bytes]]:
    """The record's files as a browser would upload them (cut to ``seconds`` if given)."""
    if seconds is None:
        return [
            (f"{name}{ext}", (data_dir / f"{name}{ext}").read_bytes())
            for ext in (".hea", ".dat", ".atr")
        ]
    import wfdb

    # Write a shortened copy with wfdb so header, data and annotations stay consistent.
    with tempfile.TemporaryDirectory() as folder:
        fs = wfdb.rdheader(str(data_dir / name)).fs
        samp_to = int(seconds * fs)
        record = wfdb.rdrecord(str(data_dir / name), sampto=samp_to, physical=False)
        record.wrsamp(write_dir=folder)
        ann = wfdb.rdann(str(data_dir / name), "atr", sampto=samp_to - 1)
        wfdb.wrann(name, "atr", ann.sample, symbol=ann.symbol, write_dir=folder)
        return [(p.name, p.read_bytes()) for p in sorted(Path(folder).iterdir())]


def store(analysis, recording, folder: Path) -> None:
    """What the web app stores besides its database rows, as ``recordings.services`` writes it:
    the leads as one float32 ``.npy`` (at upload), the probabilities as a float16 ``.npy`` (after
    the analysis), the summary. Runs before 2026-12-05 wrote a zlib-compressed ``.npz`` here
    instead (about 0.1 s of the 30-minute record's total), which the app no longer does."""
    leads = [recording.signal] + (
        [recording.second_lead] if recording.second_lead is not None else []
    )
    np.save(folder / "signals.npy", np.stack(leads).astype(np.float32), allow_pickle=False)
    buffer = io.BytesIO()
    np.save(buffer, analysis.beats.probabilities.astype(np.float16), allow_pickle=False)
    (folder / "probabilities.npy").write_bytes(buffer.getvalue())
    (folder / "summary.json").write_text(json.dumps(analysis.summary))


def end_to_end(bundle: ModelBundle, files, repeats: int) -> dict:
    def once(trace: bool = False) -> tuple[dict, object]:
        timings: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as folder:
            if trace:
                tracemalloc.start()
            start, cpu_start = time.perf_counter(), time.process_time()
            recording = parse_upload(files)
            timings["parse_s"] = time.perf_counter() - start
            analysis = analyse(recording, bundle)
            timings.update(analysis.timings)
            before_store = time.perf_counter()
            store(analysis, recording, Path(folder))
            timings["store_s"] = time.perf_counter() - before_store
            timings["total_s"] = time.perf_counter() - start
            # CPU seconds of every thread of this process: less sensitive than the wall clock
            # to other processes on the machine; over 2 cores the wall clock is at best half.
            timings["cpu_s"] = time.process_time() - cpu_start
            if trace:
                timings["python_heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
        return timings, (recording, analysis)

    load_before = os.getloadavg()[0]
    once()  # warm-up: first Keras call builds its graph
    runs = [once()[0] for _ in range(repeats)]
    traced, (recording, analysis) = once(trace=True)
    median = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    beats = len(analysis.beats)
    return {
        "record": recording.name,
        "duration_s": recording.duration_s,
        "leads": recording.lead_names,
        "beats_classified": beats,
        "beats_detected": analysis.detected_beats,
        "timings_median_s": {k: round(v, 3) for k, v in median.items()},
        "beats_per_s": round(beats / median["total_s"], 1),
        "numpy_python_heap_peak_mb": round(traced["python_heap_peak_mb"], 1),
        "process_peak_rss_mb": round(rss_mb(), 1),
        "repeats": repeats,
        "target_total_s": 5.0,
        "meets_target": bool(median["total_s"] < 5.0),
        "detection_vs_reference": analysis.detection.as_dict() if analysis.detection else None,
        "load_average_1min_before": round(load_before, 2),
    }


def long_upload(data_dir: Path, hours: float) -> list[tuple[str, bytes]]:
    """A two-lead WFDB upload (format 212, 360 Hz) of ``hours``, made of consecutive MIT-BIH
    records (MLII first), cycling through them again when 22 hours of records run out."""
    import wfdb

    from ecg.io.records import load_record

    names = [n for n in list_records(data_dir) if n not in PACED_RECORDS]
    pieces: list[np.ndarray] = []
    total = 0.0
    for name in itertools.cycle(names):
        first = load_record(data_dir, name, annotations=False)
        other = load_record(
            data_dir, name, lead=1 if first.lead == "MLII" else 0, annotations=False
        )
        pieces.append(np.stack([first.signal, other.signal]))
        total += first.duration_s
        if total >= hours * 3600:
            break
    signals = np.concatenate(pieces, axis=1)[:, : int(hours * 3600 * 360)]
    with tempfile.TemporaryDirectory() as folder:
        wfdb.wrsamp("long", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"],
                    p_signal=signals.T.astype(np.float64), fmt=["212", "212"],
                    adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=folder)  # fmt: skip
        return [(p.name, p.read_bytes()) for p in sorted(Path(folder).iterdir())]


def traced_peak_mb(run) -> tuple[float, object]:
    """(numpy/Python heap peak in MB while ``run()`` runs, its result)."""
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1] / 1e6, result
    finally:
        tracemalloc.stop()


def mapped_recording(path: Path) -> ParsedRecording:
    """A stored signal file as the worker reads it (``services._parsed_from_storage``): mapped,
    analysed lead first."""
    signals = np.load(path, mmap_mode="r", allow_pickle=False)
    return ParsedRecording(name="long", format="wfdb", fs=360.0, lead_names=["MLII", "V1"],
                           signals=signals, lead_index=0, source_files=[])  # fmt: skip


def long_recording(
    bundle: ModelBundle,
    data_dir: Path,
    hours: float,
    model: str | None,
    threads: int,
    precision: str = SERVED_RECORDING_PRECISION,
) -> dict:
    """A long upload analysed as the app does it: the upload request parses it (and stores the
    float32 signal), a worker maps the stored signal and analyses it. Timed once untraced;
    memory in separate passes, since tracemalloc slows every Python allocation (XQRS is Python),
    and as the peak RSS of a fresh worker process."""
    files = long_upload(data_dir, hours)
    size_mb = sum(len(c) for _, c in files) / 1e6
    load_before = os.getloadavg()[0]
    limits = Limits(max_bytes=10**9, max_duration_s=max(hours, 24.0) * 3600)
    start, cpu_start = time.perf_counter(), time.process_time()
    recording = parse_upload(files, limits=limits)
    analysis = analyse(recording, bundle)
    elapsed = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    in_memory_peak, _ = traced_peak_mb(lambda: analyse(parse_upload(files, limits=limits), bundle))
    parse_peak, _ = traced_peak_mb(lambda: parse_upload(files, limits=limits))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signals.npy"
        np.save(path, recording.signals)
        del recording
        worker_peak, mapped = traced_peak_mb(lambda: analyse(mapped_recording(path), bundle))
        if not np.array_equal(mapped.beats.probabilities, analysis.beats.probabilities):
            raise RuntimeError("the mapped signal gave other probabilities than the parsed one")
        process = worker_process(path, model, threads, precision=precision)
        # The same without the worker's cap on malloc arenas: what the cap saves.
        default_arenas = worker_process(path, model, threads, "default", precision)
    beats = len(analysis.beats)
    return {
        "hours": round(analysis.summary["duration_s"] / 3600, 2),
        "upload_mb": round(size_mb, 1),
        "within_default_limit": bool(size_mb * 1e6 <= Limits().max_bytes),
        "beats": beats,
        "total_s": round(elapsed, 2),
        "cpu_s": round(cpu_s, 2),
        "beats_per_s": round(beats / elapsed, 1),
        "numpy_python_heap_peak_mb": round(in_memory_peak, 1),  # parse + analyse, one process
        "upload_parse_heap_peak_mb": round(parse_peak, 1),
        "worker_heap_peak_mb": round(worker_peak, 1),  # analysis of the mapped stored signal
        "worker_process": process,
        "worker_process_default_malloc_arenas": default_arenas,
        "timings_s": {k: round(v, 2) for k, v in analysis.timings.items()},
        "load_average_1min_before": round(load_before, 2),
    }


def worker_process(
    path: Path,
    model: str | None,
    threads: int,
    arenas: str = "capped",
    precision: str = SERVED_RECORDING_PRECISION,
) -> dict:
    """Peak RSS of a fresh process that loads the model and analyses the stored signal."""
    import subprocess

    command = [sys.executable, __file__, "--worker-rss", str(path), "--threads", str(threads),
               "--precision", precision]  # fmt: skip
    command += ["--model", model] if model else []
    env = {**os.environ, "RECORDING_BENCH_ARENAS": arenas}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker_rss(
    path: Path, model: str | None, threads: int, precision: str = SERVED_RECORDING_PRECISION
) -> dict:
    """The body of ``worker_process`` (run with ``--worker-rss``); the malloc arenas capped as
    the worker's task caps them, unless ``RECORDING_BENCH_ARENAS=default``."""
    arenas_capped = False
    if os.environ.get("RECORDING_BENCH_ARENAS") != "default":
        arenas_capped = limit_malloc_arenas()
    bundle, _origin = find_model(model, threads, precision)
    after_load = rss_mb()
    start = time.perf_counter()
    recording = mapped_recording(path)
    beats = len(analyse(recording, bundle).beats)
    return {
        "beats": beats,
        "seconds": round(time.perf_counter() - start, 2),
        "stored_signal_mb": round(path.stat().st_size / 2**20, 1),
        "rss_after_model_load_mb": round(after_load, 1),
        "peak_rss_mb": round(rss_mb(), 1),
        # Resident pages backed by files -- the mapped signal (still open) and the libraries'
        # code -- which the kernel can drop and read again: the rest of the peak is the heap's.
        "file_backed_rss_at_end_mb": round(status_mb("RssFile"), 1),
        "malloc_arenas_capped": arenas_capped,
    }


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MiB (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return 0.0


def app_path(
    bundle: ModelBundle,
    files,
    repeats: int,
    threads: int,
    precision: str = SERVED_RECORDING_PRECISION,
) -> dict:
    """The web app's own path: ``recording_create`` (parse, store signal + row) then the
    django-q2 worker function running ``recording_analyse`` (detect, classify, write every beat
    row and the results file), on a throw-away SQLite database and media folder."""
    import shutil

    work = Path(tempfile.mkdtemp(prefix="recording-bench-"))
    # The app serves the model whose metadata says task "recording": a given image model is
    # installed under that task for this measurement.
    models = work / "models"
    models.mkdir()
    source = Path(bundle.path).with_suffix(".keras")
    shutil.copy(source, models / "bench.keras")
    # same file, so its LiteRT conversions stay fresh
    for suffix in (".tflite", ".tflite.json", ".int8.tflite", ".int8.tflite.json"):
        if source.with_suffix(suffix).is_file():
            shutil.copy(source.with_suffix(suffix), models / f"bench{suffix}")
    (models / "bench.json").write_text(json.dumps(bundle.metadata | {"task": "recording"}))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="ecgsite.settings",
        DJANGO_ENV="test",
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        MEDIA_ROOT=str(work / "media"),
        MODELS_DIR=str(models),
        RECORDING_TASKS_SYNC="true",
        RECORDING_MODEL=bundle.name,
        RECORDING_MODEL_THREADS=str(threads),
        RECORDING_MODEL_PRECISION=precision,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from ecgsite.model_registry import get_model_registry
    from recordings.models import Recording
    from recordings.services import recording_create

    call_command("migrate", verbosity=0)
    get_model_registry().serving_bundle(task="recording")  # loaded now: time the analysis only
    owner = get_user_model().objects.create_user("bench")

    def once() -> float:
        uploads = [SimpleUploadedFile(name, content) for name, content in files]
        start = time.perf_counter()
        recording = recording_create(owner=owner, files=uploads)
        elapsed = time.perf_counter() - start
        recording.refresh_from_db()
        if recording.status != Recording.Status.DONE:
            raise RuntimeError(f"analysis failed: {recording.error}")
        return elapsed

    try:
        once()
        load_before = os.getloadavg()[0]
        times = [once() for _ in range(repeats)]
        beats = Recording.objects.last().beat_count
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = float(np.median(times))
    return {
        "total_s_median": round(total, 3),
        "beats": beats,
        "beats_per_s": round(beats / total, 1),
        "meets_target": bool(total < 5.0),
        "database": "SQLite (throw-away file)",
        "load_average_1min_before": round(load_before, 2),
    }


def detector_survey(bundle: ModelBundle, data_dir: Path, names: list[str]) -> dict:
    rows = []
    for name in names:
        files = upload_bytes(data_dir, name, None)
        recording = parse_upload(files)
        start = time.perf_counter()
        detected = detect_beats(recording.signal, recording.fs, second_lead=recording.second_lead)
        detect_s = time.perf_counter() - start
        primary_only = detect_beats(recording.signal, recording.fs)
        score = evaluate_detection(recording.ann_samples, detected, recording.fs)
        single = evaluate_detection(recording.ann_samples, primary_only, recording.fs)
        label_set_name = str(bundle.metadata.get("label_set", "six"))
        # Detected path: beats at the detector's peaks, scored against matched reference beats.
        via_detector = classify_at(bundle, recording.signal, recording.fs, detected)
        agree_det, _ = reference_agreement(
            via_detector, recording.ann_samples, recording.ann_symbols, recording.fs, label_set_name
        )
        # Reference path: beats cut at the annotated R peaks (what training and the image
        # benchmark see), so every reference beat is classified.
        ref_samples, ref_symbols = recording.ann_samples, recording.ann_symbols
        via_reference = classify_at(bundle, recording.signal, recording.fs, ref_samples)
        agree_ref, _ = reference_agreement(
            via_reference, ref_samples, ref_symbols, recording.fs, label_set_name
        )
        rows.append(
            {
                "record": name,
                "lead": recording.lead,
                "reference_beats": score.reference_beats,
                "sensitivity": round(score.sensitivity, 5),
                "positive_predictivity": round(score.positive_predictivity, 5),
                "false_negatives": score.false_negatives,
                "false_positives": score.false_positives,
                "primary_lead_only": {
                    "sensitivity": round(single.sensitivity, 5),
                    "positive_predictivity": round(single.positive_predictivity, 5),
                },
                "detect_s": round(detect_s, 3),
                "accuracy_detected_path": agree_det["accuracy"],
                "accuracy_reference_path": agree_ref["accuracy"],
                "scored_beats_detected_path": agree_det["scored_beats"],
                "scored_beats_reference_path": agree_ref["scored_beats"],
                "per_class_detected_path": agree_det["per_class"],
                "per_class_reference_path": agree_ref["per_class"],
                "matrix_detected_path": agree_det["matrix"],
                "matrix_reference_path": agree_ref["matrix"],
            }
        )
        print(
            f"  {name} {recording.lead:>5}  Se {score.sensitivity:7.2%}  +P "
            f"{score.positive_predictivity:7.2%}  (primary lead only {single.sensitivity:7.2%} / "
            f"{single.positive_predictivity:7.2%})  accuracy detected {agree_det['accuracy']}"
            f"  reference {agree_ref['accuracy']}",
            flush=True,
        )
    tp = sum(r["reference_beats"] - r["false_negatives"] for r in rows)
    fn = sum(r["false_negatives"] for r in rows)
    fp = sum(r["false_positives"] for r in rows)

    def mean(key, sub=None):
        return round(float(np.mean([(r[sub] if sub else r)[key] for r in rows])), 5)

    classes = list(bundle.classes)
    pooled = {}
    for path in ("detected", "reference"):
        matrix = np.sum([np.array(r[f"matrix_{path}_path"]) for r in rows], axis=0)
        pooled[path] = {
            "matrix": matrix.tolist(),
            "accuracy": round(float(np.trace(matrix) / matrix.sum()), 4),
            "per_class": {
                code: {
                    "reference": int(matrix[i].sum()),
                    "sensitivity": round(float(matrix[i, i] / matrix[i].sum()), 4)
                    if matrix[i].sum()
                    else None,
                    "precision": round(float(matrix[i, i] / matrix[:, i].sum()), 4)
                    if matrix[:, i].sum()
                    else None,
                }
                for i, code in enumerate(classes)
            },
        }
    for row in rows:  # pooled above; per record, the accuracy is enough
        for key in ("per_class_detected_path", "per_class_reference_path",
                    "matrix_detected_path", "matrix_reference_path"):  # fmt: skip
            row.pop(key)
    return {
        "records": len(rows),
        "classes": classes,
        "pooled_agreement": pooled,
        "mean_sensitivity": mean("sensitivity"),
        "mean_positive_predictivity": mean("positive_predictivity"),
        "gross_sensitivity": round(tp / (tp + fn), 5),
        "gross_positive_predictivity": round(tp / (tp + fp), 5),
        "primary_lead_only_mean_sensitivity": mean("sensitivity", "primary_lead_only"),
        "primary_lead_only_mean_positive_predictivity": mean(
            "positive_predictivity", "primary_lead_only"
        ),
        "target": 0.995,
        "mean_accuracy_detected_path": mean("accuracy_detected_path"),
        "mean_accuracy_reference_path": mean("accuracy_reference_path"),
        "per_record": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a models/<name>.keras bundle (default: task=recording)")
    parser.add_argument("--data-dir", default=None, help="MIT-BIH folder (default: shared data)")
    parser.add_argument("--record", default="100", help="record for the end-to-end timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="survey only 5 records")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--long-hours", type=float, default=0.0, help="also analyse a long upload of N hours"
    )
    parser.add_argument(
        "--no-survey",
        action="store_true",
        help="time the 30-minute record only; keep the detector survey already in --output",
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="time the 30-minute record (and --long-hours) only; no detector survey in --output "
        "(e.g. another model's timing in a file of its own)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="LiteRT threads of the model (worker default 2)"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=SERVED_RECORDING_PRECISION,
        help="the recording model's LiteRT conversion (RECORDING_MODEL_PRECISION; app: int8)",
    )
    parser.add_argument("--worker-rss", help=argparse.SUPPRESS)  # see worker_process
    args = parser.parse_args()
    if args.worker_rss:
        print(json.dumps(worker_rss(Path(args.worker_rss), args.model, args.threads,
                                    args.precision)))  # fmt: skip
        return 0

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    if data_dir is None or not data_dir.is_dir():
        print("MIT-BIH not found: pass --data-dir", file=sys.stderr)
        return 2
    start = time.perf_counter()
    bundle, origin = find_model(args.model, args.threads, args.precision)
    load_s = time.perf_counter() - start
    print(f"model {bundle.name} v{bundle.version} ({origin}), loaded in {load_s:.1f} s")
    rss_after_load = rss_mb()

    files = upload_bytes(data_dir, args.record, THIRTY_MINUTES_S)
    e2e = end_to_end(bundle, files, args.repeats)
    if args.threads != 1:
        # The same record with a one-thread interpreter, right after: the threads' own effect.
        single = end_to_end(find_model(args.model, 1, args.precision)[0], files, args.repeats)
        e2e["one_thread"] = {key: single[key] for key in ("timings_median_s", "beats_per_s")} | {
            "load_average_1min_before": single["load_average_1min_before"]
        }
        print(f"  with one LiteRT thread: {single['beats_per_s']:.0f} beats/s")
    t = e2e["timings_median_s"]
    print(
        f"\n30-minute record {e2e['record']} ({e2e['duration_s']:.0f} s, leads "
        f"{', '.join(e2e['leads'])}): {e2e['beats_classified']} beats in {t['total_s']:.2f} s "
        f"(median of {e2e['repeats']}) = {e2e['beats_per_s']:.0f} beats/s; target < 5 s: "
        f"{'met' if e2e['meets_target'] else 'NOT met'}"
    )
    print(
        "  parse {parse_s:.3f}  detect {detect_s:.3f}  images+classify {classify_s:.3f}  "
        "store {store_s:.3f}  (s); CPU time {cpu_s:.3f} s".format(**t)
    )
    print(
        f"  memory: numpy/Python heap peak during one analysis {e2e['numpy_python_heap_peak_mb']}"
        f" MB; process peak RSS {e2e['process_peak_rss_mb']} MB (after model load "
        f"{rss_after_load:.0f} MB)"
    )

    if args.long_hours:
        long = long_recording(
            bundle, data_dir, args.long_hours, args.model, args.threads, args.precision
        )
        worker = long["worker_process"]
        print(
            f"  long upload: {long['hours']} h, {long['upload_mb']} MB, {long['beats']} beats in "
            f"{long['total_s']} s = {long['beats_per_s']:.0f} beats/s; numpy/Python heap peak "
            f"{long['numpy_python_heap_peak_mb']} MB parsed and analysed in one process, "
            f"{long['upload_parse_heap_peak_mb']} MB to parse the upload, "
            f"{long['worker_heap_peak_mb']} MB to analyse the stored signal; a fresh worker "
            f"process peaks at {worker['peak_rss_mb']} MB RSS ({worker['rss_after_model_load_mb']}"
            f" MB after loading the model; {worker['file_backed_rss_at_end_mb']} MB file-backed at"
            f" the end, the {worker['stored_signal_mb']} MB signal file mapped)"
        )
        e2e["long_recording"] = long
    app = app_path(bundle, files, args.repeats, args.threads, args.precision)
    print(
        f"  web app path (recording_create -> django-q2 worker function -> {app['beats']} beat "
        f"rows in {app['database']}): {app['total_s_median']:.2f} s = "
        f"{app['beats_per_s']:.0f} beats/s"
    )
    e2e["app_path"] = app

    out = Path(args.output)
    if args.speed_only:
        survey = None
    elif args.no_survey:
        previous = json.loads(out.read_text()) if out.is_file() else {}
        survey = previous.get("detector_survey")
        if survey is None:
            print("no earlier survey in", out, "- run without --no-survey", file=sys.stderr)
            return 2
        survey["carried_over_from"] = previous.get("created_at")
        print(f"\nDetector survey carried over from the run of {previous.get('created_at')}")
    else:
        names = [n for n in list_records(data_dir) if n not in PACED_RECORDS]
        if args.quick:
            names = names[:5]
        print(f"\nDetector vs reference annotations, {len(names)} non-paced records (150 ms):")
        survey = detector_survey(bundle, data_dir, names)
    if survey is not None:
        print(
            f"\nmean Se {survey['mean_sensitivity']:.2%}  mean +P "
            f"{survey['mean_positive_predictivity']:.2%}  "
            f"(gross {survey['gross_sensitivity']:.2%} /"
            f" {survey['gross_positive_predictivity']:.2%}; primary lead only "
            f"{survey['primary_lead_only_mean_sensitivity']:.2%} / "
            f"{survey['primary_lead_only_mean_positive_predictivity']:.2%}); target >= 99.5 %"
        )
        print(
            f"class agreement with the reference, mean over records: detected beats "
            f"{survey['mean_accuracy_detected_path']:.2%}  vs  beats cut at annotated R peaks "
            f"{survey['mean_accuracy_reference_path']:.2%}"
        )
        if "pooled_agreement" in survey:
            print("pooled over records, per class: sensitivity / precision  detected | reference")
            det = survey["pooled_agreement"]["detected"]["per_class"]
            ref = survey["pooled_agreement"]["reference"]["per_class"]
            for code in survey["classes"]:
                d, r = det[code], ref[code]
                print(
                    f"  {code:>2} ({d['reference']:>6} beats)  {d['sensitivity']} / "
                    f"{d['precision']}  |  {r['sensitivity']} / {r['precision']}"
                )
    result = {
        "model": {
            "name": bundle.name,
            "version": bundle.version,
            "origin": origin,
            "precision": args.precision,
        },  # fmt: skip
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            # Other engineers' jobs share these 2 cores: the 1-, 5- and 15-minute averages.
            "load_averages_at_end": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
        },
        "model_load_s": round(load_s, 2),
        "litert_threads": args.threads,
        "end_to_end_30min": e2e,
        "detector_survey": survey,
        "quick": bool(args.quick),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
