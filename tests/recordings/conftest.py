"""Fixtures for the whole-recording tests: a tiny real Keras model bundle, synthetic records."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.ml.classes import class_codes


def make_tiny_bundle(folder, *, task: str = "recording", inputs=("image",)):
    """A real (untrained, seeded) Keras CNN saved with ``save_bundle`` -- small and fast."""
    import keras

    from classifier.ml.bundle import load_bundle, save_bundle

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 1), name="image", dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 5, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model_inputs = [image]
    if "rr" in inputs:
        rr = keras.Input((6,), name="rr", dtype="float32")
        x = keras.layers.Concatenate()([x, rr])
        model_inputs.append(rr)
    out = keras.layers.Dense(6, activation="softmax")(x)
    model = keras.Model(model_inputs, out)
    metadata = {
        "name": "tiny_recording",
        "version": "1",
        "classes": class_codes("six"),
        "label_set": "six",
        "representation": {"kind": "beat_image", "params": {"size": 64, "mv_range": [-1.5, 2.5]}},
        "inputs": list(inputs),
        "image_size": 64,
        "sampling_rate": 360,
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "task": task,
    }
    return load_bundle(save_bundle(model, metadata, folder / "tiny_recording.keras"))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("models"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
