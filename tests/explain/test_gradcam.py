"""Grad-CAM on tiny models trained here on a synthetic pattern whose position we know."""

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation

from ecg.models import explain

SIZE = 32
LONG, SHORT = 12, 3


def synthetic_set(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise images with one bright bar anywhere: class 0 horizontal, class 1 vertical.

    Returns images (n, 32, 32) uint8, labels (n,), and a boolean mask of each bar (n, 32, 32).
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(n, SIZE, SIZE)).astype(np.uint8)
    labels = rng.integers(0, 2, size=n)
    masks = np.zeros((n, SIZE, SIZE), dtype=bool)
    for i, label in enumerate(labels):
        height, width = (LONG, SHORT) if label else (SHORT, LONG)
        row = rng.integers(0, SIZE - height + 1)
        col = rng.integers(0, SIZE - width + 1)
        masks[i, row : row + height, col : col + width] = True
    images[masks] = 255
    return images, labels, masks


def tiny_model(with_rr: bool):
    import keras

    image = keras.Input((SIZE, SIZE, 1), name="image", dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    inputs = [image]
    if with_rr:
        rr = keras.Input((6,), name="rr")
        x = keras.layers.Concatenate()([x, keras.layers.Dense(4, activation="relu")(rr)])
        inputs.append(rr)
    out = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module", params=[False, True], ids=["image", "image+rr"])
def trained(request):
    import keras

    keras.utils.set_random_seed(0)
    images, labels, _ = synthetic_set(600, seed=1)
    model = tiny_model(with_rr=request.param)
    rr = np.ones((len(images), 6), dtype=np.float32)
    feed = {"image": images[..., None], "rr": rr} if request.param else images[..., None]
    model.fit(feed, labels, epochs=8, batch_size=32, verbose=0)
    return model, request.param


def test_heat_map_has_the_input_size_and_highlights_the_bar(trained):
    model, with_rr = trained
    images, labels, masks = synthetic_set(40, seed=2)
    rr = np.ones((len(images), 6), dtype=np.float32) if with_rr else None
    heatmaps, explained = explain.grad_cam(model, images, rr=rr)
    assert heatmaps.shape == images.shape and heatmaps.dtype == np.float32
    assert 0.0 <= heatmaps.min() and heatmaps.max() <= 1.0
    assert (explained == labels).mean() >= 0.9  # the model learnt the task
    ratios, peaks_on_bar = [], []
    for heat, mask in zip(heatmaps, masks, strict=True):
        ratios.append(heat[mask].mean() / max(heat[~mask].mean(), 1e-6))
        # The hottest pixel lies on the bar, give or take 2 px (the maps are half-resolution).
        near = binary_dilation(mask, iterations=2)
        peaks_on_bar.append(near.flat[np.argmax(heat)])
    assert np.median(ratios) > 3.0
    assert np.mean(peaks_on_bar) >= 0.9


def test_explaining_the_other_class_looks_elsewhere(trained):
    model, with_rr = trained
    images, labels, masks = synthetic_set(20, seed=3)
    rr = np.ones((len(images), 6), dtype=np.float32) if with_rr else None
    own, _ = explain.grad_cam(model, images, rr=rr, class_index=labels)
    other, explained = explain.grad_cam(model, images, rr=rr, class_index=1 - labels)
    assert (explained == 1 - labels).all()
    own_on_bar = [heat[mask].mean() for heat, mask in zip(own, masks, strict=True)]
    other_on_bar = [heat[mask].mean() for heat, mask in zip(other, masks, strict=True)]
    assert np.mean(np.greater(own_on_bar, other_on_bar)) >= 0.9


def test_rr_model_without_rr_is_a_clear_error():
    model = tiny_model(with_rr=True)
    with pytest.raises(explain.ExplainError, match="RR"):
        explain.grad_cam(model, synthetic_set(1)[0])


def test_overlay_png_is_the_enlarged_image():
    image = np.zeros((SIZE, SIZE), dtype=np.uint8)
    heat = np.zeros((SIZE, SIZE), dtype=np.float32)
    heat[:4, :4] = 1.0
    data = explain.overlay_png(image, heat, scale=4)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert decoded.shape == (SIZE * 4, SIZE * 4, 3)
    assert decoded[:16, :16].sum() > 0  # the hot corner is coloured
    assert decoded[64:, 64:].sum() == 0  # cold regions keep the (black) image
    with pytest.raises(explain.ExplainError):
        explain.overlay(image, heat[:10])


def test_model_without_convolution_is_rejected():
    import keras

    inp = keras.Input((SIZE, SIZE, 1), name="image")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(inp)))
    with pytest.raises(explain.ExplainError, match="no top-level Conv2D"):
        explain.last_conv_layer(model)


def test_explain_beats_of_a_recording_uses_the_classification_path(tmp_path):
    from ecg.models.bundle import load_bundle
    from tests.explain.test_explain_model_command import small_bundle

    small_bundle(tmp_path)
    bundle = load_bundle(tmp_path / "tiny.keras")
    fs = 360.0
    t = np.arange(int(10 * fs)) / fs
    peaks = np.arange(1, 10) * int(fs)
    signal = np.zeros_like(t, dtype=np.float32)
    for p in peaks:
        signal += 1.2 * np.exp(-(((t - p / fs) / 0.015) ** 2)).astype(np.float32)
    kept, all_images, probs = bundle.classify_beats(signal, fs, peaks)
    images, heat, targets = explain.explain_beats(bundle, signal, fs, peaks, [2, 5])
    np.testing.assert_array_equal(images, all_images[[2, 5]])
    assert heat.shape == (2, 64, 64)
    np.testing.assert_array_equal(targets, np.argmax(probs[[2, 5]], axis=1))
    with pytest.raises(explain.ExplainError, match="no full window"):
        explain.explain_beats(bundle, signal, fs, np.array([10, *peaks]), [0])


def test_feature_layer_follows_batch_norm_and_activation_but_not_pooling():
    import keras

    image = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(image)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(image, keras.layers.Dense(2, activation="softmax")(x))
    assert explain.last_conv_layer(model).name == "conv"
    assert explain.feature_layer(model).name == "relu"
    heat, _ = explain.grad_cam(model, synthetic_set(2)[0])
    assert heat.shape == (2, SIZE, SIZE)


def test_a_seed_ensemble_is_explained_by_its_members_maps_for_its_own_class(trained):
    # The shipped image models are seed ensembles: convolutions live inside member sub-models.
    # Their map is the mean of the members' maps for the ENSEMBLE's class.
    from ecg.models.architectures import build_ensemble

    model, with_rr = trained
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    ensemble = build_ensemble([model, twin], name="pair")
    images, labels, masks = synthetic_set(20, seed=3)
    rr = np.ones((len(images), 6), dtype=np.float32) if with_rr else None
    heatmaps, explained = explain.grad_cam(ensemble, images, rr=rr)
    single, single_explained = explain.grad_cam(model, images, rr=rr)
    assert heatmaps.shape == images.shape
    np.testing.assert_array_equal(explained, single_explained)
    assert explain.explained_layer_name(ensemble) == "member_0/last_conv, member_1/last_conv"
    assert explain.explained_layer_name(model) == "last_conv"
    # Two identical members: the ensemble's map is exactly its member's map.
    np.testing.assert_allclose(heatmaps, single, atol=1e-5)
    on_bar = [
        heat[mask].mean() > heat[~mask].mean() for heat, mask in zip(heatmaps, masks, strict=True)
    ]
    assert np.mean(on_bar) >= 0.9
