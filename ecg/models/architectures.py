"""Model-building functions (no globals): ours, and the original project's CNN as the baseline.

Every model takes the uint8 image as input "image" (H, W, 1) and rescales it inside, so serving
feeds the rendered image as is. Models using rhythm context take input "rr" (float32: the six
RR features, optionally followed by the record-context features of ``context``), standardised
inside the model by a ``Normalization`` layer adapted on the training beats.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def build_cnn(
    image_size: int,
    n_classes: int,
    *,
    rr_train: np.ndarray | None = None,
    filters: tuple[int, ...] = (8, 16, 32, 64),
    dense: int = 64,
    dropout: float = 0.3,
    channels: int = 1,
) -> Any:
    """Our small CNN: conv blocks keep position (amplitude in mV, time in ms), then dense.

    With ``rr_train`` (the training beats' RR features) the model gets the "rr" input too;
    ``channels``: images per beat stacked as channels (one per lead; every shipped model: 1).
    """
    import keras
    from keras import layers

    image = keras.Input((image_size, image_size, channels), dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255.0)(image)
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        # momentum 0.9: the moving statistics settle within the first epoch of a short run
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(dense, activation="relu")(x)
    inputs = [image]
    if rr_train is not None:
        rr = keras.Input((rr_train.shape[1],), dtype="float32", name="rr")
        norm = layers.Normalization(name="rr_norm")
        norm.adapt(np.asarray(rr_train, dtype=np.float32))
        r = norm(rr)
        r = layers.Dense(32, activation="relu")(r)
        x = layers.Concatenate()([x, r])
        inputs.append(rr)
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, out, name="ecg_cnn")


def build_baseline(image_size: int, n_classes: int) -> Any:
    """The original project's CNN: Conv2D(32) -> MaxPool -> Flatten -> Dense 200 -> 300 -> out.

    Its 64x64x3 input rescaled by 1/255 is reproduced inside the model from our grayscale image.
    """
    import keras
    from keras import layers

    image = keras.Input((image_size, image_size, 1), dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255.0)(image)
    x = layers.Concatenate()([x, x, x])  # the original fed RGB copies of a grayscale plot
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(200, activation="relu")(x)
    x = layers.Dense(300, activation="relu")(x)
    out = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(image, out, name="original_cnn")


def build_ensemble(members: list[Any], name: str = "ecg_ensemble") -> Any:
    """One Keras model averaging the probabilities of ``members`` (same inputs, same classes).

    Several seeds of one configuration disagree most on unseen patients; their mean is steadier
    than any one of them. The result keeps the serving contract: the members' named inputs
    ("image", and "rr" if they use it) and one softmax output.
    """
    import keras
    from keras import layers

    if not members:
        raise ValueError("an ensemble needs at least one member")
    inputs = {
        t.name: keras.Input(t.shape[1:], dtype=t.dtype, name=t.name) for t in members[0].inputs
    }
    outputs = []
    for i, member in enumerate(members):
        # Members share a name ("ecg_cnn"); nested layers in one model need distinct names.
        member.name = f"member_{i}"
        feed = [inputs[t.name] for t in member.inputs]
        outputs.append(member(feed if len(feed) > 1 else feed[0]))
    out = layers.Average(name="probabilities")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(list(inputs.values()), out, name=name)
