"""Memory of parsing a whole CSV or EDF upload: what the upload request holds to check a file.

    python benchmarks/recording_parse_memory.py [--label after] [--hours 24]

Builds synthetic uploads in a temporary folder (deleted afterwards; nothing is committed):

* ``csv_one_lead``: ``--hours`` of one lead at 250 Hz in integer microvolts, one sample a line
  (24 hours: 79.8 MB, within the default ``RECORDING_MAX_BYTES``), sampling rate and units from
  the form;
* ``csv_time_two_leads``: a time column (s) and two leads in mV at 250 Hz, as many hours as fit
  in 100 MB (the sampling rate comes from the time column);
* ``edf_two_leads``: ``--hours`` of two leads at 250 Hz in EDF (int16; 24 hours: 86.4 MB).

Each is parsed by ``parse_upload`` as the upload request does (the file's bytes already in
memory): the numpy/Python heap peak (``tracemalloc``) and the time (a separate, untraced run).
The SHA-256 of the parsed signals shows whether two runs (before / after a change to the parser)
read the same samples. Figures are printed and stored under ``runs[--label]`` in
``benchmarks/results/recording_parse_memory.json``; other labels already there are kept. The
"before" run there was made with ``--label before`` on the parser of the commit it names (read
whole), "after" on the parser that reads in blocks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.io.recording_io import Limits, parse_upload  # noqa: E402
from tests.recordings.synth import edf_bytes, heap_peak, long_ecg  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "recording_parse_memory.json"
CSV_TARGET_BYTES = 100_000_000
WRITE_ROWS = 1 << 20  # rows formatted at a time while writing the CSV files


def leads(fs: float, seconds: float, n_leads: int) -> np.ndarray:
    """``n_leads`` synthetic leads (mV, float32), each its own noise, the second at 0.6 gain."""
    return np.stack([(1.0 if i == 0 else 0.6) * long_ecg(fs, seconds, seed=i)
                     for i in range(n_leads)])  # fmt: skip


def write_csv(path: Path, rows, header: str = "") -> None:
    """``rows(start, stop)`` gives the text of those rows (None past the end); written a block
    at a time."""
    with open(path, "w", encoding="ascii") as handle:
        handle.write(header)
        start = 0
        while (text := rows(start, start + WRITE_ROWS)) is not None:
            handle.write(text)
            start += WRITE_ROWS


def csv_one_lead(folder: Path, hours: float) -> tuple[Path, dict]:
    fs = 250.0
    microvolts = np.round(leads(fs, hours * 3600, 1)[0] * 1000).astype(np.int32)

    def rows(start: int, stop: int) -> str | None:
        block = microvolts[start:stop]
        return "".join(f"{v}\n" for v in block.tolist()) if block.size else None

    path = folder / "holter_uv.csv"
    write_csv(path, rows)
    return path, {"fs": fs, "units": "uV"}


def csv_time_two_leads(folder: Path) -> tuple[Path, dict]:
    fs = 250.0
    row_bytes = len("12345.678,-0.123,0.456\n")  # a typical line
    seconds = CSV_TARGET_BYTES / row_bytes / fs
    signals = leads(fs, seconds, 2)

    def rows(start: int, stop: int) -> str | None:
        block = signals[:, start:stop]
        if not block.shape[1]:
            return None
        times = np.arange(start, start + block.shape[1]) / fs
        columns = zip(times.tolist(), *block.tolist(), strict=True)
        return "".join(f"{t:.3f},{a:.3f},{b:.3f}\n" for t, a, b in columns)

    path = folder / "holter_time.csv"
    write_csv(path, rows, header="time,MLII,V1\n")
    return path, {}


def edf_two_leads(folder: Path, hours: float) -> tuple[Path, dict]:
    fs = 250
    path = folder / "holter.edf"
    path.write_bytes(edf_bytes(leads(fs, hours * 3600, 2), fs, ["MLII", "V1"]))
    return path, {}


def measure(path: Path, options: dict) -> dict:
    content = path.read_bytes()  # as the upload request reads it, before parsing
    files = [(path.name, content)]
    limits = Limits(max_bytes=10**9)  # measure files a little over the default limit too
    start = time.perf_counter()
    recording = parse_upload(files, limits=limits, **options)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(np.ascontiguousarray(recording.signals).tobytes()).hexdigest()
    shape, fs, names = recording.signals.shape, recording.fs, recording.lead_names
    signal_bytes = recording.signals.nbytes
    del recording
    peak, _ = heap_peak(lambda: parse_upload(files, limits=limits, **options))
    return {
        "file_mb": round(len(content) / 1e6, 1),
        "within_default_limit": len(content) <= Limits().max_bytes,
        "hours": round(shape[1] / fs / 3600, 2),
        "fs": fs,
        "leads": names,
        "signal_float32_mb": round(signal_bytes / 1e6, 1),
        "parse_heap_peak_mb": round(peak / 1e6, 1),
        "peak_over_file_size": round(peak / len(content), 2),
        "peak_over_signal_size": round(peak / signal_bytes, 2),
        "parse_s": round(seconds, 2),
        "signals_sha256": digest,
    }


# The parser's files (one before the CSV and EDF readers got modules of their own).
PARSER_MODULES = ("io", "base", "csv", "edf")


def code_version() -> dict:
    """The commit, whether the parser differs from it and its file's hash (read at the start, so
    editing the parser while this runs does not mislabel the run)."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True)  # fmt: skip
    sources = [ROOT / "classifier" / "ml" / f"recording_{m}.py" for m in PARSER_MODULES]
    sources = [s for s in sources if s.is_file()]
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *map(str, sources)], cwd=ROOT)
    digest = hashlib.sha256(b"".join(s.read_bytes() for s in sources)).hexdigest()[:16]
    return {
        "commit": done.stdout.strip(),
        "parser_modified": changed.returncode != 0,
        "parser_sha256": digest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after", help="key of this run in the results file")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    code = code_version()

    files: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="parse-memory-") as tmp:
        folder = Path(tmp)
        builders = {
            "csv_one_lead": lambda: csv_one_lead(folder, args.hours),
            "csv_time_two_leads": lambda: csv_time_two_leads(folder),
            "edf_two_leads": lambda: edf_two_leads(folder, args.hours),
        }
        for key, build in builders.items():
            path, options = build()
            files[key] = measure(path, options)
            path.unlink()
            row = files[key]
            print(
                f"{key}: {row['file_mb']} MB, {row['hours']} h x {len(row['leads'])} lead(s) at "
                f"{row['fs']:g} Hz; heap peak {row['parse_heap_peak_mb']} MB = "
                f"{row['peak_over_file_size']} x the file, {row['peak_over_signal_size']} x the "
                f"float32 signal ({row['signal_float32_mb']} MB); {row['parse_s']} s",
                flush=True,
            )
    run = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "files": files,
    }
    labels = store_run(Path(args.output), args.label, run)
    print(f"written to {args.output} (runs: {', '.join(labels)})")
    return 0


def store_run(out: Path, label: str, run: dict) -> list[str]:
    """Store ``run`` under ``runs[label]``, keeping the other runs; returns the labels."""
    result = json.loads(out.read_text()) if out.is_file() else {}
    result.setdefault("runs", {})[label] = run
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return list(result["runs"])


if __name__ == "__main__":
    raise SystemExit(main())
