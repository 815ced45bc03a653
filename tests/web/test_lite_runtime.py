"""LiteRT serving: same probabilities as Keras, stale conversions never used, no TensorFlow."""

import json
import shutil

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ecg.models.bundle import load_bundle
from ecg.models.lite_runtime import (
    INT8_TOLERANCE,
    export_lite,
    lite_is_fresh,
    lite_paths,
    load_lite_bundle,
)
from ecg.models.registry import ModelNotInstalledError, ModelRegistry
from tests.factories import build_tiny_bundle, run_fresh_python


def test_lite_bundle_matches_keras_for_rr_model_and_large_batches(tmp_path):
    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    info = export_lite(path)
    assert info["max_abs_diff"] <= 1e-4 and lite_is_fresh(path)
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (100, 64, 64), dtype=np.uint8)  # > 64: predict() path
    rr = rng.uniform(0.3, 1.8, (100, 6)).astype(np.float32)
    lite, keras_bundle = load_lite_bundle(path), load_bundle(path)
    np.testing.assert_allclose(
        lite.predict_proba(images, rr), keras_bundle.predict_proba(images, rr), atol=1e-5
    )
    np.testing.assert_allclose(
        lite.predict_proba(images[:1], rr[:1]), keras_bundle.predict_proba(images[:1], rr[:1]),
        atol=1e-5,
    )  # fmt: skip


def test_service_uses_litert_when_conversion_is_fresh(models_copy):
    service = ModelRegistry(models_copy)
    service.serving_bundle(kind="beat_image")
    assert service.runtimes == {models_copy / "tiny-beat.keras": "litert"}


def test_stale_conversion_falls_back_to_keras(models_copy):
    build_tiny_bundle(models_copy, "tiny-beat", kind="beat_image", seed=99)  # "retrained"
    assert not lite_is_fresh(models_copy / "tiny-beat.keras")
    service = ModelRegistry(models_copy)
    service.serving_bundle(kind="beat_image")
    assert service.runtimes[models_copy / "tiny-beat.keras"] == "keras"


def test_runtime_keras_forces_keras_and_lite_insists_on_conversion(models_copy):
    service = ModelRegistry(models_copy, runtime="keras")
    service.serving_bundle(kind="spectrogram")
    assert set(service.runtimes.values()) == {"keras"}
    for path in models_copy.glob("*.tflite"):
        path.unlink()
    with pytest.raises(ModelNotInstalledError) as err:
        ModelRegistry(models_copy, runtime="lite").serving_bundle(kind="beat_image")
    assert "export_lite_models" in err.value.detail


def test_export_command_converts_skips_and_forces(tmp_path, capsys):
    build_tiny_bundle(tmp_path, "m1", kind="beat_image")
    call_command("export_lite_models", models_dir=str(tmp_path))
    tflite, sidecar = lite_paths(tmp_path / "m1.keras")
    assert tflite.is_file()
    assert json.loads(sidecar.read_text())["source"] == "m1.keras"
    call_command("export_lite_models", models_dir=str(tmp_path))
    assert "up to date" in capsys.readouterr().out
    call_command("export_lite_models", models_dir=str(tmp_path), force=True)
    assert "converted" in capsys.readouterr().out


def test_export_command_reports_a_broken_model(tmp_path, tiny_models_dir):
    shutil.copy(tiny_models_dir / "tiny-beat.json", tmp_path / "bad.json")
    (tmp_path / "bad.keras").write_bytes(b"garbage")
    with pytest.raises(CommandError, match="bad.keras"):
        call_command("export_lite_models", models_dir=str(tmp_path))
    assert not (tmp_path / "bad.tflite").exists()


def test_serving_with_litert_never_imports_tensorflow(tiny_models_dir):
    """Neither a prediction nor its Grad-CAM heat map (LiteRT view + NumPy head)."""
    code = (
        "import io\n"
        "from PIL import Image\n"
        "from ecg.models import explain\n"
        "from ecg.imaging.images import load_image_for_model\n"
        "from classifier.model_service import classify_image\n"
        "from ecg.models.registry import ModelRegistry\n"
        "from tests.factories import beat_image_bytes\n"
        f"service = ModelRegistry({str(tiny_models_dir)!r})\n"
        "image = Image.open(io.BytesIO(beat_image_bytes()))\n"
        "result = classify_image(image, registry=service)\n"
        "print(result.label, set(service.runtimes.values()))\n"
        "bundle = service.explain_bundle(kind='beat_image')\n"
        "pixels = load_image_for_model(image, size=bundle.image_size, kind=bundle.kind)\n"
        "label = bundle.classes.index(result.label)\n"
        "heat, _ = explain.bundle_grad_cam(bundle, pixels[None], class_index=label)\n"
        "png = explain.overlay_png(pixels, heat[0])\n"
        "print(heat.shape, png[:4] == b'\\x89PNG', set(service.explain_runtimes.values()))\n"
    )
    lines, imported_tensorflow = run_fresh_python(code)
    assert lines == ["V {'litert'}", "(1, 64, 64) True {'litert'}"]
    assert not imported_tensorflow


def test_lite_bundle_classifies_a_recording_like_keras(tmp_path):
    """classify_beats (the pipeline's own code) runs unchanged on a LiteRT bundle."""
    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    export_lite(path)
    fs = 360.0
    t = np.arange(int(20 * fs)) / fs
    peaks = np.arange(int(0.5 * fs), len(t) - int(0.5 * fs), int(0.8 * fs))
    signal = np.zeros_like(t)
    for p in peaks:
        signal += np.exp(-0.5 * ((t - p / fs) / 0.01) ** 2)
    kept_l, images_l, probs_l = load_lite_bundle(path).classify_beats(signal, fs, peaks)
    kept_k, images_k, probs_k = load_bundle(path).classify_beats(signal, fs, peaks)
    np.testing.assert_array_equal(kept_l, kept_k)
    np.testing.assert_array_equal(images_l, images_k)
    np.testing.assert_allclose(probs_l, probs_k, atol=1e-5)
    assert len(kept_l) > 10


def test_threads_and_invoke_batch_leave_probabilities_unchanged(tmp_path):
    """The worker's recording interpreter runs 2 threads in batches of INVOKE_BATCH: the same
    probabilities as 1 thread in one call per 512 images (tolerance as in tests/model_outputs)."""
    from ecg.models.lite_runtime import INVOKE_BATCH, LiteModel, _random_inputs

    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    export_lite(path)
    tflite, _ = lite_paths(path)
    inputs = _random_inputs(json.loads(path.with_suffix(".json").read_text()), 3 * INVOKE_BATCH + 7)
    one = LiteModel(tflite, num_threads=1).predict(inputs, batch_size=512)
    two = LiteModel(tflite, num_threads=2)
    np.testing.assert_allclose(two.predict(inputs), one, atol=1e-6)
    np.testing.assert_allclose(two.predict(inputs, batch_size=5), one, atol=1e-6)
    assert load_lite_bundle(path, num_threads=2).model.num_threads == 2


def test_registry_gives_recording_models_their_threads_only(models_copy):
    build_tiny_bundle(models_copy, "rec", task="recording", with_rr=True)
    export_lite(models_copy / "rec.keras")
    registry = ModelRegistry(models_copy, recording_threads=2)
    assert registry.serving_bundle(task="recording").model.num_threads == 2
    assert registry.serving_bundle(kind="beat_image").model.num_threads == 1
    assert ModelRegistry(models_copy).serving_bundle(task="recording").model.num_threads == 1
    with pytest.raises(ValueError, match="recording_threads"):
        ModelRegistry(models_copy, recording_threads=0)


def test_lanes_classify_concurrent_calls_as_one_call_at_a_time(tmp_path):
    """A two-thread LiteModel is two one-thread interpreters ("lanes"): calls from several
    threads at once (and ``predict``'s chunks, spread over the lanes) give each caller its own
    probabilities, equal to those of one interpreter called in turn."""
    from concurrent.futures import ThreadPoolExecutor

    from ecg.models.lite_runtime import INVOKE_BATCH, LiteModel, _random_inputs

    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    export_lite(path)
    tflite, _ = lite_paths(path)
    metadata = json.loads(path.with_suffix(".json").read_text())
    batches = [_random_inputs(metadata, INVOKE_BATCH + k, seed=k) for k in range(8)]
    one = LiteModel(tflite, num_threads=1)
    expected = [one(batch) for batch in batches]
    two = LiteModel(tflite, num_threads=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(two, batches))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)
    joined = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    np.testing.assert_array_equal(two.predict(joined), one.predict(joined))


def _quantisable_recording_bundle(directory):
    """A recording model with weight tensors of over 1,024 values: the converter leaves
    smaller ones (all of ``build_tiny_model``'s) in float32, so only such a model is quantised."""
    import keras

    from ecg.models.bundle import save_bundle
    from tests.factories import tiny_metadata

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 1), name="image", dtype="uint8")
    rr = keras.Input((6,), name="rr", dtype="float32")
    x = keras.layers.Rescaling(1 / 255.0)(image)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(x), rr])
    x = keras.layers.Dense(64, activation="relu")(x)
    out = keras.layers.Dense(6, activation="softmax")(x)
    metadata = tiny_metadata("rec", kind="beat_image", task="recording", with_rr=True)
    return save_bundle(keras.Model([image, rr], out), metadata, directory / "rec")


def test_int8_conversion_is_close_to_keras_and_served_only_when_asked(tmp_path):
    """The recording model's int8 conversion (issue 17's speed): its own file and sidecar,
    probabilities within INT8_TOLERANCE of Keras with the same arg-max on clear inputs, served
    by default but not with recording_precision="float32"; image models stay float32."""
    rec = _quantisable_recording_bundle(tmp_path)
    build_tiny_bundle(tmp_path, "beat", kind="beat_image")
    call_command("export_lite_models", models_dir=str(tmp_path))
    int8_file, int8_sidecar = lite_paths(rec, "int8")
    assert int8_file.name == "rec.int8.tflite" and lite_is_fresh(rec, "int8")
    assert json.loads(int8_sidecar.read_text())["precision"] == "int8"
    assert not lite_is_fresh(tmp_path / "beat.keras", "int8")  # image models: float32 only

    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (40, 64, 64), dtype=np.uint8)
    rr = rng.uniform(0.3, 1.8, (40, 6)).astype(np.float32)
    quantised = load_lite_bundle(rec, precision="int8")
    assert quantised.runtime == "litert-int8"
    got, want = quantised.predict_proba(images, rr), load_bundle(rec).predict_proba(images, rr)
    assert np.abs(got - want).max() <= INT8_TOLERANCE
    # the int8 file really is another network: its weights take a quarter of the bytes
    assert int8_file.stat().st_size < 0.6 * lite_paths(rec)[0].stat().st_size
    clear = np.sort(want, axis=1)[:, -1] - np.sort(want, axis=1)[:, -2] > 2 * INT8_TOLERANCE
    np.testing.assert_array_equal(got[clear].argmax(1), want[clear].argmax(1))

    exact = ModelRegistry(tmp_path, recording_precision="float32")
    exact.serving_bundle(task="recording")
    assert exact.runtimes == {rec: "litert"}
    default = ModelRegistry(tmp_path)
    default.serving_bundle(task="recording")
    default.serving_bundle(kind="beat_image")
    assert default.runtimes == {rec: "litert-int8", tmp_path / "beat.keras": "litert"}


def test_int8_without_a_fresh_conversion_serves_float32_and_bad_values_fail(tmp_path, caplog):
    rec = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    export_lite(rec)  # float32 only
    registry = ModelRegistry(tmp_path)  # int8 by default
    registry.serving_bundle(task="recording")
    assert registry.runtimes == {rec: "litert"}
    assert "no fresh int8 LiteRT conversion" in caplog.text
    with pytest.raises(ValueError, match="RECORDING_MODEL_PRECISION"):
        ModelRegistry(tmp_path, recording_precision="int4")


def test_a_refused_int8_conversion_is_remembered_until_the_model_changes(
    tmp_path, monkeypatch, capsys
):
    import ecg.models.lite_runtime as lite_runtime

    rec = _quantisable_recording_bundle(tmp_path)  # its weights are really quantised
    monkeypatch.setattr(lite_runtime, "INT8_TOLERANCE", 0.0)  # any quantisation error fails
    call_command("export_lite_models", models_dir=str(tmp_path))  # float32 still converts
    assert "no int8 conversion" in capsys.readouterr().err
    assert lite_is_fresh(rec) and not lite_paths(rec, "int8")[0].exists()
    assert "differ by" in lite_runtime.lite_refused(rec, "int8")
    call_command("export_lite_models", models_dir=str(tmp_path))
    assert "no int8 conversion" in capsys.readouterr().out  # not converted again
    registry = ModelRegistry(tmp_path)
    registry.serving_bundle(task="recording")
    assert registry.runtimes == {rec: "litert"}
    build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="V", seed=3)
    assert lite_runtime.lite_refused(rec, "int8") is None  # a new model gets a new try


def test_settings_refuse_an_unknown_recording_precision():
    """Settings fail fast: a typo must not silently serve another arithmetic."""
    import os
    import subprocess
    import sys

    code = "import django; django.setup()"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ecgsite.settings", "DJANGO_ENV": "test"}

    def start(precision: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
            env=env | {"RECORDING_MODEL_PRECISION": precision},
        )  # fmt: skip

    bad = start("int4")
    assert bad.returncode != 0 and "RECORDING_MODEL_PRECISION must be float32 or int8" in bad.stderr
    good = start("float32")
    assert good.returncode == 0, good.stderr
