"""Serve the pipeline's Keras models with the LiteRT (TensorFlow Lite) interpreter.

Why: importing TensorFlow alone puts about 600 MB in a process's RSS; the LiteRT interpreter
runs the *same* network (same weights, same float32 arithmetic, same in-model rescaling) in
about 45 MB. Training keeps using Keras; ``export_lite`` converts ``models/<name>.keras`` into
``models/<name>.tflite`` once and checks that both give the same probabilities on random
inputs. A sidecar ``models/<name>.tflite.json`` records the SHA-256 of the ``.keras`` file it
came from, so a retrained model is never served by a stale conversion (the service then falls
back to Keras). The preprocessing before the network is untouched: still
``classifier.ml.images.load_image_for_model``.

No Django here; TensorFlow is imported only by ``export_lite``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from classifier.ml.bundle import (
    BundleError,
    ModelBundle,
    load_bundle,
    read_metadata,
    rr_input_width,
)

# Largest difference in any class probability accepted between Keras and LiteRT.
TOLERANCE = 1e-4
SIGNATURE = "serving_default"


class LiteExportError(RuntimeError):
    pass


def lite_paths(keras_path: Path) -> tuple[Path, Path]:
    keras_path = Path(keras_path)
    return keras_path.with_suffix(".tflite"), keras_path.with_name(f"{keras_path.stem}.tflite.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lite_is_fresh(keras_path: Path) -> bool:
    """True if ``<name>.tflite`` exists and was converted from the current ``<name>.keras``."""
    tflite, sidecar = lite_paths(keras_path)
    if not (tflite.is_file() and sidecar.is_file()):
        return False
    try:
        info = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return False
    return info.get("source_sha256") == file_sha256(Path(keras_path))


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteModel:
    """A LiteRT interpreter for one converted network.

    ``model({"image": uint8 (n, H, W, 1), "rr": float32 (n, k)})`` returns the class
    probabilities (n, n_classes); a bare image array works for one-input models.
    """

    def __init__(self, tflite_path: Path, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(tflite_path)
        self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._runner = self._interpreter.get_signature_runner(SIGNATURE)
        details = self._runner.get_input_details()
        self.input_names = sorted(details)
        self._dtypes = {name: details[name]["dtype"] for name in details}
        self._lock = threading.Lock()

    @property
    def inputs(self) -> list[str]:
        return list(self.input_names)

    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        if not isinstance(inputs, dict):
            inputs = {"image": inputs}
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise ValueError(f"{self.path.name} needs inputs {sorted(missing)}")
        feed = {
            name: np.ascontiguousarray(inputs[name], dtype=self._dtypes[name])
            for name in self.input_names
        }
        with self._lock:
            outputs = self._runner(**feed)
        (probs,) = outputs.values()
        return np.array(probs)  # copy: the interpreter reuses its buffers

    def predict(self, inputs, batch_size: int = 512, verbose=0) -> np.ndarray:
        if not isinstance(inputs, dict):
            inputs = {"image": inputs}
        n = len(inputs["image"])
        parts = [
            self({k: v[i : i + batch_size] for k, v in inputs.items()})
            for i in range(0, n, batch_size)
        ]
        return np.concatenate(parts) if parts else np.empty((0, 0), np.float32)

    predict_on_batch = __call__


class LiteBundle(ModelBundle):
    """A ``ModelBundle`` whose network runs in LiteRT.

    ``predict_proba`` is overridden (same inputs, same checks, same output) so it does not
    depend on how ``ModelBundle`` calls a Keras model; everything else -- metadata,
    ``render``, ``predictions``, ``classify_beats`` -- is the pipeline's own code.
    """

    runtime = "litert"

    def predict_proba(self, images: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        images = np.asarray(images, dtype=np.uint8)
        if images.ndim == 2:
            images = images[None]
        inputs = {"image": images[..., None]}
        if "rr" in self.metadata["inputs"]:
            if rr is None:
                raise BundleError(f"model {self.name} needs RR-interval features")
            inputs["rr"] = np.asarray(rr, dtype=np.float32)
        return np.asarray(self.model.predict(inputs), dtype=np.float64)


def load_lite_bundle(keras_path: Path, num_threads: int = 1) -> LiteBundle:
    """A ``ModelBundle`` (same metadata, same methods) whose network runs in LiteRT."""
    keras_path = Path(keras_path)
    metadata = read_metadata(keras_path)
    tflite, _ = lite_paths(keras_path)
    return LiteBundle(LiteModel(tflite, num_threads=num_threads), metadata, keras_path)


class LiteNotAvailableError(RuntimeError):
    """``runtime="lite"`` was asked for but the model has no up-to-date conversion."""


def load_serving_bundle(keras_path: Path, runtime: str = "auto") -> tuple[ModelBundle, str]:
    """Load a bundle for serving; returns it and the runtime used ("litert" or "keras").

    ``auto``: LiteRT when ``<name>.tflite`` is a fresh conversion of ``<name>.keras`` (and
    ai-edge-litert is installed), else Keras. ``lite``: LiteRT or ``LiteNotAvailableError``.
    ``keras``: always Keras. Any process that serves models (web worker, task worker) can use
    this to stay free of TensorFlow. Raises ``BundleError`` for an unusable model.
    """
    keras_path = Path(keras_path)
    if runtime != "keras" and lite_is_fresh(keras_path) and litert_available():
        return load_lite_bundle(keras_path), "litert"
    if runtime == "lite":
        raise LiteNotAvailableError(f"{keras_path.name} has no up-to-date LiteRT conversion")
    return load_bundle(keras_path), "keras"


def _random_inputs(metadata: dict[str, Any], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = int(metadata["image_size"])
    inputs = {"image": rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)}
    if "rr" in metadata["inputs"]:
        inputs["rr"] = rng.uniform(0.2, 2.0, (n, rr_input_width(metadata))).astype(np.float32)
    return inputs


def export_lite(keras_path: Path, *, n_check: int = 32) -> dict[str, Any]:
    """Convert ``<name>.keras`` to ``<name>.tflite`` and verify it; returns the sidecar info.

    Raises ``LiteExportError`` (and leaves no ``.tflite``) if the converted network's
    probabilities differ from Keras' by more than ``TOLERANCE`` anywhere.
    """
    keras_path = Path(keras_path)
    tflite, sidecar = lite_paths(keras_path)
    bundle = load_bundle(keras_path)
    tmp = tflite.with_name(f".{tflite.stem}.tmp.tflite")
    bundle.model.export(str(tmp), format="litert", verbose=False)
    try:
        inputs = _random_inputs(bundle.metadata, n_check)
        expected = np.asarray(bundle.model(inputs, training=False), dtype=np.float64)
        got = LiteModel(tmp)(inputs).astype(np.float64)
        single = LiteModel(tmp)({k: v[:1] for k, v in inputs.items()}).astype(np.float64)
        diff = float(max(np.abs(got - expected).max(), np.abs(single - expected[:1]).max()))
        if not diff <= TOLERANCE:
            raise LiteExportError(
                f"{keras_path.name}: LiteRT and Keras differ by {diff:.2e} (> {TOLERANCE:g})"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(tflite)
    info = {
        "source": keras_path.name,
        "source_sha256": file_sha256(keras_path),
        "max_abs_diff": diff,
        "checked_inputs": n_check,
        "tolerance": TOLERANCE,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    sidecar.write_text(json.dumps(info, indent=2) + "\n")
    return info
