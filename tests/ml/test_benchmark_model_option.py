"""The recording benchmarks' ``--model`` option (benchmarks/recording_model_option.py, issues 17,
18, 20) on a tiny models folder: metadata files beside empty model files, nothing loaded."""

import shutil
import sys
from pathlib import Path

import pytest

from benchmarks import episodes_benchmark, noise_stress
from benchmarks.recording_model_option import recording_registry, results_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """The served one-lead model and the two-lead one, metadata only."""
    for name in ("recording_mixed", "recording_two_lead"):
        shutil.copy(ROOT / "models" / f"{name}.json", tmp_path / f"{name}.json")
        (tmp_path / f"{name}.keras").write_bytes(b"")
    return tmp_path


def test_without_a_model_the_default_pick_is_unchanged(models_dir):
    assert recording_registry(models_dir).recording_model_path().stem == "recording_mixed"


def test_a_named_model_is_the_one_found(models_dir):
    path = recording_registry(models_dir, "recording_two_lead").recording_model_path()
    assert path.stem == "recording_two_lead"


def test_a_model_not_installed_is_refused_not_replaced(models_dir):
    # The registry alone would fall back on the first recording model found.
    with pytest.raises(SystemExit, match="recording_mixed, recording_two_lead"):
        recording_registry(models_dir, "recording_three_lead")


def test_a_named_model_never_writes_the_served_models_results(tmp_path):
    default = tmp_path / "noise_stress.json"
    assert results_path(default, None) == default
    assert results_path(default, "recording_two_lead") == tmp_path / "noise_stress_two_lead.json"
    assert results_path(default, "recording_mixed") != default


def test_noise_stress_refuses_a_missing_model_before_reading_data(models_dir):
    with pytest.raises(SystemExit, match="no recording model 'absent'"):
        noise_stress.main(["--model", "absent", "--models-dir", str(models_dir)])


def test_episodes_benchmark_refuses_a_missing_model(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["x", "--data-dir", str(tmp_path), "--model", "absent"])
    with pytest.raises(SystemExit, match="no recording model 'absent'"):
        episodes_benchmark.main()
