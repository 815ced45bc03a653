"""``python manage.py train_mixed``: the shipped mixed-data recording model built end to end
(``ecg/training/mixed_pipeline.py``). On synthetic MIT-BIH-like and PTB-XL-like folders the
quick path runs in seconds; on the real data it is skipped unless the data are there."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from django.core.management import call_command
from django.core.management.base import CommandError

from ecg.io.ptbxl import SHARED_PTBXL
from ecg.models.bundle import load_bundle
from ecg.models.registry import ModelRegistry
from ecg.training import mixed_pipeline
from ecg.training.mixed import sample_records
from tests.ml.synthetic_qrs import lead_with_beats

from .conftest import FS, synthetic_ecg


def write_mitdb(root: Path) -> Path:
    """The quick run's MIT-BIH records (synthetic N / V beats), MLII and V1 each."""
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(mixed_pipeline.QUICK.mitdb_records):
        sig, peaks, symbols = synthetic_ecg(40, seed=i)
        signal = np.stack([sig, -0.6 * sig], axis=1)
        wfdb.wrsamp(name, fs=FS, units=["mV"] * 2, sig_name=["MLII", "V1"], p_signal=signal,
                    fmt=["16"] * 2, write_dir=str(root))  # fmt: skip
        wfdb.wrann(name, "atr", peaks, list(symbols), write_dir=str(root))
    (root / "RECORDS").write_text("\n".join(mixed_pipeline.QUICK.mitdb_records) + "\n")
    return root


def write_ptbxl(root: Path) -> Path:
    """A tiny PTB-XL-like folder: NORM, CLBBB, CRBBB records in folds 1-8 and in fold 9."""
    shapes = {"NORM": "narrow", "CLBBB": "wide_lbbb", "CRBBB": "rsr_rbbb"}
    rows, ecg_id = [], 0
    for fold in (1, 2, 9):
        for code, shape in shapes.items():
            ecg_id += 1
            folder = root / "records100" / "00000"
            folder.mkdir(parents=True, exist_ok=True)
            lead = lead_with_beats([(t, shape) for t in np.arange(0.6, 9.4, 0.8)], fs=100.0,
                                   seed=ecg_id)  # fmt: skip
            signal = np.stack([lead, 0.5 * lead, lead, lead], axis=1).astype(np.float64)
            wfdb.wrsamp(f"{ecg_id:05d}_lr", fs=100, units=["mV"] * 4,
                        sig_name=["II", "III", "V1", "V5"], p_signal=signal, fmt=["16"] * 4,
                        write_dir=str(folder))  # fmt: skip
            rows.append({"ecg_id": ecg_id, "patient_id": float(100 + ecg_id),
                         "scp_codes": repr({code: 100.0}), "strat_fold": fold,
                         "filename_lr": f"records100/00000/{ecg_id:05d}_lr"})  # fmt: skip
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    return root


def test_quick_run_builds_a_calibrated_bundle_and_leaves_models_alone(tmp_path, settings):
    mitdb, ptbxl = write_mitdb(tmp_path / "mitdb"), write_ptbxl(tmp_path / "ptbxl")
    models = tmp_path / "models"
    models.mkdir()
    settings.MODELS_DIR = models
    out = tmp_path / "out"
    call_command(
        "train_mixed", "--quick", "--epochs", "1", data_dir=str(mitdb), ptbxl_dir=str(ptbxl),
        out=str(out), models_dir=str(models),
    )  # fmt: skip
    bundle = load_bundle(out / "recording_mixed.keras")
    meta = bundle.metadata
    assert meta["name"] == "recording_mixed" and meta["leads"] == ["MLII", "II", "III", "V1", "V5"]
    assert meta["inputs"] == ["image", "rr"] and meta["rhythm_features"] == "rr+record_context_v2"
    assert meta["training"]["ensemble"]["seeds"] == [0]
    cal = meta["calibration"]
    assert cal["rule"] in ("none", "pooled_nll", "median_patient_nll")
    assert 0 < cal["uncertain_below"] <= 1 and cal["temperature"] > 0
    # fitted as the shipped one was: the MIT-BIH validation records and PTB-XL fold 9 (3 records)
    assert "records 106, 124" in cal["fitted_on"] and "PTB-XL fold 9" in cal["fitted_on"]
    # the class prior of the MIT-BIH training beats, served before the temperature
    prior = cal["class_prior"]
    assert prior["tau"] == 0.3 and len(prior["prior"]) == len(meta["classes"])
    assert sum(prior["prior"]) == pytest.approx(1.0, abs=1e-3)
    assert prior["prior"][meta["classes"].index("N")] == max(prior["prior"])
    run = json.loads((out / "run.json").read_text())
    # both sources reached training and validation; each step timed
    assert run["beats"]["train/ptbxl/L"] > 0 and run["beats"]["train/mitdb/V"] > 0
    assert run["beats"]["validation/ptbxl/R"] > 0 and run["beats"]["validation/mitdb/N"] > 0
    assert {"tables", "train seed 0", "calibration", "bundle written"} <= set(run["seconds"])
    assert {"all", "mitdb", "ptbxl"} <= set(run["validation"])
    assert 0 <= run["validation"]["all"]["macro_f1"] <= 1
    assert list(models.iterdir()) == []  # nothing shipped
    # the ensemble's probabilities are a distribution over the six classes
    rr = np.zeros((2, len(meta["rr_feature_names"])), np.float32)
    images = bundle.render(zero_windows(bundle, 2))
    probs = bundle.predict_proba(images, rr)
    assert probs.shape == (2, 6) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    # the app's registry takes it as the recording model and serves it (its output check passes)
    registry = ModelRegistry(out, runtime="keras")
    assert registry.recording_model_path() == out / "recording_mixed.keras"
    served = registry.serving_bundle_at(out / "recording_mixed.keras")
    assert served.name == "recording_mixed" and registry.load_problems == {}


def zero_windows(bundle, count: int) -> np.ndarray:
    """Flat windows of the bundle's length at its sampling rate."""
    w = bundle.metadata["window"]
    n = int(round((w["pre_s"] + w["post_s"]) * bundle.metadata["sampling_rate"]))
    return np.zeros((count, n), np.float32)


def test_missing_ptbxl_is_a_clear_error_naming_the_folder(tmp_path):
    mitdb = write_mitdb(tmp_path / "mitdb")
    with pytest.raises(CommandError, match=r"PTB-XL not found at .*nowhere.*--ptbxl-dir"):
        call_command(
            "train_mixed", "--quick", data_dir=str(mitdb), ptbxl_dir=str(tmp_path / "nowhere"),
            out=str(tmp_path / "out"),
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_quick_never_ships(tmp_path):
    with pytest.raises(CommandError, match="never a model to ship"):
        call_command("train_mixed", "--quick", "--ship", out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_ship_refuses_a_model_below_the_shipped_one(tmp_path):
    from classifier.management.commands.train_mixed import Command

    models, built = tmp_path / "models", tmp_path / "built"
    models.mkdir()
    built.mkdir()
    shipped = {"training": {"best_validation_macro_f1": 0.86}}
    (models / "recording_mixed.json").write_text(json.dumps(shipped))
    (built / "recording_mixed.keras").write_bytes(b"new")
    (built / "recording_mixed.json").write_text("{}")
    run = {"model": str(built / "recording_mixed.keras"), "validation_macro_f1": 0.70}
    with pytest.raises(CommandError, match="below the shipped model's 0.8600"):
        Command()._ship(run, models, force=False)
    assert sorted(p.name for p in models.iterdir()) == ["recording_mixed.json"]
    Command()._ship(run | {"validation_macro_f1": 0.85}, models, force=False)
    assert (models / "recording_mixed.keras").read_bytes() == b"new"


def test_sample_records_caps_the_block_records_only_when_asked(tmp_path):
    from ecg.io.ptbxl import load_ptbxl_table

    table = load_ptbxl_table(write_ptbxl(tmp_path))
    assert len(sample_records(table, None)) == 9
    assert len(sample_records(table, None, n_blocks=1)) == 5  # 3 NORM + 1 CLBBB + 1 CRBBB
    assert len(sample_records(table, 1)) == 7


@pytest.mark.skipif(
    not (SHARED_PTBXL / "ptbxl_database.csv").is_file(), reason=f"PTB-XL not at {SHARED_PTBXL}"
)
def test_quick_subset_of_the_real_data_has_every_class_in_training(mitdb, tmp_path):
    table, sources, is_val = mixed_pipeline.mixed_table(
        mitdb, SHARED_PTBXL, mixed_pipeline.QUICK, cache_dir=tmp_path
    )
    split, counts = mixed_pipeline.mixed_split(table, sources, is_val, mixed_pipeline.QUICK)
    trained = {k.split("/")[2] for k, v in counts.items() if k.startswith("train/") and v}
    assert trained == {"L", "N", "A", "V", "R", "!"}
    assert counts["validation/ptbxl/L"] > 0 and counts["validation/mitdb/R"] > 0


def test_a_plan_without_some_records_trains_on_neither_of_their_leads(monkeypatch):
    """A cross-fitting fold leaves records out: their MLII AND their V1 / V5 beats go (the
    full run's cached second-lead table holds every DS1 record)."""
    from ecg.training.dataset import BeatTable

    def table(records: list[str], lead: str) -> BeatTable:
        names = np.repeat(records, 3)
        n = len(names)
        return BeatTable(
            np.zeros((n, 8), np.float32), np.zeros((n, 6), np.float32), np.full(n, "N"),
            names, 360.0, 0.25, 0.45, lead,
        )  # fmt: skip

    both = ["101", "109", "106"]
    monkeypatch.setattr(
        mixed_pipeline, "mitdb_tables", lambda *a, **k: (table(both, "MLII"), table(both, "V1"))
    )
    plan = replace(mixed_pipeline.QUICK, mitdb_records=("101", "106"), ptbxl_leads=())
    mixed, sources, is_val = mixed_pipeline.mixed_table("unused", "unused", plan)
    assert set(mixed.records) == {"101@mlii", "106@mlii", "101@v1v5", "106@v1v5"}
    assert set(mixed.records[is_val]) == {"106@mlii", "106@v1v5"}
