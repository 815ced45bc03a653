"""Issue 20, point 3: RR intervals of PTB-XL's AF and non-AF records, for the AF feature study.

    python benchmarks/af_ptbxl_rr.py [--data-dir ../shared/data/ptbxl]

For every record whose statements hold AFIB (AF) or, without AFIB / AFLT, one of SR, SARRH,
STACH, SBRAD (non-AF), beats are detected as the app detects a 100 Hz upload
(``ecg.dsp.detection.detect_beats``: lead II, lead V5 as the second lead, searched at 360 Hz);
the peaks are kept at 360 Hz (the upsampled search's own samples) so the RR intervals have the
resolution MIT-BIH's have, not PTB-XL's 10 ms. Writes ``build/af_ptbxl_rr.npz`` (ignored by
git): per record its ecg_id, fold, group and RR intervals (s). Reads every fold; which folds
choose and which test is ``af_parameters_ptbxl.py``'s business.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.dsp.detection import DETECTION_FS, DetectionError, detect_beats  # noqa: E402
from ecg.dsp.signal import resample  # noqa: E402
from ecg.io.ptbxl import default_ptbxl_dir, load_ptbxl_record, load_ptbxl_table  # noqa: E402

CACHE = ROOT / "build" / "af_ptbxl_rr.npz"
# Non-AF groups, first match wins: the hard negatives before plain sinus rhythm.
NON_AF_GROUPS = ("PVC", "PAC", "SARRH", "STACH", "SBRAD", "SR")


def record_group(codes: dict) -> str | None:
    """AF, a non-AF group (``NON_AF_GROUPS``) or None (neither: left out)."""
    if "AFIB" in codes:
        return "AF"
    if "AFLT" in codes:
        return None  # flutter is regular: neither a positive nor a fair negative
    rhythm = {"SR", "SARRH", "STACH", "SBRAD"} & set(codes)
    if not rhythm:
        return None
    return next(group for group in NON_AF_GROUPS if group in codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else default_ptbxl_dir()
    if data_dir is None or not data_dir.is_dir():
        sys.exit("PTB-XL not found (../shared/data/ptbxl or --data-dir)")
    table = load_ptbxl_table(data_dir)
    ids, folds, groups, rrs = [], [], [], []
    started = time.perf_counter()
    for n, (ecg_id, row) in enumerate(table.iterrows()):
        group = record_group(row["scp_codes"])
        if group is None:
            continue
        lead = load_ptbxl_record(data_dir, int(ecg_id))
        second = load_ptbxl_record(data_dir, int(ecg_id), lead="V5")
        try:
            peaks = detect_beats(
                resample(lead.signal, lead.fs, DETECTION_FS),
                DETECTION_FS,
                second_lead=resample(second.signal, second.fs, DETECTION_FS),
            )
        except DetectionError:
            continue
        ids.append(int(ecg_id))
        folds.append(int(row["strat_fold"]))
        groups.append(group)
        rrs.append(np.diff(peaks) / DETECTION_FS)
        if n % 2000 == 0:
            print(f"{n} rows, {len(ids)} kept, {time.perf_counter() - started:.0f} s", flush=True)
    lengths = np.array([r.size for r in rrs])
    np.savez_compressed(
        CACHE,
        ecg_id=np.array(ids),
        fold=np.array(folds),
        group=np.array(groups),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        rr=np.concatenate(rrs),
    )
    print(f"{len(ids)} records written to {CACHE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
