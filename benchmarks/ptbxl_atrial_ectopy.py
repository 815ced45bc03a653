"""How many PTB-XL records could teach or check premature atrial beats in bundle branch block
(issue 17: the two-lead study's next step). Counts only; nothing is trained or chosen here.

    python benchmarks/ptbxl_atrial_ectopy.py [--data-dir ../shared/data/ptbxl]

The two-lead model called most premature atrial beats of DS2's record 232 (RBBB, 1,382 ``A``
beats conducted with the RBBB shape) ``R``, and its validation set held no RBBB patient with
atrial ectopy (docs/mixed-training.md). The step written down was a validation set built from
PTB-XL records with CRBBB and PAC statements in folds 1-9. PTB-XL labels whole records, so
such a set would label the premature beats of a PAC record ``A`` by their timing. This script
counts the records it could draw on, per split (train folds 1-8, validation fold 9, test fold
10) and per conducted-beat label (``conducted_beat_label`` with the PAC statement itself
ignored, so a normal record with PACs counts as N; ``-``: no label): records with a PAC
statement and no other ectopy or atrial arrhythmia statement (PVC, bigeminy, trigeminy, AF,
flutter, SVT), and their patients.

Writes benchmarks/results/ptbxl_atrial_ectopy.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.io.ptbxl import (  # noqa: E402
    conducted_beat_label,
    default_ptbxl_dir,
    load_ptbxl_table,
    ptbxl_splits,
)
from ecg.training.ptbxl_ectopic import ECTOPY_STATEMENTS  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "ptbxl_atrial_ectopy.json"
# the statements under which an early beat may be other than atrial: the training source's list
OTHER_ECTOPY = ECTOPY_STATEMENTS - {"PAC"}


def atrial_ectopy_counts(table) -> dict[str, dict[str, dict[str, int]]]:
    """Per split and conducted label: PAC records (no other ectopy) and their patients."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for split, rows in ptbxl_splits(table).items():
        records: dict[str, int] = {}
        patients: dict[str, set[int]] = {}
        for codes, patient in zip(rows["scp_codes"], rows["patient_id"], strict=True):
            statements = set(codes)
            if "PAC" not in statements or statements & OTHER_ECTOPY:
                continue
            label = conducted_beat_label(statements - {"PAC"}) or "-"
            records[label] = records.get(label, 0) + 1
            patients.setdefault(label, set()).add(int(patient))
        out[split] = {
            label: {"records": records[label], "patients": len(patients[label])}
            for label in sorted(records)
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_ptbxl_dir())
    args = parser.parse_args()
    if args.data_dir is None:
        sys.exit("PTB-XL not found: pass --data-dir")
    counts = atrial_ectopy_counts(load_ptbxl_table(args.data_dir))
    OUT.write_text(json.dumps({"about": __doc__.split("\n\n")[0], "counts": counts}, indent=2))
    for split, by_label in counts.items():
        print(split, {label: c["records"] for label, c in by_label.items()})
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
