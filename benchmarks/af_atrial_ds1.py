"""Issue 20: COSEn with an atrial feature (P-wave consistency), chosen on DS1, DS2 reported.

    python benchmarks/af_atrial_ds1.py [--data-dir ../shared/data/mitdb] [--cache PATH]

The 44 MIT-BIH records (DS1 and DS2) as the app analyses them (``af_cosen_ds1.load_rows``;
``--cache`` reuses its pickle), each record's AF window scores computed once
(``episodes._af_scores`` with COSEn, as ``af_cosen_ds1.py``) plus the P-wave consistency of the
same 90-interval windows (``af_atrial_window_ds1.with_atrial``:
``ecg.features.af_features.windowed_p_wave`` on the MLII signal, the app's ectopy and unusable
intervals left out; near 1 with a P wave before every beat, about 1 / beats without). Every
candidate runs the shipped episode logic (``episodes.af_episodes_from_scores``: hysteresis,
``AF_MERGE_S``, ``AF_MIN_S``, edge refinement), its window flags replaced by the candidate's.

The rule, written before any figure of this script was looked at (the window diagnostic,
``af_atrial_window_ds1.py``, DS1 only, was run first: P-wave AUC 0.9945, AF median 0.028,
non-AF median 0.87, non-AF 1st percentile 0.08):

1. Candidates, in this order (the order breaks ties). "P absent" is P < p; a window whose P
   cannot be measured (NaN: under 20 usable beats) is neither absent nor present. Every COSEn
   threshold pair has off = on - 0.2 (the shipped gap).
   a. the shipped COSEn rule (on -0.6, off -0.8): the incumbent;
   b. "or": the shipped rule, OR COSEn above a lower ``low`` (off ``low`` - 0.2) with P absent:
      ``low`` in -0.8, -1.0, -1.2, -1.4, -1.6; p in 0.1, 0.2, 0.3, 0.4 (20);
   c. "veto": COSEn above ``on`` (off ``on`` - 0.2) unless P is present (P >= p; NaN does not
      veto): ``on`` in -0.6, -0.8, -1.0, -1.2, -1.4; p as in b. (20);
   d. "P alone": P absent starts and keeps an episode, no RR feature: p as in b. (4).
   Window, ectopy, minimum share, merge gap, minimum duration and edge refinement as shipped.
2. Score: the four EC57 AF scores pooled over the 22 DS1 records (AF in 201 and 203).
3. Best: the best worst of the four; ties: the larger sum, then the candidate order.
4. It replaces the incumbent only if its worst DS1 score beats the incumbent's by at least
   ``MARGIN`` (0.01); else the incumbent stays and nothing is shipped.
5. DS2 (AF in 202, 210, 219, 221, 222) is scored after the choice, for the
   incumbent, the chosen candidate and each family's best, with the P-wave medians per DS2
   record inside and outside reference AF (reported only, never used to choose).

Results go to ``benchmarks/results/af_atrial_ds1.json``.
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

from af_cosen_ds1 import SCORES, pooled_scores, summary, with_scores  # noqa: E402

from ecg.classes import DS1_RECORDS, DS2_RECORDS  # noqa: E402
from ecg.features import episodes as rules  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "af_atrial_ds1.json"
MARGIN = 0.01
SHIPPED_ON, GAP = -0.6, 0.2
LOW_ON = (-0.8, -1.0, -1.2, -1.4, -1.6)
VETO_ON = (-0.6, -0.8, -1.0, -1.2, -1.4)
P_ABSENT = (0.1, 0.2, 0.3, 0.4)


def candidates() -> list[dict[str, Any]]:
    """Every candidate in the rule's order (1.)."""
    out: list[dict[str, Any]] = [{"family": "shipped", "on": SHIPPED_ON, "low": None, "p": None}]
    out += [
        {"family": "or", "on": SHIPPED_ON, "low": low, "p": p} for low in LOW_ON for p in P_ABSENT
    ]
    out += [{"family": "veto", "on": on, "low": None, "p": p} for on in VETO_ON for p in P_ABSENT]
    out += [{"family": "p_alone", "on": None, "low": None, "p": p} for p in P_ABSENT]
    return out


def flags(
    point: dict[str, Any], score: np.ndarray, entropy: np.ndarray, atrial: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per interval, whether ``point``'s rule lets the window start an episode and keep one
    going (NaN compares False throughout). The P wave counts only where the app's window has a
    score (``score``, the irregularity: inside an unbroken usable stretch of at least a window,
    enough intervals left), as COSEn does; elsewhere it is NaN."""
    atrial = np.where(np.isfinite(score), atrial, np.nan)
    with np.errstate(invalid="ignore"):
        family, on, low, p = point["family"], point["on"], point["low"], point["p"]
        if family == "p_alone":
            absent = atrial < p
            return absent, absent
        start, stay = entropy > on, entropy > on - GAP
        if family == "or":
            absent = atrial < p
            start = start | ((entropy > low) & absent)
            stay = stay | ((entropy > low - GAP) & absent)
        elif family == "veto":
            present = atrial >= p
            start, stay = start & ~present, stay & ~present
        return start, stay


def evaluate(rows: dict[str, dict[str, Any]], point: dict[str, Any]) -> dict[str, Any]:
    """Pooled EC57 AF scores of ``point`` over ``rows``; the module's window flags replaced for
    the call (then restored); each record shifted so none overlap."""
    saved = rules.af_window_flags
    try:

        def episodes_of(row: dict[str, Any]) -> list[rules.Episode]:
            rules.af_window_flags = lambda score, entropy, atrial=None: flags(
                point, score, entropy, row["atrial"]
            )
            return rules.af_episodes_from_scores(
                row["peaks"], row["fs"], row["scores"], usable=row["usable"]
            )

        return pooled_scores(rows, episodes_of)
    finally:
        rules.af_window_flags = saved


def choose(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Rules 3 and 4 (the incumbent first in ``results``)."""
    ranked = sorted(
        range(len(results)),
        key=lambda i: (-summary(results[i]["scores"])[0], -summary(results[i]["scores"])[1], i),
    )
    best = results[ranked[0]]
    best_worst, shipped_worst = summary(best["scores"])[0], summary(results[0]["scores"])[0]
    replaces = bool(best is not results[0] and best_worst >= shipped_worst + MARGIN - 1e-12)
    return {"best": best, "replaces_shipped": replaces, "ranked": [results[i] for i in ranked]}


def p_wave_medians(row: dict[str, Any]) -> dict[str, float | None]:
    """The P-wave consistency's median over the intervals inside / outside reference AF."""
    times = row["peaks"][1:] / row["fs"]
    inside = np.zeros(times.size, dtype=bool)
    for s, e in row["reference"]:
        inside |= (times >= s) & (times < e)
    out: dict[str, float | None] = {}
    for part, mask in (("af", inside), ("non_af", ~inside)):
        v = row["atrial"][mask]
        out[part] = round(float(np.nanmedian(v)), 4) if np.isfinite(v).any() else None
    return out


def main() -> None:
    from af_atrial_window_ds1 import with_atrial
    from af_cosen_ds1 import rows_from_command_line

    data_dir, rows = rows_from_command_line(__doc__)
    started = time.perf_counter()
    rows = {name: with_atrial(with_scores(row), data_dir, name) for name, row in rows.items()}
    score_s = time.perf_counter() - started
    ds1 = {name: rows[name] for name in DS1_RECORDS}
    results = [{"point": point, "scores": evaluate(ds1, point)} for point in candidates()]
    decision = choose(results)
    # Rule 5: DS2 only now, after the choice.
    ds2 = {name: rows[name] for name in DS2_RECORDS}
    family_best: dict[str, dict[str, Any]] = {}
    for row in decision["ranked"]:
        family_best.setdefault(row["point"]["family"], row)
    reported = {
        "shipped": results[0],
        "chosen_on_ds1": decision["best"],
        **{f"best_{family}": row for family, row in family_best.items()},
    }
    report = {
        key: {"point": row["point"], "ds1": row["scores"], "ds2": evaluate(ds2, row["point"])}
        for key, row in reported.items()
    }
    for key, row in report.items():
        print(f"{key:20s} {row['point']}")
        for part in ("ds1", "ds2"):
            print(f"   {part}: " + " ".join(f"{row[part][k]}" for k in SCORES))
    print(f"replaces the shipped detector: {decision['replaces_shipped']}")
    medians = {name: p_wave_medians(rows[name]) for name in (*DS1_RECORDS, *DS2_RECORDS)}
    RESULTS.write_text(json.dumps({
        "rule": __doc__.split("was looked at (the window diagnostic")[1]
        .split("\n\nResults go to")[0],
        "records": {"ds1": list(DS1_RECORDS), "ds2": list(DS2_RECORDS)},
        "candidates": len(results),
        "replaces_shipped": decision["replaces_shipped"],
        "margin": MARGIN,
        "report": report,
        "top_ds1": [{"point": r["point"], "worst": float(summary(r["scores"])[0]),
                     "sum": round(float(summary(r["scores"])[1]), 4)}
                    for r in decision["ranked"][:10]],
        "p_wave_median_per_record": medians,
        "window_scores_seconds_44_records": round(score_s, 1),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=1) + "\n")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
