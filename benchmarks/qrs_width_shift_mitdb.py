"""How the qrs_bounds change moves the shipped recording model's QRS-width inputs, on MIT-BIH DS1.

The record-context features (``context.record_context_features``) include the QRS width; the
shipped ``recording_spec_ctx`` was trained with the function as it was at commit ``BEFORE``.
This script measures, per MIT-BIH DS1 record (training and validation data only, never DS2) and
per beat symbol, the median width from the old and the current function on the model window,
and the share of zero widths. It explains a change in the shipped model's behaviour; it does not
re-evaluate the model (``python manage.py evaluate_model`` does).

    python benchmarks/qrs_width_shift_mitdb.py   # -> benchmarks/results/qrs_width_shift_mitdb.json
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.dsp.signal import MODEL_FS  # noqa: E402
from ecg.features import context  # noqa: E402
from ecg.features.beats import POST_S, PRE_S, window_bounds  # noqa: E402
from ecg.io.records import resolve_data_dir  # noqa: E402
from ecg.training.dataset import STORE_PRE_S, crop_windows, record_beats  # noqa: E402

BEFORE = "e36b262"  # the last commit with the old qrs_bounds
OUT = ROOT / "benchmarks" / "results" / "qrs_width_shift_mitdb.json"


def old_context():
    """``ecg/features/context.py`` as it was at ``BEFORE``, imported as a separate module."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:ecg/features/context.py"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "context_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("context_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    old = old_context()
    data_dir = resolve_data_dir(None)
    r_index, _ = window_bounds(MODEL_FS, PRE_S, 0.0)
    result: dict = {"before_commit": BEFORE, "model_window_s": [PRE_S, POST_S], "records": {}}
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name in sorted(DS1_RECORDS):
        wide, _, symbols = record_beats(data_dir, name)
        windows = crop_windows(wide, MODEL_FS, STORE_PRE_S, PRE_S, POST_S)
        before = old.qrs_widths(windows, MODEL_FS, r_index)
        after = context.qrs_widths(windows, MODEL_FS, r_index)
        rows = {}
        for symbol in np.unique(symbols):
            m = symbols == symbol
            pooled.setdefault(str(symbol), []).append((before[m], after[m]))
            if m.sum() >= 20:
                rows[str(symbol)] = {
                    "beats": int(m.sum()),
                    "median_ms_before": round(float(np.median(before[m])) * 1000, 1),
                    "median_ms_after": round(float(np.median(after[m])) * 1000, 1),
                    "zero_share_before": round(float((before[m] <= 0).mean()), 4),
                    "zero_share_after": round(float((after[m] <= 0).mean()), 4),
                }
        result["records"][name] = rows
        print(name, {s: (r["median_ms_before"], r["median_ms_after"]) for s, r in rows.items()})
    result["pooled_by_symbol"] = {}
    for symbol, parts in sorted(pooled.items()):
        b = np.concatenate([p[0] for p in parts])
        a = np.concatenate([p[1] for p in parts])
        result["pooled_by_symbol"][symbol] = {
            "beats": int(b.size),
            "median_ms_before": round(float(np.median(b)) * 1000, 1),
            "median_ms_after": round(float(np.median(a)) * 1000, 1),
            "zero_share_before": round(float((b <= 0).mean()), 4),
            "zero_share_after": round(float((a <= 0).mean()), 4),
        }
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["pooled_by_symbol"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
