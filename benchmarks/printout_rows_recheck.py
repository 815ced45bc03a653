"""Issue 19: printouts without a rhythm strip read as a recording, before and after the rows'
lead changes are looked for again (``ecg.imaging.layout.RECHECK_ROWS``).

    python benchmarks/printout_rows_recheck.py

The image property tests pinned it: on 3x4 and 6x2 pages of one synthetic lead drawn in every
place (``tests/hostile``'s ``long_ecg``, no database), the separator mark between two leads
stands beside a QRS in every row at once (the leads are simultaneous), ``separator_marks``
misses it, every row passes for one lead, and the bottom row, two or four leads stitched into
one, was read as a recording. This sweep is that test's: 3x4 and 6x2 pages without a rhythm
strip, RR 0.4-1.3 s in steps of 0.1 s, 5 and 8 px/mm, with and without lead names (80 pages:
each must be refused); and, for what the change may cost, 3x4+rhythm pages over the same
sweep (40 pages: the rhythm strip must be read, at 10 s). Synthetic pages only: the layout
benchmark (``digitise_layout.py``, attempt 7) judges the change on real leads.
Writes ``benchmarks/results/printout_rows_recheck.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecgsite.settings")

RR_S = tuple(round(0.4 + 0.1 * k, 1) for k in range(10))
PX_PER_MM = (5.0, 8.0)


def _outcome(layout: str, rr_s: float, px_per_mm: float, labels: bool) -> str:
    """ "refused", or "read <seconds>" for a recording made from the page."""
    from benchmarks.printout_renderers import TWELVE_LEADS, multi_lead_paper
    from ecg.io.recording_base import RecordingFormatError
    from ecg.io.recording_image import parse_image
    from tests.hostile.test_image_properties import FS, encoded, long_ecg

    leads = {name: long_ecg(FS, 10.0, rr_s=rr_s) for name in TWELVE_LEADS}
    drawn = multi_lead_paper(leads, FS, layout, px_per_mm=px_per_mm, labels=labels)
    try:
        recording = parse_image("printout.png", encoded(drawn.image))
    except RecordingFormatError:
        return "refused"
    return f"read {recording.signals.shape[1] / recording.fs:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks/results/printout_rows_recheck.json")
    )
    args = parser.parse_args(argv)
    import django

    django.setup()
    import ecg.imaging.layout as layout

    pages = [(lay, rr, px, labels) for lay in ("3x4", "6x2", "3x4+rhythm") for rr in RR_S
             for px in PX_PER_MM for labels in (False, True)
             if not (lay == "3x4+rhythm" and labels)]  # fmt: skip
    rows, summary = [], {}
    for arm, recheck in (("before", False), ("after", True)):
        layout.RECHECK_ROWS = recheck
        for lay, rr, px, labels in pages:
            outcome = _outcome(lay, rr, px, labels)
            rows.append({"arm": arm, "layout": lay, "rr_s": rr, "px_per_mm": px,
                         "labels": labels, "outcome": outcome})  # fmt: skip
    layout.RECHECK_ROWS = True
    for arm in ("before", "after"):
        mine = [r for r in rows if r["arm"] == arm]
        without = [r for r in mine if r["layout"] != "3x4+rhythm"]
        rhythm = [r for r in mine if r["layout"] == "3x4+rhythm"]
        summary[arm] = {
            "without_rhythm_strip_read": sum(r["outcome"] != "refused" for r in without),
            "without_rhythm_strip_pages": len(without),
            "without_by_labels": {
                str(lab): sum(r["outcome"] != "refused" for r in without if r["labels"] == lab)
                for lab in (False, True)
            },
            "rhythm_strip_read_at_10_s": sum(
                r["outcome"].startswith("read") and abs(float(r["outcome"].split()[1]) - 10) < 0.3
                for r in rhythm
            ),
            "rhythm_pages": len(rhythm),
        }
    out = {
        "description": __doc__.split("\n\n")[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sweep": {"rr_s": RR_S, "px_per_mm": PX_PER_MM, "seed": "long_ecg's default"},
        "summary": summary,
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
