"""The model registry: one owner for "which model serves this, loaded how" (issue 16)."""

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ecg.models.registry import (
    ModelNotInstalledError,
    ModelRegistry,
    RecordingModelMissing,
    check_outputs,
)
from ecgsite.model_registry import get_model_registry
from tests.factories import build_tiny_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory) -> Path:
    """Two recording models, one image model, one unreadable file."""
    folder = tmp_path_factory.mktemp("mixed")
    build_tiny_bundle(folder, "a-rec", task="recording", seed=1)
    build_tiny_bundle(folder, "b-rec", task="recording", seed=2, with_rr=True)
    build_tiny_bundle(folder, "beat", kind="beat_image", seed=3)
    (folder / "broken.keras").write_bytes(b"no metadata beside it")
    return folder


def copy_with_metadata(source: Path, target: Path, **changes) -> Path:
    shutil.copy(source, target)
    meta = json.loads(source.with_suffix(".json").read_text())
    target.with_suffix(".json").write_text(json.dumps({**meta, **changes}))
    return target


def test_finds_models_by_task_and_kind(mixed_dir):
    registry = ModelRegistry(mixed_dir)
    assert registry.find(task="image", kind="beat_image") == mixed_dir / "beat.keras"
    assert registry.find(task="image", kind="spectrogram") is None
    assert registry.find(task="recording") == mixed_dir / "a-rec.keras"  # first by file name
    assert registry.installed_image_kinds() == ["beat_image"]
    assert registry.names() == ["a-rec", "b-rec", "beat", "broken"]
    problems = {e.path.stem: e.problem for e in registry.installed() if not e.usable}
    assert list(problems) == ["broken"] and "metadata not found" in problems["broken"]
    with pytest.raises(ValueError):
        registry.find(task="audio")


def test_preferred_names_win(mixed_dir):
    registry = ModelRegistry(mixed_dir, preferred={"recording": "b-rec", "beat_image": "nope"})
    assert registry.recording_model_path() == mixed_dir / "b-rec.keras"
    assert registry.find(task="image", kind="beat_image") == mixed_dir / "beat.keras"


def test_metadata_by_name_and_version(mixed_dir):
    registry = ModelRegistry(mixed_dir)
    meta = json.loads((mixed_dir / "beat.json").read_text())
    assert registry.metadata_for(name="beat", version=str(meta["version"])) == meta
    assert registry.metadata_for(name="beat", version="no such version") is None


def test_settings_build_the_registry(settings, mixed_dir):
    settings.MODELS_DIR = mixed_dir
    settings.RECORDING_MODEL = "b-rec"
    settings.MODEL_RUNTIME = "keras"
    registry = get_model_registry()
    assert registry is get_model_registry()
    assert (registry.runtime, registry.recording_model_path().stem) == ("keras", "b-rec")
    settings.RECORDING_MODEL = ""
    assert get_model_registry() is not registry  # rebuilt on setting_changed
    assert get_model_registry().recording_model_path().stem == "a-rec"


def test_unknown_runtime_is_refused(tmp_path):
    with pytest.raises(ValueError, match="MODEL_RUNTIME"):
        ModelRegistry(tmp_path, runtime="fast")


def test_one_load_per_process_across_threads_for_each_purpose(models_copy, monkeypatch):
    registry = ModelRegistry(models_copy)
    calls = []
    real_load = registry._load

    def counting_load(path, runtime, explain=False):
        calls.append(explain)
        time.sleep(0.05)  # widen the race window
        return real_load(path, runtime, explain)

    monkeypatch.setattr(registry, "_load", counting_load)
    targets = [registry.serving_bundle, registry.explain_bundle] * 6
    threads = [threading.Thread(target=t, kwargs={"kind": "beat_image"}) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(calls) == [False, True]  # one serving load, one explanation load
    assert registry.serving_bundle(kind="beat_image") is registry.serving_bundle(kind="beat_image")


def test_the_runtime_rule_holds_for_recording_models(tmp_path):
    from ecg.models.lite_runtime import export_lite

    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True)
    keras_registry = ModelRegistry(tmp_path)
    keras_registry.serving_bundle(task="recording")
    assert keras_registry.runtimes == {path: "keras"}  # auto, no conversion yet
    with pytest.raises(RecordingModelMissing, match="export_lite_models"):
        ModelRegistry(tmp_path, runtime="lite").serving_bundle(task="recording")
    export_lite(path)
    lite = ModelRegistry(tmp_path)
    assert lite.serving_bundle(task="recording").runtime == "litert"
    assert lite.runtimes == {path: "litert"}
    forced = ModelRegistry(tmp_path, runtime="keras")
    forced.serving_bundle(task="recording")
    assert forced.runtimes == {path: "keras"}


def test_no_recording_model_names_the_folder(tmp_path):
    with pytest.raises(RecordingModelMissing) as err:
        ModelRegistry(tmp_path).serving_bundle(task="recording")
    assert isinstance(err.value, ModelNotInstalledError)  # image pages catch it too
    assert str(tmp_path) in str(err.value) and "recording" in str(err.value)


def test_output_check_refuses_a_broken_recording_model(tmp_path, mixed_dir):
    copy_with_metadata(mixed_dir / "a-rec.keras", tmp_path / "five.keras", classes=list("LNAVR"))
    with pytest.raises(RecordingModelMissing, match="6 outputs for 5 classes"):
        ModelRegistry(tmp_path).serving_bundle(task="recording")


class _Bundle:
    """What ``check_outputs`` reads of a bundle, with outputs chosen by the test."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float64)
        self.image_size, self.rr_width, self.path = 8, 0, Path("fake.keras")
        self.channels = 1
        self.classes = list("LNAVR!")

    def predict_proba(self, images, rr=None):
        return self.probs


@pytest.mark.parametrize(
    "probs",
    [[[np.nan, 0.2, 0.2, 0.2, 0.2, 0.2]], [[3.0, 1.0, 0.0, 0.0, 0.0, 0.0]]],
    ids=["not finite", "not summing to 1"],
)
def test_output_check_refuses_outputs_that_are_not_probabilities(probs):
    with pytest.raises(ModelNotInstalledError, match="does not give class probabilities"):
        check_outputs(_Bundle(probs))
    check_outputs(_Bundle([[0.5, 0.5, 0, 0, 0, 0]]))  # a proper distribution passes


def test_reset_forgets_loaded_models(tiny_models_dir):
    registry = ModelRegistry(tiny_models_dir)
    first = registry.serving_bundle(kind="beat_image")
    registry.reset()
    assert registry.runtimes == {}
    assert registry.serving_bundle(kind="beat_image") is not first


def test_nothing_outside_the_registry_lists_the_models_folder():
    """Every ``*.keras`` scan goes through ``ModelRegistry.model_files`` (tests and experiments
    build their own folders and may list them)."""
    skipped = {"tests", "experiments", "build", "node_modules"}
    folders = [p for p in ROOT.iterdir() if p.is_dir() and p.name not in skipped]
    sources = [*ROOT.glob("*.py")]
    for folder in folders:
        if not folder.name.startswith("."):
            sources += folder.rglob("*.py")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path != ROOT / "ecg" / "models" / "registry.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "glob(" in line and ".keras" in line
    ]
    assert offenders == []


def test_recording_threads_setting_reaches_the_registry(settings, mixed_dir):
    settings.MODELS_DIR = mixed_dir
    settings.RECORDING_MODEL_THREADS = 3
    assert get_model_registry().recording_threads == 3
    settings.RECORDING_MODEL_THREADS = 1
    assert get_model_registry().recording_threads == 1  # rebuilt on setting_changed
