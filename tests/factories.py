"""Builders for test data shared by every test folder: tiny real Keras models and images.

``build_tiny_bundle`` writes a *real* (untrained, randomly initialised but seeded) Keras model
with complete pipeline metadata through ``ecg.models.bundle.save_bundle``: the web app loads
and runs it exactly like a shipped model, so tests exercise the true code path without training.
``run_fresh_python`` runs code in a new process, as a serving process starts (e.g. to check
that it never imports TensorFlow).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ecg.classes import class_codes
from ecg.models.bundle import save_bundle

TINY_IMAGE_SIZE = 64
ROOT = Path(__file__).resolve().parents[1]


def tiny_metadata(
    name: str, *, kind: str, task: str = "image", with_rr: bool = False, **extra
) -> dict:
    """Complete bundle metadata (all REQUIRED_KEYS) for a six-class model."""
    metadata = {
        "name": name,
        "version": "0.0-test",
        "classes": class_codes("six"),
        "label_set": "six",
        "representation": {"kind": kind, "params": {}},
        "inputs": ["image", "rr"] if with_rr else ["image"],
        "image_size": TINY_IMAGE_SIZE,
        "sampling_rate": 360,
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "task": task,
        "training": {"note": "tiny untrained test model"},
    }
    metadata.update(extra)
    return metadata


def build_tiny_model(
    *,
    n_classes: int = 6,
    with_rr: bool = False,
    seed: int = 0,
    favour: int | None = None,
    channels: int = 1,
    rr_size: int = 6,
):
    """A few-hundred-parameter CNN with the pipeline's input names ("image", optional "rr").

    ``favour`` (a class index) gets a large output bias, so tests know which class wins while
    the probabilities still come from running the network on the image. ``channels``: 2 for a
    two-lead model (issue 17; its metadata needs ``channels`` and ``channel_leads`` too).
    ``rr_size``: the width of the "rr" input (6 RR features; more with record context).
    """
    import keras

    keras.utils.set_random_seed(seed)
    shape = (TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, channels)
    image = keras.Input(shape, name="image", dtype="uint8")
    x = keras.layers.Rescaling(1 / 255.0)(image)
    x = keras.layers.Conv2D(4, 5, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    inputs = [image]
    if with_rr:
        rr = keras.Input((rr_size,), name="rr", dtype="float32")
        inputs.append(rr)
        x = keras.layers.Concatenate()([x, rr])
    dense = keras.layers.Dense(n_classes, activation="softmax")
    out = dense(x)
    model = keras.Model(inputs=inputs, outputs=out)
    if favour is not None:
        kernel, bias = dense.get_weights()
        bias[favour] += 4.0
        dense.set_weights([kernel, bias])
    return model


def build_tiny_bundle(
    directory: Path,
    name: str,
    *,
    kind: str = "beat_image",
    task: str = "image",
    with_rr: bool = False,
    seed: int = 0,
    favour: str | None = None,
    channels: int = 1,
    rr_size: int = 6,
    **metadata_extra,
) -> Path:
    """Save ``<directory>/<name>.keras`` + ``.json``; returns the .keras path.

    ``favour`` is a class code (e.g. "V") the model will predict for almost any image.
    """
    index = class_codes("six").index(favour) if favour else None
    model = build_tiny_model(
        with_rr=with_rr, seed=seed, favour=index, channels=channels, rr_size=rr_size
    )
    if channels != 1:
        metadata_extra = {"channels": channels, **metadata_extra}
    metadata = tiny_metadata(name, kind=kind, task=task, with_rr=with_rr, **metadata_extra)
    return save_bundle(model, metadata, Path(directory) / name)


def synthetic_beat(seed: int = 0, fs: float = 360.0) -> np.ndarray:
    """A 0.7-s beat window in mV (P, QRS, T), varied a little by ``seed``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(0.7 * fs))) / fs
    r = rng.uniform(0.8, 1.8)

    def wave(centre: float, width: float, height: float) -> np.ndarray:
        return height * np.exp(-(((t - centre) / width) ** 2))

    return (
        wave(0.1, 0.02, 0.15)
        + wave(0.25, 0.012, r)
        - wave(0.275, 0.01, 0.3 * r)
        + wave(0.5 + rng.uniform(-0.03, 0.03), 0.04, rng.uniform(0.2, 0.4))
    ).astype(np.float32)


def beat_image_bytes(fmt: str = "PNG", size: int = 64, seed: int = 0) -> bytes:
    """A beat image as the pipeline draws it (``representations.beat_image``): white trace on
    black. At size 64 as PNG/BMP it is in the app's own format (the fast path); other sizes and
    JPEG are read by the digitiser."""
    from ecg.imaging.representations import beat_image

    img = beat_image(synthetic_beat(seed)[None], 360.0, size=size, mv_range=[-1.5, 2.5])[0]
    return encode(img, fmt)


def spectrogram_image_bytes(fmt: str = "PNG", size: int = 64, seed: int = 0) -> bytes:
    """A spectral image in the app's own format (``representations.spectrogram``)."""
    from ecg.imaging.representations import SPECTROGRAM_DEFAULTS, spectrogram

    params = {**SPECTROGRAM_DEFAULTS, "size": size}
    return encode(spectrogram(synthetic_beat(seed)[None], 360.0, **params)[0], fmt)


def foreign_spectrogram_bytes(seed: int = 0) -> bytes:
    """A dense image that is not in the app's spectral format (random grey levels)."""
    rng = np.random.default_rng(seed)
    return encode(rng.integers(60, 200, size=(64, 64), dtype=np.uint8))


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def run_fresh_python(code: str) -> tuple[list[str], bool]:
    """Run ``code`` in a fresh Python process at the project root, as a serving process starts;
    returns the lines it printed and whether it had imported TensorFlow or Keras by its end."""
    probe = "\nimport sys\nprint('tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code + probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    *lines, imported = out.stdout.strip().split("\n")
    return lines, imported == "True"
