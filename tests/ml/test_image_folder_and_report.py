import json
from pathlib import Path

import numpy as np
import pytest

from ecg.classes import UnknownClassError
from ecg.imaging import representations
from ecg.io import image_folder
from ecg.training import report
from tests.ml.conftest import synthetic_ecg


def test_exported_folder_reads_back_identically(tmp_path):
    sig, peaks, symbols = synthetic_ecg(12)
    windows = np.stack([sig[p - 90 : p + 162] for p in peaks]).astype(np.float32)
    images = representations.render("beat_image", windows, 360.0)
    labels = np.array([3 if s == "V" else 1 for s in symbols])
    labels[0] = 5  # a flutter wave goes to the VF folder
    image_folder.export_images(images, labels, [f"b{i:02d}" for i in range(12)], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["N", "V", "VF"]
    back, back_labels = image_folder.read_images(tmp_path, size=64, kind="beat_image")
    order = np.lexsort((np.arange(12), labels))  # folders are read in name order N, V, VF
    np.testing.assert_array_equal(back_labels, labels[order])
    np.testing.assert_array_equal(back, images[order])


def test_unknown_class_folder_is_a_clear_error(tmp_path):
    (tmp_path / "Q").mkdir()
    with pytest.raises(UnknownClassError, match="folder 'Q' is not a class"):
        image_folder.read_images(tmp_path, size=64, kind="beat_image")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        image_folder.read_images(tmp_path / "missing", size=64, kind="beat_image")


def _fake_metrics(macro: float) -> dict:
    six = {
        "accuracy": 0.9,
        "macro_f1": macro,
        "ece": 0.01,
        "n_beats": 10,
        "classes": ["N", "V"],
        "confusion_matrix": [[5, 0], [1, 4]],
        "auc_ovr": {"per_class": {"N": 0.9, "V": 0.9}, "macro": 0.9},
        "per_class": {
            c: {"support": 5, "sensitivity": 0.8, "precision": 0.8, "specificity": 0.8, "f1": 0.8}
            for c in ("N", "V")
        },
    }
    aami = {
        "summary": {
            "VEB": {"Se": 0.95, "+P": 0.9, "support": 5},
            "SVEB": {"Se": 0.5, "+P": 0.4, "support": 5},
        }
    }
    return {
        "task": "recording",
        "splits": {"intra": {"six_class": six}, "inter": {"six_class": dict(six), "aami": aami}},
    }


def test_readme_block_is_generated_from_metrics(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.README_START}\nold figures\n{report.README_END}\ntail\n")
    block = report.readme_block({"ours": _fake_metrics(0.777)}, "original_cnn")
    assert report.update_readme(readme, block)
    text = readme.read_text()
    assert "old figures" not in text and "0.777" in text and text.endswith("tail\n")
    assert "95.0% / 90.0%" in text  # VEB Se / +P
    with_interval = _fake_metrics(0.777)
    with_interval["splits"]["inter"]["six_class"]["bootstrap"] = {"macro_f1": [0.61, 0.85]}
    block = report.readme_block({"ours": with_interval}, "original_cnn")
    assert "| 0.777 (0.610-0.850) |" in block  # inter row: the interval from the metrics file
    assert "| 0.777 |" in block  # intra row: no interval in the file, none shown
    assert "The targets" not in block  # only when the recording model is named
    named = report.readme_block({"ours": with_interval}, "original_cnn", recording="ours")
    assert "| inter-patient macro-F1 | 0.7 | 0.777 (0.610-0.850) | yes |" in named
    assert named.rstrip().endswith(report.README_END)
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert report.update_readme(plain, block) is False


def test_pipeline_time_counts_the_shipped_models_and_the_whole_run_apart():
    """The issue's pipeline time is the beat table, the shipped models' training and the
    evaluation; the baseline and the candidates not chosen only add to the whole run."""

    def trained(inter: float, intra: float) -> dict:
        return {
            "splits": {
                "inter": {"training": {"train_seconds": inter}},
                "intra": {"training": {"train_seconds": intra}},
            }
        }

    metrics = {"ours": trained(100, 200), "original_cnn": trained(30, 70)}
    context = {"dataset_seconds": 5, "evaluation_seconds": 45, "candidate_seconds": 400}
    times = report.pipeline_seconds(metrics, context, "original_cnn")
    assert times == {"shipped": 350, "whole_run": 850}
    lines = "\n".join(report.timing_lines(metrics, context, "original_cnn"))
    assert "| **350** |" in lines and "| 850 |" in lines
    assert report.pipeline_seconds(metrics, {}, "original_cnn")["shipped"] is None


def test_confusion_png_is_written(tmp_path):
    path = tmp_path / "cm.png"
    report.plot_confusion([[5, 1], [0, 3]], ["N", "V"], "test", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.skipif(not list(MODELS.glob("*.keras")), reason="no shipped models yet")
def test_shipped_models_are_small_complete_and_load():
    from ecg.models.bundle import REQUIRED_KEYS, load_bundle

    tasks = {}
    for path in sorted(MODELS.glob("*.keras")):
        assert path.stat().st_size < 5_000_000, path
        bundle = load_bundle(path)
        assert bundle.model.count_params() < 1_000_000, path
        assert all(k in bundle.metadata for k in REQUIRED_KEYS)
        size = bundle.image_size
        if bundle.channels == 2:
            # issue 17's two-lead model (opt-in): ``evaluate_model`` reads one-lead beat tables,
            # so its test-set figures are those of ``two_lead_serving.py report`` for now
            results = MODELS.parent / "benchmarks" / "results" / "two_lead_serving.json"
            assert set(json.loads(results.read_text())["reported_only_test_sets"]) >= {"ds2"}
            images = np.zeros((2, size, size, 2), dtype=np.uint8)
        else:
            metrics = json.loads(path.with_name(f"{path.stem}.metrics.json").read_text())
            # a model trained on mixed data (MIT-BIH + PTB-XL) has no random-beat twin
            mixed = "validation_set" in bundle.metadata.get("training", {})
            assert set(metrics["splits"]) == ({"inter"} if mixed else {"intra", "inter"})
            images = np.zeros((2, size, size), dtype=np.uint8)
        rr = np.ones((2, bundle.rr_width), dtype=np.float32) if bundle.rr_width else None
        probs = bundle.predict_proba(images, rr)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        tasks.setdefault(bundle.metadata["task"], []).append(bundle.kind)
    assert sorted(tasks["image"]) == ["beat_image", "spectrogram"]
    # the shipped mixed-data model, the MIT-BIH-only one it replaced (kept for the report) and
    # the two-lead model served on request (issue 17)
    assert len(tasks["recording"]) == 3


def test_the_settings_name_a_shipped_recording_model():
    from django.conf import settings

    from ecg.models.bundle import read_metadata

    meta = read_metadata(MODELS / f"{settings.RECORDING_MODEL}.keras")
    assert meta["task"] == "recording"
    assert {"MLII", "V1"} <= set(meta["leads"])
    assert 0.0 < meta["calibration"]["uncertain_below"] < 1.0


def test_external_figures_are_tabled_with_targets_and_go_stale_with_the_model(tmp_path):
    import hashlib

    from ecg.training import pipeline

    assert pipeline.external_figures(tmp_path, "ours") is None
    (tmp_path / "ours.keras").write_bytes(b"weights v1")
    figures = {
        "source": "benchmarks/results/x.json",
        "about": "test",
        "model_sha256": hashlib.sha256(b"weights v1").hexdigest(),
        "ensemble": {"DS2 macro-F1": 0.66, "LUDB sinus no BBB V share": 0.003},
        "seed_summary": {"DS2 macro-F1": {"mean": 0.64, "sd": 0.04, "min": 0.59, "max": 0.68}},
    }
    (tmp_path / "ours.external.json").write_text(json.dumps(figures))
    lines = report.external_lines(pipeline.external_figures(tmp_path, "ours"))
    text = "\n".join(lines)
    assert "| DS2 six-class macro-F1 | >= 0.75 | 0.660 | 0.640 (0.040) [0.590-0.680] | no |" in text
    assert "| LUDB sinus, no BBB: beats called V | <= 1% | 0.3% | — | yes |" in text
    assert "PTB-XL" not in text  # figures the file lacks are left out, not invented
    (tmp_path / "ours.keras").write_bytes(b"weights v2")
    stale = report.external_lines(pipeline.external_figures(tmp_path, "ours"))
    assert "run `python benchmarks/ptbxl_mixed_ship.py` again" in stale[0]


def test_the_served_conduction_figures_are_tabled_and_go_stale_with_the_model(tmp_path):
    import hashlib

    from ecg.training import pipeline

    assert report.conduction_lines(pipeline.conduction_figures(tmp_path, "ours")) == []
    (tmp_path / "ours.keras").write_bytes(b"weights v1")
    f1 = {"F1": 0.93, "F1_interval": [0.88, 0.97]}
    figures = {
        "source": "benchmarks/results/c.json",
        "about": "test",
        "model_sha256": hashlib.sha256(b"weights v1").hexdigest(),
        "figures": {"all leads": {"L": f1, "R": {**f1, "F1": 0.85}, "N": f1}},
    }
    (tmp_path / "ours.conduction.json").write_text(json.dumps(figures))
    text = "\n".join(report.conduction_lines(pipeline.conduction_figures(tmp_path, "ours")))
    assert "| all leads: record F1 CLBBB | >= 0.90 | 0.930 | 0.880-0.970 | yes |" in text
    assert "| all leads: record F1 CRBBB | >= 0.90 | 0.850 | 0.880-0.970 | no |" in text
    (tmp_path / "ours.keras").write_bytes(b"weights v2")
    stale = report.conduction_lines(pipeline.conduction_figures(tmp_path, "ours"))
    assert "run `python benchmarks/conduction_served_ptbxl.py` again" in stale[0]


def test_target_rows_say_met_or_not_with_the_interval_over_test_records():
    metrics = _fake_metrics(0.65)
    inter = metrics["splits"]["inter"]
    inter["six_class"]["bootstrap"] = {"macro_f1": [0.5, 0.75]}
    inter["aami"]["bootstrap"] = {"per_class": {"VEB": {"sensitivity": [0.9, 0.99]}}}
    metrics["speed"] = {"batch_beats_per_s": 2500.0, "single_image_ms_median": 2.0}
    rows = "\n".join(report.target_rows({"ours": metrics}, "ours"))
    assert "| inter-patient macro-F1 | 0.7 | 0.650 (0.500-0.750) | no |" in rows
    assert "| AAMI VEB Se | 90.0% | 95.0% (90.0%-99.0%) | yes |" in rows
    assert "| AAMI SVEB +P | 50.0% | 40.0% | no |" in rows  # no interval in the file
    assert "| batch beats/s (images built) | 2000 | 2500 | yes |" in rows


def _seed_rows(validation: list[float], ds2: list[float]) -> list[dict]:
    aami = {"VEB Se": 0.9, "VEB +P": 0.8, "SVEB Se": 0.5, "SVEB +P": 0.3}
    return [
        {"seed": i, "validation_macro_f1": v, "macro_f1": d, **aami}
        for i, (v, d) in enumerate(zip(validation, ds2, strict=True))
    ]


def test_seed_spread_says_how_far_the_seed_moves_the_test_figures():
    rows = _seed_rows([0.68, 0.66, 0.69], [0.60, 0.62, 0.48])
    lines = report.seed_spread_lines({"model": "ours", "shipped_seed": 0, "seeds": rows})
    assert "3 seeds" in lines[0] and "0.567 on average (from 0.480 to 0.620)" in lines[0]
    assert "the shipped model is seed 0 (0.600)" in lines[0]
    assert "did not rank the seeds as DS2 did (Spearman's rho -1.00)" in lines[0]
    assert lines[-1] == "| mean | 0.677 | 0.567 | 90.0% | 80.0% | 50.0% | 30.0% |"
    assert len([line for line in lines if line.startswith("| ")]) == 1 + 3 + 1  # head, seeds, mean
    agreeing = _seed_rows([0.6, 0.7, 0.8], [0.5, 0.55, 0.6])
    sentence = report.seed_spread_lines({"model": "ours", "seeds": agreeing}, table=False)
    assert sentence[0].count("rho") == 1 and "much as DS2 did (Spearman's rho +1.00)" in sentence[0]
    assert "none of them reproduced the shipped model's figures" in sentence[0]
    assert report.seed_spread_lines(None) == []


def test_seed_spread_of_another_model_file_is_reported_stale(tmp_path):
    from ecg.training import pipeline

    assert pipeline.seed_spread(tmp_path, "ours") is None
    (tmp_path / "ours.keras").write_bytes(b"weights v1")
    spread = {"model": "ours", "model_sha256": "0" * 64, "shipped_seed": 0}
    (tmp_path / "ours.seeds.json").write_text(
        json.dumps({**spread, "seeds": _seed_rows([0.6], [0.5])})
    )
    stale = pipeline.seed_spread(tmp_path, "ours")
    assert stale["stale"] is True
    assert "run `python experiments/ml_seed_spread.py` again" in report.seed_spread_lines(stale)[0]
    import hashlib

    spread["model_sha256"] = hashlib.sha256(b"weights v1").hexdigest()
    (tmp_path / "ours.seeds.json").write_text(
        json.dumps({**spread, "seeds": _seed_rows([0.6], [0.5])})
    )
    assert pipeline.seed_spread(tmp_path, "ours")["stale"] is False
    block = report.readme_block(
        {"ours": _fake_metrics(0.5)},
        "original_cnn",
        recording="ours",
        context={"seed_spread": pipeline.seed_spread(tmp_path, "ours")},
    )
    assert "trained again with 1 seeds" in block
