"""Grad-CAM without TensorFlow (LiteRT view + NumPy head) gives the Keras/TF heat maps.

The reference is ``explain.grad_cam`` on the Keras model (``tf.GradientTape``); the export
(``lite_runtime.export_gradcam``) is compared with it on inputs it never checked itself.
"""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from ecg.models import explain
from ecg.models.bundle import save_bundle
from ecg.models.gradcam_head import HeadError, describe, resize_bilinear
from ecg.models.lite_runtime import (
    LiteGradCamModel,
    export_gradcam,
    export_lite,
    gradcam_is_fresh,
    gradcam_paths,
    load_gradcam_model,
)
from ecg.models.registry import ModelNotInstalledError, ModelRegistry
from tests.factories import beat_image_bytes, build_tiny_bundle, run_fresh_python, tiny_metadata

ROOT = Path(__file__).resolve().parents[2]
SIZE = 32
RR_WIDTH = 6
MAP_ATOL = 1e-4


def cnn(seed: int, with_rr: bool):
    """The shipped architecture (``build_cnn``: 4 conv blocks, dense head, optional RR
    branch), small, with non-trivial BatchNorm statistics (untrained ones are 0 and 1)."""
    import keras

    from ecg.models.architectures import build_cnn

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    rr_train = rng.uniform(0.3, 1.8, (64, RR_WIDTH)).astype(np.float32) if with_rr else None
    model = build_cnn(SIZE, 6, rr_train=rr_train, filters=(4, 8, 8, 16), dense=16)
    randomise_batch_norm(model, rng)
    return model


def randomise_batch_norm(model, rng) -> None:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                 rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 2.0, var.shape)]
            )  # fmt: skip


def every_supported_layer(seed: int = 3):
    """A head using every layer kind the NumPy head knows, in places the shipped models don't:
    overlapping max pooling (3, stride 2), BatchNorm / Rescaling / Normalization after the
    maps, global average pooling in a branch, a final Activation("softmax")."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    image = keras.Input((SIZE, SIZE, 1), dtype="uint8", name="image")
    rr = keras.Input((RR_WIDTH,), name="rr")
    x = layers.Rescaling(1 / 255)(image)
    x = layers.Conv2D(6, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    features = layers.ReLU()(x)
    x = layers.MaxPooling2D(3, strides=2)(features)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    pooled = layers.GlobalAveragePooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(12, activation="relu")(x)
    x = layers.Rescaling(0.5, offset=0.1)(x)
    x = layers.Normalization(mean=0.2, variance=0.3)(x)
    x = layers.Concatenate()([x, pooled, layers.Dense(4, activation="relu")(rr)])
    x = layers.Dense(6)(x)
    out = layers.Activation("softmax")(x)
    model = keras.Model([image, rr], out, name="zoo")
    randomise_batch_norm(model, np.random.default_rng(seed))
    return model


def saved(model, directory: Path, name: str, with_rr: bool) -> Path:
    metadata = tiny_metadata(name, kind="beat_image", with_rr=with_rr, image_size=SIZE)
    return save_bundle(model, metadata, directory / name)


def sample_inputs(n_random: int = 6, with_rr: bool = False, rr_width: int = RR_WIDTH, size=SIZE):
    """Line drawings like beat images, noise, and a blank image (a map of zeros)."""
    rng = np.random.default_rng(11)
    drawings = [
        np.asarray(Image.open(io.BytesIO(beat_image_bytes(size=size, seed=s)))) for s in range(4)
    ]
    noise = rng.integers(0, 256, (n_random, size, size), dtype=np.uint8)
    images = np.concatenate([np.stack(drawings), noise, np.zeros((1, size, size), np.uint8)])
    rr = rng.uniform(0.3, 1.8, (len(images), rr_width)).astype(np.float32) if with_rr else None
    return images, rr


def assert_same_maps(keras_model, lite: LiteGradCamModel, images, rr, n_classes: int = 6):
    lit_some = 0
    for class_index in (None, *range(n_classes)):
        expected, expected_targets = explain.grad_cam(
            keras_model, images, rr=rr, class_index=class_index
        )
        got, targets = lite.grad_cam(images, rr=rr, class_index=class_index)
        np.testing.assert_array_equal(targets, expected_targets)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() < MAP_ATOL
        lit_some += int((got.reshape(len(got), -1).max(axis=1) > 0).sum())
    assert lit_some > len(images)  # not a comparison of empty maps


@pytest.mark.parametrize(
    "kind", ["image", "image+rr", "ensemble", "ensemble+rr", "every-layer"]
)  # fmt: skip
def test_lite_grad_cam_equals_keras_grad_cam(tmp_path, kind):
    from ecg.models.architectures import build_ensemble

    with_rr = kind.endswith("+rr") or kind == "every-layer"
    if kind.startswith("ensemble"):
        model = build_ensemble([cnn(1, with_rr), cnn(2, with_rr)], name="pair")
    elif kind == "every-layer":
        model = every_supported_layer()
    else:
        model = cnn(1, with_rr)
    path = saved(model, tmp_path, "m", with_rr)
    info = export_gradcam(path)
    assert gradcam_is_fresh(path) and info["max_abs_diff_heat_maps"] < MAP_ATOL
    lite = load_gradcam_model(path)
    assert lite.layer_name == explain.explained_layer_name(model)
    images, rr = sample_inputs(with_rr=with_rr)
    assert_same_maps(model, lite, images, rr)
    feed = {"image": images[..., None], **({"rr": rr} if with_rr else {})}
    np.testing.assert_allclose(lite(feed), model(feed, training=False), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["beat_image_cnn", "recording_spec_ctx"])
def test_shipped_models_give_the_keras_heat_maps(tmp_path, name):
    from ecg.models.bundle import load_bundle

    source = ROOT / "models" / f"{name}.keras"
    if not source.is_file():
        pytest.skip(f"{source.name} is not shipped in this checkout")
    for suffix in (".keras", ".json"):
        shutil.copy(source.with_suffix(suffix), tmp_path / f"{name}{suffix}")
    path = tmp_path / f"{name}.keras"
    export_gradcam(path, n_check=2)
    bundle = load_bundle(path)
    images, rr = sample_inputs(
        n_random=3, with_rr=bool(bundle.rr_width), rr_width=bundle.rr_width, size=64
    )
    assert_same_maps(bundle.model, load_gradcam_model(path), images, rr, len(bundle.classes))


def test_bilinear_resize_is_tf_image_resize():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for (h, w), size in [((8, 8), (64, 64)), ((5, 7), (32, 20)), ((16, 16), (8, 8)),
                         ((1, 3), (4, 9))]:  # fmt: skip
        maps = rng.random((2, h, w)).astype(np.float32)
        expected = tf.image.resize(maps[..., None], size, method="bilinear").numpy()[..., 0]
        np.testing.assert_allclose(resize_bilinear(maps, size), expected, atol=1e-6)


def unknown_after_features(kind: str):
    import keras
    from keras import layers

    image = keras.Input((SIZE, SIZE, 1), dtype="uint8", name="image")
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(layers.Rescaling(1 / 255)(image))
    if kind == "layer":
        x = layers.Flatten()(layers.LayerNormalization(name="odd")(x))
    elif kind == "activation":
        x = layers.Dense(8, activation="tanh", name="odd")(layers.Flatten()(x))
    elif kind == "padding":
        x = layers.Flatten()(layers.MaxPooling2D(padding="same", name="odd")(x))
    out = layers.Dense(6, activation="softmax")(x)
    return keras.Model(image, out)


@pytest.mark.parametrize("kind", ["layer", "activation", "padding"])
def test_unknown_head_layers_are_refused_clearly(tmp_path, kind):
    model = unknown_after_features(kind)
    with pytest.raises(HeadError, match=r"layer 'odd' .*after the explained layer.*needs Keras"):
        describe(model)
    path = saved(model, tmp_path, "odd", with_rr=False)
    with pytest.raises(HeadError):
        export_gradcam(path)
    assert not any(p.exists() for p in gradcam_paths(path))
    assert not list(tmp_path.glob(".*tmp*"))


def test_ensemble_not_averaging_its_members_is_refused():
    import keras

    members = [cnn(1, False), cnn(2, False)]
    members[0].name, members[1].name = "first", "second"
    image = keras.Input((SIZE, SIZE, 1), dtype="uint8", name="image")
    out = keras.layers.Maximum()([members[0](image), members[1](image)])
    with pytest.raises(HeadError, match="Maximum; only Average is known"):
        describe(keras.Model(image, out))


def test_export_command_exports_grad_cam_and_notes_unsupported_models(tmp_path, capsys):
    build_tiny_bundle(tmp_path, "ok", kind="beat_image")
    saved(unknown_after_features("layer"), tmp_path, "odd", with_rr=False)
    call_command("export_lite_models", models_dir=str(tmp_path))  # no CommandError
    out = capsys.readouterr().out
    assert "ok.keras: Grad-CAM exported" in out
    assert "odd.keras: no LiteRT Grad-CAM" in out and "heat maps use Keras" in out
    assert gradcam_is_fresh(tmp_path / "ok.keras")
    assert not gradcam_is_fresh(tmp_path / "odd.keras")
    call_command("export_lite_models", models_dir=str(tmp_path))
    assert "ok.keras: LiteRT Grad-CAM up to date" in capsys.readouterr().out


# -- which runtime explains: the service ---------------------------------------------------------


def test_service_explains_with_litert_when_the_export_is_fresh(models_copy):
    from ecg.models.bundle import load_bundle

    path = models_copy / "tiny-beat.keras"
    service = ModelRegistry(models_copy)
    bundle = service.explain_bundle(kind="beat_image")
    assert isinstance(bundle.model, LiteGradCamModel)
    assert service.explain_runtimes == {path: "litert"}
    assert service.explain_bundle(kind="beat_image") is bundle  # loaded once
    keras_bundle = load_bundle(path)
    assert explain.bundle_explained_layer_name(bundle) == explain.explained_layer_name(
        keras_bundle.model
    )
    images, _ = sample_inputs(size=64)
    lite_maps, lite_targets = explain.bundle_grad_cam(bundle, images)
    keras_maps, keras_targets = explain.bundle_grad_cam(keras_bundle, images)
    np.testing.assert_array_equal(lite_targets, keras_targets)
    assert np.abs(lite_maps - keras_maps).max() < MAP_ATOL


def make_stale(models_copy: Path, how: str) -> None:
    path = models_copy / "tiny-beat.keras"
    if how == "retrained":
        build_tiny_bundle(models_copy, "tiny-beat", kind="beat_image", seed=99)
    elif how == "missing":
        for file in gradcam_paths(path):
            file.unlink()
    elif how == "older format":
        sidecar = gradcam_paths(path)[2]
        info = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**info, "head_format": 0}))
    assert not gradcam_is_fresh(path)


@pytest.mark.parametrize("how", ["retrained", "missing", "older format"])
def test_stale_or_missing_export_falls_back_to_keras(models_copy, how, caplog):
    import keras

    make_stale(models_copy, how)
    service = ModelRegistry(models_copy)
    bundle = service.explain_bundle(kind="beat_image")
    assert isinstance(bundle.model, keras.Model)
    assert service.explain_runtimes == {models_copy / "tiny-beat.keras": "keras"}
    assert "no fresh LiteRT Grad-CAM export, using Keras" in caplog.text
    heat, _ = explain.bundle_grad_cam(bundle, sample_inputs(size=64)[0][:2])
    assert heat.shape == (2, 64, 64)


@pytest.mark.parametrize("how", ["retrained", "missing"])
def test_lite_runtime_refuses_heat_maps_without_a_fresh_export(models_copy, how):
    make_stale(models_copy, how)
    if how == "retrained":
        export_lite(models_copy / "tiny-beat.keras")  # predictions could run, heat maps not
    service = ModelRegistry(models_copy, runtime="lite")
    service.serving_bundle(kind="beat_image")
    with pytest.raises(ModelNotInstalledError) as err:
        service.explain_bundle(kind="beat_image")
    assert "no up-to-date LiteRT Grad-CAM export" in err.value.detail
    assert "export_lite_models" in err.value.detail


def test_keras_runtime_explains_with_keras_even_when_exported(models_copy):
    import keras

    service = ModelRegistry(models_copy, runtime="keras")
    bundle = service.explain_bundle(kind="beat_image")
    assert isinstance(bundle.model, keras.Model)
    assert bundle is service.serving_bundle(kind="beat_image")  # one Keras bundle, not two


@pytest.mark.django_db
def test_heat_map_under_lite_runtime_without_export_says_what_to_run(user, settings, models_copy):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from classifier import services
    from reports.services import HeatMapUnavailable, prediction_heatmap_get_or_create

    settings.MODELS_DIR = models_copy
    settings.MODEL_RUNTIME = "lite"
    upload = SimpleUploadedFile("beat.png", beat_image_bytes())
    prediction = services.prediction_create(owner=user, uploaded_file=upload)
    make_stale(models_copy, "missing")
    with pytest.raises(HeatMapUnavailable, match="no up-to-date LiteRT Grad-CAM export; run"):
        prediction_heatmap_get_or_create(prediction=prediction)


def test_a_recording_beat_is_explained_without_importing_tensorflow(tmp_path):
    """A serving process (web or worker) explains a beat of a recording with the RR model."""
    path = build_tiny_bundle(tmp_path, "rec", task="recording", with_rr=True, favour="N")
    export_lite(path)
    export_gradcam(path)
    code = (
        "import numpy as np\n"
        "from ecg.models import explain\n"
        "from ecg.models.registry import ModelRegistry\n"
        f"service = ModelRegistry({str(tmp_path)!r})\n"
        f"bundle = service.explain_bundle_at({str(path)!r})\n"
        "fs = 360.0\n"
        "t = np.arange(int(10 * fs)) / fs\n"
        "peaks = np.arange(1, 10) * int(fs)\n"
        "signal = sum(np.exp(-(((t - p / fs) / 0.015) ** 2)) for p in peaks)\n"
        "images, heat, targets = explain.explain_beats(bundle, signal, fs, peaks, [2, 5])\n"
        "layer = explain.bundle_explained_layer_name(bundle)\n"
        "print(heat.shape, layer.startswith('conv2d'), set(service.explain_runtimes.values()))\n"
    )
    lines, imported_tensorflow = run_fresh_python(code)
    assert lines == ["(2, 64, 64) True {'litert'}"]
    assert not imported_tensorflow
