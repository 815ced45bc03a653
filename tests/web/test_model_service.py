"""Image classification through the model registry: lazy, loads once, uses the pipeline's own
preprocessing."""

import io
import json
import shutil
import threading
import time

import numpy as np
import pytest
from PIL import Image

from classifier.model_service import ModelNotInstalledError, classify_image
from ecg.imaging.images import load_image_for_model
from ecg.models.bundle import load_bundle
from ecg.models.registry import ModelRegistry
from ecgsite.model_registry import get_model_registry
from tests.conftest import BEAT_FAVOURS, SPECTROGRAM_FAVOURS
from tests.factories import beat_image_bytes, build_tiny_bundle, spectrogram_image_bytes


def pil(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_constructing_the_registry_loads_nothing(tiny_models_dir):
    registry = ModelRegistry(tiny_models_dir)
    assert registry._serving == {}
    assert registry.installed_image_kinds() == ["beat_image", "spectrogram"]
    assert registry._serving == {}  # discovery reads metadata only


def test_singleton_follows_models_dir_setting(settings, tiny_models_dir, tmp_path):
    settings.MODELS_DIR = tiny_models_dir
    first = get_model_registry()
    assert first is get_model_registry()
    settings.MODELS_DIR = tmp_path
    assert get_model_registry() is not first
    assert get_model_registry().installed_image_kinds() == []


def test_prediction_equals_pipeline_path(tiny_models_dir):
    """Same numbers as calling the bundle on load_image_for_model's output directly."""
    registry = ModelRegistry(tiny_models_dir)
    image = pil(beat_image_bytes(seed=3))
    result = classify_image(image, image_type="beat_image", registry=registry)

    bundle = load_bundle(tiny_models_dir / "tiny-beat.keras")
    pixels = load_image_for_model(image, size=bundle.image_size, kind="beat_image")
    expected = bundle.predict_proba(pixels[None])[0]
    assert list(result.probabilities) == bundle.classes
    # Served by LiteRT, checked against the Keras network itself.
    np.testing.assert_allclose(list(result.probabilities.values()), expected, atol=1e-5)
    assert result.label == BEAT_FAVOURS
    assert result.confidence == pytest.approx(expected.max())
    assert (result.model_name, result.kind, result.kind_detected) == (
        "tiny-beat",
        "beat_image",
        False,
    )


def test_auto_detects_image_kind(tiny_models_dir):
    registry = ModelRegistry(tiny_models_dir)
    beat = classify_image(pil(beat_image_bytes()), image_type="auto", registry=registry)
    spec = classify_image(pil(spectrogram_image_bytes()), image_type="auto", registry=registry)
    assert (beat.kind, beat.model_name, beat.kind_detected) == ("beat_image", "tiny-beat", True)
    assert (spec.kind, spec.model_name, spec.label) == (
        "spectrogram",
        "tiny-spectrogram",
        SPECTROGRAM_FAVOURS,
    )


def test_each_model_is_loaded_once_across_threads(tiny_models_dir, monkeypatch):
    calls = []
    registry = ModelRegistry(tiny_models_dir)
    real_load = registry._load

    def counting_load(path, runtime, explain=False):
        calls.append(path)
        time.sleep(0.05)  # widen the race window
        return real_load(path, runtime, explain)

    monkeypatch.setattr(registry, "_load", counting_load)
    threads = [
        threading.Thread(target=registry.serving_bundle, kwargs={"kind": "beat_image"})
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    registry.serving_bundle(kind="beat_image")
    assert len(calls) == 1


def test_missing_model_raises_with_install_command(tmp_path):
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotInstalledError) as err:
        classify_image(pil(beat_image_bytes()), image_type="beat_image", registry=registry)
    assert "beat image" in err.value.detail
    assert "train_model" in err.value.install_command


def test_corrupt_model_file_raises_model_not_installed(tmp_path, tiny_models_dir):
    shutil.copy(tiny_models_dir / "tiny-beat.json", tmp_path / "tiny-beat.json")
    (tmp_path / "tiny-beat.keras").write_bytes(b"not a keras zip")
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotInstalledError) as err:
        registry.serving_bundle(kind="beat_image")
    assert "tiny-beat.keras" in err.value.detail


def test_recording_models_and_metrics_files_are_not_image_models(tmp_path, tiny_models_dir):
    build_tiny_bundle(tmp_path, "rec", kind="beat_image", task="recording", with_rr=True)
    (tmp_path / "rec.metrics.json").write_text("{}")
    assert ModelRegistry(tmp_path).installed_image_kinds() == []


def test_settings_choose_among_several_models_of_one_kind(settings, tiny_models_dir, tmp_path):
    for name in ("a-beat", "b-beat"):
        shutil.copy(tiny_models_dir / "tiny-beat.keras", tmp_path / f"{name}.keras")
        meta = json.loads((tiny_models_dir / "tiny-beat.json").read_text())
        meta["name"] = name
        (tmp_path / f"{name}.json").write_text(json.dumps(meta))
    settings.MODELS_DIR = tmp_path
    assert get_model_registry().image_model_paths()["beat_image"].stem == "a-beat"
    settings.IMAGE_MODELS = {"beat_image": "b-beat"}
    assert get_model_registry().image_model_paths()["beat_image"].stem == "b-beat"


def test_model_whose_outputs_do_not_match_its_classes_is_refused(tmp_path, tiny_models_dir):
    shutil.copy(tiny_models_dir / "tiny-beat.keras", tmp_path / "five.keras")
    meta = json.loads((tiny_models_dir / "tiny-beat.json").read_text())
    meta["classes"] = meta["classes"][:5]
    (tmp_path / "five.json").write_text(json.dumps(meta))
    with pytest.raises(ModelNotInstalledError, match="6 outputs for 5 classes"):
        ModelRegistry(tmp_path).serving_bundle(kind="beat_image")


def test_image_bundle_is_the_full_keras_model_for_explanations(tiny_models_dir):
    """Grad-CAM needs layers and gradients: image_bundle stays Keras while serving is LiteRT."""
    import keras

    registry = ModelRegistry(tiny_models_dir)
    serving, full = (
        registry.serving_bundle(kind="beat_image"),
        registry.keras_bundle(kind="beat_image"),
    )
    assert registry.runtimes[tiny_models_dir / "tiny-beat.keras"] == "litert"
    assert isinstance(full.model, keras.Model) and full.model.layers
    assert full is registry.keras_bundle(kind="beat_image")  # loaded once
    assert full.metadata == serving.metadata
    images = np.random.default_rng(0).integers(0, 256, (3, 64, 64), dtype=np.uint8)
    np.testing.assert_allclose(full.predict_proba(images), serving.predict_proba(images), atol=1e-5)


def test_keras_runtime_shares_one_bundle(tiny_models_dir):
    registry = ModelRegistry(tiny_models_dir, runtime="keras")
    assert registry.serving_bundle(kind="beat_image") is registry.keras_bundle(kind="beat_image")
