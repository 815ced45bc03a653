"""Issue 20: does the P-wave consistency (atrial activity) separate AF from non-AF windows on DS1?

    python benchmarks/af_atrial_window_ds1.py [--data-dir ../shared/data/mitdb]
        [--cache build/af_records.pkl]

A diagnostic before ``af_atrial_ds1.py``'s selection, on DS1 only (DS2 is not read): the 22
DS1 records as the app analyses them (``af_cosen_ds1.load_rows``: beats, states, usable
intervals; ``--cache`` reuses the pickle), the signal of the app's lead (MLII) read again with
``ecg.io.records.load_record``. Windows of ``AF_WINDOW`` intervals every ``STEP`` intervals,
AF when over half of their span is reference AF, non-AF when none is (the rest left out), as
``af_window_features_ds1.py``. Per window: COSEn (the shipped statistic, ``episodes._af_scores``)
and the P-wave consistency (``ecg.features.af_features.windowed_p_wave``, low when no P wave:
its AUC is of AF having the lower value), with the app's ectopy and unusable intervals left out.
Prints and writes the AUCs, medians and per-record medians to
``benchmarks/results/af_atrial_window_ds1.json``. Nothing is chosen here.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from af_parameters_ptbxl import auc  # noqa: E402
from af_window_features_ds1 import af_share  # noqa: E402

from ecg.classes import DS1_RECORDS  # noqa: E402
from ecg.features import af_features  # noqa: E402
from ecg.features import episodes as rules  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "af_atrial_window_ds1.json"
STEP = 30


def atrial_keep(row: dict[str, Any]) -> np.ndarray:
    """Intervals whose next beat's pre-QRS segment counts: usable, RR 0.2-3 s, not next to a
    classified V or an isolated premature beat (the app's AF ectopy rule, over the record)."""
    rr = np.diff(row["peaks"]) / row["fs"]
    skip = af_features.ectopic_skip(rr, np.asarray(row["labels"]) == "V")
    return np.asarray(row["usable"], dtype=bool) & ~skip & (rr >= 0.2) & (rr <= 3.0)


def with_atrial(row: dict[str, Any], data_dir: Path, name: str) -> dict[str, Any]:
    """``row`` with its per-interval P-wave consistency (``row["atrial"]``), from the signal of
    the lead the app reads (MLII, at the record's own rate)."""
    from ecg.io.records import load_record

    record = load_record(data_dir, name, annotations=False)
    if record.fs != row["fs"]:
        raise SystemExit(f"{name}: {record.fs} Hz read, {row['fs']} Hz analysed")
    atrial = af_features.windowed_p_wave(
        record.signal, row["peaks"], row["fs"], atrial_keep(row), width=rules.AF_WINDOW
    )
    return {**row, "atrial": atrial}


def main() -> None:
    from af_cosen_ds1 import rows_from_command_line

    data_dir, rows = rows_from_command_line(__doc__)
    cosen, atrial, is_af, record_of = [], [], [], []
    started = time.perf_counter()
    for name in DS1_RECORDS:
        row = with_atrial(rows[name], data_dir, name)
        entropy = rules._af_scores(
            row["peaks"], row["labels"], row["fs"], states=None, usable=row["usable"], cosen=True
        )[3]
        times = row["peaks"] / row["fs"]
        n = entropy.size
        for a in range(0, n - rules.AF_WINDOW + 1, STEP):
            share = af_share(times[a], times[a + rules.AF_WINDOW], row["reference"])
            if 0.0 < share <= 0.5:
                continue
            centre = a + rules.AF_WINDOW // 2  # the interval whose window starts at a
            cosen.append(entropy[centre])
            atrial.append(row["atrial"][centre])
            is_af.append(share > 0.5)
            record_of.append(name)
    seconds = time.perf_counter() - started
    cosen_v, atrial_v, labels = np.array(cosen), np.array(atrial), np.array(is_af)
    names = np.array(record_of)

    def describe(v: np.ndarray) -> dict[str, Any]:
        def pct(x: np.ndarray, q: float) -> float | None:
            return round(float(np.nanpercentile(x, q)), 4) if np.isfinite(x).any() else None

        return {
            "median_af": pct(v[labels], 50),
            "median_non_af": pct(v[~labels], 50),
            "p1_non_af": pct(v[~labels], 1),
            "p99_non_af": pct(v[~labels], 99),
            "nan_af": int(np.isnan(v[labels]).sum()),
            "nan_non_af": int(np.isnan(v[~labels]).sum()),
        }

    features = {
        "cosen": {"auc": auc(cosen_v[labels], cosen_v[~labels]), **describe(cosen_v)},
        "p_wave_consistency": {
            "auc_af_lower": auc(-atrial_v[labels], -atrial_v[~labels]),
            **describe(atrial_v),
        },
    }
    # Among the windows COSEn alone cannot place (between its 1st pct. in AF and 99th outside):
    # does the P wave tell them apart?
    lo, hi = np.nanpercentile(cosen_v[labels], 1), np.nanpercentile(cosen_v[~labels], 99)
    grey = (cosen_v >= lo) & (cosen_v <= hi)
    features["p_wave_in_cosen_overlap"] = {
        "cosen_range": [round(float(lo), 3), round(float(hi), 3)],
        "windows_af": int((grey & labels).sum()),
        "windows_non_af": int((grey & ~labels).sum()),
        "auc_af_lower": auc(-atrial_v[grey & labels], -atrial_v[grey & ~labels]),
    }
    per_record = {}
    for name in DS1_RECORDS:
        here = names == name
        per_record[name] = {
            part: round(float(np.nanmedian(atrial_v[here & mask])), 4)
            for part, mask in (("af", labels), ("non_af", ~labels))
            if np.isfinite(atrial_v[here & mask]).any()
        }
    for key, value in features.items():
        print(f"{key:28s} {value}")
    print({k: v for k, v in per_record.items() if v})
    RESULTS.write_text(json.dumps({
        "records": list(DS1_RECORDS),
        "window_intervals": rules.AF_WINDOW,
        "step_intervals": STEP,
        "windows": {"AF": int(labels.sum()), "non_AF": int((~labels).sum())},
        "features": features,
        "p_wave_median_per_record": per_record,
        "seconds_22_records": round(seconds, 1),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=1) + "\n")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
