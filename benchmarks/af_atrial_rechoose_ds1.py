"""Issue 20: re-choose the atrial AF rule's thresholds on DS1 for the shipped model, DS2 reported.

    python benchmarks/af_atrial_rechoose_ds1.py [--data-dir ../shared/data/mitdb] [--cache PATH]

Why: the atrial rule's thresholds (COSEn on -0.8 / off -1.0, P wave present at 0.2) were chosen
on DS1 (``af_atrial_ds1.py``) with the two-lead ensemble, before the four-lead recording model,
the carry rule (``af_carry_ds1.py``) and flutter waves left out (``af_flutter_edges_ds1.py``)
changed which intervals the rule reads. Its chosen point then tied with lower thresholds. DS1
now misses the issue's duration Se target by 0.1 point (89.9 %; ``episodes.json``); a
diagnostic look at DS2 records (210, 219: reference AF whose COSEn dips to -1.0 to -1.1 with a
P-wave consistency of 0.02-0.09) suggested lower thresholds, but DS2 chooses nothing: the same
grid as the first selection is rerun on DS1 alone, with one hysteresis gap more.

RULE (written before any figure of this script existed):

1. Candidates, in this order (the order breaks ties):
   a. the shipped point: ``AF_ATRIAL_COSEN_ON`` -0.8, ``AF_ATRIAL_COSEN_OFF`` -1.0,
      ``AF_P_PRESENT`` 0.2;
   b. every other point of the grid: on in (-0.6, -0.8, -1.0, -1.2, -1.4), off = on - 0.2
      or on - 0.4, P present in (0.1, 0.2, 0.3, 0.4); in that nesting order.
   Everything else as shipped (carry, flutter waves out, window, merge gap, minimum duration,
   edge refinement).
2. Score: the four EC57 AF scores pooled over the 22 DS1 records (AF in 201 and 203), the
   records analysed as the app analyses them (``af_cosen_ds1.load_rows``); the window scores
   and P-wave consistency computed once per record (they do not depend on the thresholds).
3. The best candidate: the best worst of the four scores; ties: the larger sum, then the order.
4. It replaces the shipped point only if its worst DS1 score beats a's by at least ``MARGIN``
   (0.01); else a stays.
5. DS2 (AF in 202, 210, 219, 221, 222) is scored after the choice, for the shipped point, the
   best DS1 point and the chosen one, reported only.

Results go to ``benchmarks/results/af_atrial_rechoose_ds1.json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from af_carry_ds1 import app_episodes, with_app_scores  # noqa: E402
from af_cosen_ds1 import SCORES, pooled_scores, summary, write_selection  # noqa: E402
from af_flutter_edges_ds1 import choose  # noqa: E402

from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.features import episodes as rules  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "af_atrial_rechoose_ds1.json"
MARGIN = 0.01
COSEN_ON = (-0.6, -0.8, -1.0, -1.2, -1.4)
GAPS = (0.2, 0.4)
P_PRESENT = (0.1, 0.2, 0.3, 0.4)
CONSTANTS = ("AF_ATRIAL_COSEN_ON", "AF_ATRIAL_COSEN_OFF", "AF_P_PRESENT")
SHIPPED = {"AF_ATRIAL_COSEN_ON": -0.8, "AF_ATRIAL_COSEN_OFF": -1.0, "AF_P_PRESENT": 0.2}


def candidates() -> list[dict[str, float]]:
    """Rule 1's candidates in order: the shipped point, then the grid without it."""
    out = [dict(SHIPPED)]
    for on in COSEN_ON:
        for gap in GAPS:
            for p in P_PRESENT:
                point = {"AF_ATRIAL_COSEN_ON": on, "AF_ATRIAL_COSEN_OFF": round(on - gap, 4),
                         "AF_P_PRESENT": p}  # fmt: skip
                if point != SHIPPED:
                    out.append(point)
    return out


def evaluate(rows: dict[str, dict[str, Any]], point: dict[str, float]) -> dict[str, Any]:
    """Pooled EC57 AF scores of ``point`` over ``rows`` (module constants set for the call, then
    restored), each record shifted so none overlap."""
    saved = {name: getattr(rules, name) for name in CONSTANTS}
    try:
        for name in CONSTANTS:
            setattr(rules, name, point[name])
        return pooled_scores(rows, app_episodes)
    finally:
        for name, value in saved.items():
            setattr(rules, name, value)


def main() -> None:
    from af_cosen_ds1 import rows_from_command_line

    started = time.perf_counter()
    data_dir, rows = rows_from_command_line(__doc__)
    # the window scores and P-wave consistency once per record: the thresholds do not move them
    rows = {name: with_app_scores(row, data_dir, name) for name, row in rows.items()}
    ds1 = {name: rows[name] for name in DS1_RECORDS}
    results = [{"point": point, "ds1": evaluate(ds1, point)} for point in candidates()]
    summaries = [summary(r["ds1"]) for r in results]
    best, replaces = choose(summaries, margin=MARGIN)
    chosen = best if replaces else 0
    # Rule 5: DS2 only now, after the choice.
    ds2 = {name: rows[name] for name in DS2_RECORDS}
    for index in sorted({0, best, chosen}):
        results[index]["ds2"] = evaluate(ds2, results[index]["point"])
    for label, index in (("shipped", 0), ("best on DS1", best), ("chosen", chosen)):
        r = results[index]
        print(f"{label:12s} {r['point']}")
        for part in ("ds1", "ds2"):
            print(f"  {part}: " + " ".join(f"{r[part][k]}" for k in SCORES))
    print(f"replaces the shipped point: {replaces}")
    write_selection(
        RESULTS,
        __doc__,
        started,
        {
            "margin": MARGIN,
            "shipped": results[0],
            "best_ds1": results[best],
            "replaces_shipped": replaces,
            "chosen": results[chosen]["point"],
            "ranked_ds1": sorted(
                (
                    {"point": r["point"], "worst": round(s[0], 4), "sum": round(s[1], 4)}
                    for r, s in zip(results, summaries, strict=True)
                ),
                key=lambda r: (-r["worst"], -r["sum"]),
            ),  # fmt: skip
        },
    )


if __name__ == "__main__":
    main()
