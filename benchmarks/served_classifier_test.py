"""The shipped recording model's test figures as served: the network's probabilities with its
calibration (class prior, then temperature: ``calibration.calibrated_probabilities``) against
the network alone (issues 17, 18). Reported only: nothing here is chosen.

    python benchmarks/served_classifier_test.py

The same test sets, beats and scoring as ``benchmarks/ptbxl_leads_study.py --test`` (the
figures ``models/REPORT.md`` tables as "the recording model on every test set": MIT-BIH DS2's
MLII beat table, PTB-XL fold 10 per trained lead, LUDB lead II at the cardiologists' QRS peaks;
``ptbxl_mixed_eval.test_figures``), run twice on the shipped ``models/recording_mixed.keras``:
once on its own probabilities and once on them calibrated as the app serves them since the
class prior (``calibration_fit.PRIOR_TAU``, chosen on cross-fitted DS1 by
``benchmarks/prior_shift_ds1.py``). The temperature never changes an answer, the prior can.

Writes ``benchmarks/results/served_classifier_test.json`` (every figure) and
``models/recording_mixed.served.json`` (the headline figures, with the model file's hash:
``python manage.py evaluate_model --report-only`` tables them in ``models/REPORT.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ecg.models.bundle import ModelBundle, load_bundle  # noqa: E402
from ecg.models.calibration import calibrated_probabilities  # noqa: E402

MODEL = ROOT / "models" / "recording_mixed.keras"
RESULT = ROOT / "benchmarks" / "results" / "served_classifier_test.json"


class ServedBundle(ModelBundle):
    """The bundle whose probabilities are the served ones (its metadata's calibration)."""

    def predict_proba(self, images: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        raw = super().predict_proba(images, rr)
        return calibrated_probabilities(raw, self.metadata.get("calibration"))


def main() -> int:
    import ptbxl_mixed_eval as ev

    from ecg.io.ludb import default_ludb_dir
    from ecg.io.ptbxl import default_ptbxl_dir
    from ecg.models.bundle import file_sha256
    from ecg.training.mixed_pipeline import SHIPPED_PLAN

    started = time.perf_counter()
    network = load_bundle(MODEL)
    served = ServedBundle(network.model, network.metadata, network.path)
    ds2, tests, ludb, groups = ev.test_sets(
        default_ptbxl_dir(), default_ludb_dir(), leads=SHIPPED_PLAN.ptbxl_leads
    )
    figures: dict[str, Any] = {}
    for name, bundle in (("network", network), ("served", served)):
        print(f"testing the {name} probabilities", flush=True)
        figures[name] = ev.test_figures(bundle, ds2, tests, ludb, groups)
    calibration = network.metadata.get("calibration") or {}
    headline = {name: ev.test_headline(f) for name, f in figures.items()}
    about = (
        "the shipped network on the test sets of ptbxl_leads_study.py --test, its own "
        "probabilities against them calibrated as served (class prior, then temperature); "
        "reported only"
    )
    common = {
        "about": about,
        "source": "benchmarks/served_classifier_test.py",
        "model_sha256": file_sha256(MODEL),
        "calibration": {k: calibration.get(k) for k in ("class_prior", "temperature")},
        "targets": ev.TARGETS,
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULT.write_text(
        json.dumps(
            common
            | {
                "headline": headline,
                "figures": figures,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=1,
            default=float,
        )
        + "\n"  # fmt: skip
    )
    MODEL.with_suffix(".served.json").write_text(
        json.dumps(common | {"headline": headline}, indent=1, default=float) + "\n"
    )
    for name, figures_of in headline.items():
        print(name, json.dumps(figures_of, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
