"""Two-channel model bundles (issue 17): metadata checks, LiteRT, the registry, the shipped one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecg.models.bundle import BundleError, channel_leads, check_channels, load_bundle
from ecg.models.lite_runtime import export_lite, load_lite_bundle
from ecg.models.registry import ModelRegistry
from tests.factories import build_tiny_bundle, tiny_metadata

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "recording_two_lead.keras"
LEADS = [["MLII", "II"], ["V1", "V5"]]


def two_lead_bundle(folder: Path, name: str = "tiny_two_lead") -> Path:
    return build_tiny_bundle(folder, name, task="recording", with_rr=True, channels=2,
                             channel_leads=LEADS)  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"channels": 3}, "channels must be 1 or 2"),
        ({"channels": 2}, "needs channel_leads"),
        ({"channels": 2, "channel_leads": [["MLII"]]}, "needs channel_leads"),
        ({"channels": 2, "channel_leads": LEADS, "lead_fusion": {"rule": "mean"}}, "lead_fusion"),
    ],
)
def test_bad_channel_metadata_is_refused(extra, said):
    with pytest.raises(BundleError, match=said):
        check_channels(tiny_metadata("m", kind="spectrogram", **extra), "m.json")


def test_one_channel_metadata_passes_and_names_its_trained_leads():
    meta = tiny_metadata("m", kind="spectrogram", leads=["MLII", "V1"])
    check_channels(meta, "m.json")
    assert channel_leads(meta) == [["MLII", "V1"]]
    assert channel_leads({**meta, "channels": 2, "channel_leads": LEADS}) == LEADS


def test_a_two_channel_bundle_takes_two_channel_images_only(tmp_path):
    bundle = load_bundle(two_lead_bundle(tmp_path))
    assert bundle.channels == 2
    rr = np.ones((3, bundle.rr_width), np.float32)
    probs = bundle.predict_proba(np.zeros((3, 64, 64, 2), np.uint8), rr)
    assert probs.shape == (3, 6)
    with pytest.raises(BundleError, match="2-channel"):
        bundle.predict_proba(np.zeros((3, 64, 64), np.uint8), rr)


def test_litert_serves_a_two_channel_bundle_like_keras(tmp_path):
    path = two_lead_bundle(tmp_path)
    info = export_lite(path)
    assert info["max_abs_diff"] <= 1e-4
    lite, keras_bundle = load_lite_bundle(path, num_threads=2), load_bundle(path)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (100, 64, 64, 2), dtype=np.uint8)
    rr = rng.uniform(0.3, 2.0, (100, keras_bundle.rr_width)).astype(np.float32)
    np.testing.assert_allclose(
        lite.predict_proba(images, rr), keras_bundle.predict_proba(images, rr), atol=1e-5
    )
    # the channels are not interchangeable: the network reads each lead on its own
    swapped = images[..., ::-1]
    assert np.abs(lite.predict_proba(swapped, rr) - lite.predict_proba(images, rr)).max() > 1e-4


def test_the_registry_serves_a_two_channel_recording_model(tmp_path):
    two_lead_bundle(tmp_path)
    registry = ModelRegistry(tmp_path, runtime="keras", preferred={"recording": "tiny_two_lead"})
    bundle = registry.serving_bundle(task="recording")  # runs the blank-input output check
    assert bundle.channels == 2 and registry.load_problems == {}


@pytest.mark.skipif(not SHIPPED.is_file(), reason="models/recording_two_lead not shipped")
def test_the_shipped_two_lead_model_loads_and_passes_the_bundle_checks():
    registry = ModelRegistry(SHIPPED.parent, runtime="keras",
                             preferred={"recording": "recording_two_lead"})  # fmt: skip
    assert registry.recording_model_path() == SHIPPED
    bundle = registry.serving_bundle(task="recording")
    meta = bundle.metadata
    assert bundle.channels == 2 and channel_leads(meta) == LEADS
    assert "lead_fusion" not in meta
    assert 0 < meta["calibration"]["uncertain_below"] < 1
    assert meta["calibration"]["temperature"] > 0
    assert SHIPPED.stat().st_size <= 5 * 1024 * 1024


def test_the_export_command_converts_a_two_channel_model_without_grad_cam(tmp_path, capsys):
    from django.core.management import call_command

    from ecg.models.lite_runtime import gradcam_paths, lite_paths

    path = two_lead_bundle(tmp_path)
    call_command("export_lite_models", models_dir=str(tmp_path))  # no CommandError
    assert lite_paths(path)[0].is_file()
    assert not gradcam_paths(path)[0].exists()
    assert "no LiteRT Grad-CAM" in capsys.readouterr().out
