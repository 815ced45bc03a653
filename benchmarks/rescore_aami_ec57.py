"""Score the stored AAMI figures again as EC57 counts them, from the stored confusion matrices.

    python benchmarks/rescore_aami_ec57.py [--models models] [--dry-run]

Until 2026-12-06 ``aami_metrics`` gave VEB +P as the precision over every beat called V, so a
fusion beat (AAMI F) called V was a false VEB, and SVEB +P counted an unclassifiable beat (Q)
called S. EC57's reference comparator, PhysioNet's ``bxb``, does not: VFP = Nv + Sv (+ Ov +
Xv, beats no reference holds) and SFP = Ns + Vs + Fs (+ Os + Xs). ``ecg.training.aami`` now
counts as ``bxb`` does; this script rewrites the ``aami`` block of every split of every
``models/*.metrics.json`` from its own confusion matrix and per-record confusions
(``aami_from_confusion``: the same function ``aami_metrics`` ends in, so the figures are what
a new evaluation of the same predictions writes), and prints each model's VEB / SVEB +P before
and after. Then the same for the PTB-XL leads study's test run
(``benchmarks/results/ptbxl_leads_study_test.json``: each model's DS2 AAMI block, its headline
VEB / SVEB +P and the members' seed summary) and the file ``models/REPORT.md`` tables from it
(``models/recording_mixed.external.json``). Nothing is predicted again: no model is loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecg.training.aami import aami_from_confusion  # noqa: E402
from ecg.training.report import write_json  # noqa: E402


def rescored(aami: dict) -> dict:
    """``aami`` (a stored block) scored again from its confusions, its other keys kept."""
    fresh = aami_from_confusion(
        aami["confusion_matrix"], aami["classes"], aami.get("per_record_confusion")
    )
    return {**aami, **fresh}


def rescore_leads_study(test_path: Path, external_path: Path, dry_run: bool) -> None:
    """The leads study's test run and the shipped model's external figures, scored again."""
    from ecg.training.mixed_eval import summarise_seeds

    test = json.loads(test_path.read_text())
    for name, model in test["models"].items():
        aami = rescored(model["figures"]["ds2"]["aami"])
        model["figures"]["ds2"]["aami"] = aami
        for code in ("VEB", "SVEB"):
            before = model["headline"][f"DS2 {code} +P"]
            model["headline"][f"DS2 {code} +P"] = aami["summary"][code]["+P"]
            print(f"{test_path.name} {name}: DS2 {code} +P {before:.4f} -> "
                  f"{aami['summary'][code]['+P']:.4f}")  # fmt: skip
    heads = [m["headline"] for n, m in test["models"].items() if n.startswith("candidate member")]
    if heads:
        test["candidate_member_summary"] = summarise_seeds(heads)
    external = json.loads(external_path.read_text())
    if external.get("source") == test_path.relative_to(ROOT).as_posix():
        external["ensemble"] = test["models"]["candidate"]["headline"]
        external["seed_summary"] = test["candidate_member_summary"]
    if not dry_run:
        test_path.write_text(json.dumps(test, indent=1, default=float) + "\n")
        external_path.write_text(
            json.dumps(external, indent=1, sort_keys=True, default=float) + "\n"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(ROOT / "models"))
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    args = parser.parse_args(argv)
    for path in sorted(Path(args.models).glob("*.metrics.json")):
        data = json.loads(path.read_text())
        changed = False
        for split, figures in (data.get("splits") or {}).items():
            if "aami" not in figures:
                continue
            before = figures["aami"]["summary"]
            figures["aami"] = rescored(figures["aami"])
            after = figures["aami"]["summary"]
            changed = True
            cells = [
                f"{code} +P {before[code]['+P']:.4f} -> {after[code]['+P']:.4f}"
                for code in ("VEB", "SVEB")
                if before[code]["+P"] is not None and after[code]["+P"] is not None
            ]
            print(f"{path.name} {split}: " + "; ".join(cells))
        if changed and not args.dry_run:
            write_json(path, data)
    test = ROOT / "benchmarks" / "results" / "ptbxl_leads_study_test.json"
    external = Path(args.models) / "recording_mixed.external.json"
    if test.is_file() and external.is_file():
        rescore_leads_study(test, external, args.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
