"""Serve the pipeline's Keras models with the LiteRT (TensorFlow Lite) interpreter.

Why: importing TensorFlow alone puts about 600 MB in a process's RSS; the LiteRT interpreter
runs the *same* network (same weights, same float32 arithmetic, same in-model rescaling) in
about 45 MB. Training keeps using Keras; ``export_lite`` converts ``models/<name>.keras`` into
``models/<name>.tflite`` once and checks that both give the same probabilities on random
inputs. A sidecar ``models/<name>.tflite.json`` records the SHA-256 of the ``.keras`` file it
came from, so a retrained model is never served by a stale conversion (the service then falls
back to Keras). The preprocessing before the network is untouched: still
``ecg.imaging.images.load_image_for_model``.

Grad-CAM needs gradients, which only TensorFlow computes for a Keras model. ``export_gradcam``
splits each model into a LiteRT *view* (inputs -> the explained feature maps, plus whatever else
the rest of the network reads) and a NumPy *head* that runs the remaining layers backwards
(``ecg.models.gradcam_head``), checked against ``explain.grad_cam``; ``LiteGradCamModel``
then computes the same heat maps without TensorFlow. Same staleness rule (the ``.keras`` file's
SHA-256 in the sidecar ``<name>.gradcam.tflite.json``).

A recording model may also be exported at ``precision="int8"`` (``<name>.int8.tflite``):
dynamic-range quantisation, its weights stored as 8-bit integers and its activations kept in
float32. XNNPACK then runs its convolutions in integer arithmetic, about 45 % less CPU per beat
for ``recording_mixed``, at the cost of probabilities that differ from Keras by up to about
0.01. Whether the app serves it is the registry's ``recording_precision`` (settings
``RECORDING_MODEL_PRECISION``), decided by ``benchmarks/quantised_serving.py`` on validation
data; image models are never quantised (the own-format fast path stays bit-for-bit as it was).

No Django here; TensorFlow is imported only by ``export_lite`` and ``export_gradcam``.

Long on purpose: export, freshness check and serving share one file format; they change together.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ecg.models.bundle import (
    BundleError,
    ModelBundle,
    channel_count,
    file_sha256,
    load_bundle,
    read_metadata,
    rr_input_width,
)
from ecg.models.explain import model_inputs
from ecg.models.gradcam_head import HEAD_FORMAT, GradCamHead

logger = logging.getLogger(__name__)

# Largest difference in any class probability accepted between Keras and LiteRT.
TOLERANCE = 1e-4
# The int8 conversion's limit, on the same random inputs: quantised weights move the
# probabilities (0.004-0.02 for the shipped recording models); beyond this the conversion is
# refused and the float32 one serves instead.
INT8_TOLERANCE = 0.05
# Serving precisions of a LiteRT conversion (see the module docstring).
PRECISIONS = ("float32", "int8")
# Largest difference in any heat-map pixel (maps lie in [0, 1]) between Keras and LiteRT.
MAP_TOLERANCE = 1e-4
SIGNATURE = "serving_default"
# Images per interpreter call in ``LiteModel.predict``. XNNPACK's probabilities do not depend
# on the batch (checked in the tests); 32 spectrograms at a time keep the three networks'
# activations in the CPU caches: about 20 % less CPU time than 512 (0.74-0.78 s against
# 0.92-0.97 s for 2,263 beats of ``recording_mixed``, one or two threads; 16: no better).
INVOKE_BATCH = 32


class LiteExportError(RuntimeError):
    pass


def lite_paths(keras_path: Path, precision: str = "float32") -> tuple[Path, Path]:
    """``<name>.tflite`` and its sidecar; ``<name>.int8.tflite`` for the int8 conversion."""
    keras_path = Path(keras_path)
    stem = keras_path.stem if _checked(precision) == "float32" else f"{keras_path.stem}.{precision}"
    return keras_path.with_name(f"{stem}.tflite"), keras_path.with_name(f"{stem}.tflite.json")


def _checked(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return precision


def _is_fresh(keras_path: Path, files: tuple[Path, ...], sidecar: Path, **expected: Any) -> bool:
    """True if ``files`` and their ``sidecar`` exist and the sidecar names the current
    ``.keras`` file's SHA-256 (and holds ``expected`` values, e.g. the export format)."""
    if not all(path.is_file() for path in files):
        return False
    info = _current_sidecar(keras_path, sidecar)
    return info is not None and all(info.get(key) == value for key, value in expected.items())


def _current_sidecar(keras_path: Path, sidecar: Path) -> dict[str, Any] | None:
    """The sidecar's record when it names the current ``.keras`` file's SHA-256, else None
    (missing, unreadable, or written for an earlier version of the model)."""
    try:
        info = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return info if info.get("source_sha256") == file_sha256(Path(keras_path)) else None


def lite_is_fresh(keras_path: Path, precision: str = "float32") -> bool:
    """True if ``<name>.tflite`` (``<name>.int8.tflite``) exists and was converted from the
    current ``<name>.keras``."""
    tflite, sidecar = lite_paths(keras_path, precision)
    return _is_fresh(keras_path, (tflite,), sidecar)


def lite_refused(keras_path: Path, precision: str) -> str | None:
    """Why the current ``<name>.keras`` has no ``precision`` conversion (its export check
    failed, ``export_lite``), or None when it was never refused."""
    info = _current_sidecar(keras_path, lite_paths(keras_path, precision)[1])
    return None if info is None else info.get("refused")


def gradcam_paths(keras_path: Path) -> tuple[Path, Path, Path]:
    """The Grad-CAM export of ``<name>.keras``: ``<name>.gradcam.tflite`` (the view: inputs to
    feature maps), ``<name>.gradcam.npz`` (the head) and the sidecar ``.gradcam.tflite.json``."""
    keras_path = Path(keras_path)
    stem = keras_path.with_suffix("").name
    return (
        keras_path.with_name(f"{stem}.gradcam.tflite"),
        keras_path.with_name(f"{stem}.gradcam.npz"),
        keras_path.with_name(f"{stem}.gradcam.tflite.json"),
    )


def gradcam_is_fresh(keras_path: Path) -> bool:
    """True if the Grad-CAM export exists, was made from the current ``<name>.keras`` and by
    this code's head format."""
    view, head, sidecar = gradcam_paths(keras_path)
    return _is_fresh(keras_path, (view, head), sidecar, head_format=HEAD_FORMAT)


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
        self.num_threads = num_threads
        # ``num_threads`` one-thread interpreters ("lanes") side by side rather than one
        # interpreter with ``num_threads`` threads: XNNPACK's threads meet at a barrier after
        # every operator, and on a 2-core machine whose other core also draws the next batch
        # of images, one preempted thread stalls both. One-thread lanes fed independent
        # batches never wait for each other; same probabilities (the tests check it).
        self._lanes: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(max(1, int(num_threads))):
            interpreter = Interpreter(model_path=str(self.path), num_threads=1)
            self._lanes.put(interpreter.get_signature_runner(SIGNATURE))
        runner = self._lanes.get()
        details = runner.get_input_details()
        self._lanes.put(runner)
        self.input_names = sorted(details)
        self._dtypes = {name: details[name]["dtype"] for name in details}

    @property
    def inputs(self) -> list[str]:
        return list(self.input_names)

    def run(self, inputs) -> dict[str, np.ndarray]:
        """Every output of the network by name (inputs it does not take are ignored)."""
        if not isinstance(inputs, dict):
            inputs = {"image": inputs}
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise ValueError(f"{self.path.name} needs inputs {sorted(missing)}")
        feed = {
            name: np.ascontiguousarray(inputs[name], dtype=self._dtypes[name])
            for name in self.input_names
        }
        runner = self._lanes.get()  # waits while every lane is busy
        try:
            outputs = runner(**feed)
            # copy: the interpreter reuses its buffers
            return {name: np.array(value) for name, value in outputs.items()}
        finally:
            self._lanes.put(runner)

    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        (probs,) = self.run(inputs).values()
        return probs

    def predict(self, inputs, batch_size: int = INVOKE_BATCH, verbose=0) -> np.ndarray:
        if not isinstance(inputs, dict):
            inputs = {"image": inputs}
        n = len(inputs["image"])
        chunks = [
            {k: v[i : i + batch_size] for k, v in inputs.items()} for i in range(0, n, batch_size)
        ]
        if self.num_threads > 1 and len(chunks) > 1:
            # Each lane takes the next chunk (the interpreter releases the GIL while it runs).
            with ThreadPoolExecutor(
                max_workers=self.num_threads, thread_name_prefix="lite"
            ) as pool:
                parts = list(pool.map(self, chunks))
        else:
            parts = [self(chunk) for chunk in chunks]
        return np.concatenate(parts) if parts else np.empty((0, 0), np.float32)

    predict_on_batch = __call__


class LiteGradCamModel(LiteModel):
    """A network's Grad-CAM view in LiteRT and its head in NumPy (``gradcam_head``).

    Called like ``LiteModel`` it returns the class probabilities (the head recomputes them);
    ``grad_cam`` gives the heat maps ``explain.grad_cam`` gives on the Keras model, without
    TensorFlow. ``explain.bundle_grad_cam`` uses it through ``explain.SelfExplaining``.
    """

    def __init__(self, tflite_path: Path, head: GradCamHead, num_threads: int = 1):
        super().__init__(tflite_path, num_threads=num_threads)
        self.head = head
        self.layer_name = head.layer_name

    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        return self.head.probabilities(self.run(inputs)).astype(np.float32)

    predict_on_batch = __call__

    def grad_cam(
        self,
        images: np.ndarray,
        *,
        rr: np.ndarray | None = None,
        class_index: int | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heat maps (n, H, W) float32 in [0, 1] and the explained classes; see ``grad_cam``."""
        images, inputs = model_inputs(images, rr, self.input_names)
        return self.head.grad_cam(self.run(inputs), images.shape[1:3], class_index)


def load_gradcam_model(keras_path: Path, num_threads: int = 1) -> LiteGradCamModel:
    view, head_file, _ = gradcam_paths(keras_path)
    with np.load(head_file, allow_pickle=False) as arrays:
        structure = json.loads(str(arrays["structure"]))
        head = GradCamHead.from_parts(structure, arrays)
    return LiteGradCamModel(view, head, num_threads=num_threads)


class LiteBundle(ModelBundle):
    """A ``ModelBundle`` whose network runs in LiteRT.

    ``predict_proba`` is overridden (same inputs, same checks, same output) so it does not
    depend on how ``ModelBundle`` calls a Keras model; everything else -- metadata,
    ``render``, ``predictions``, ``classify_beats`` -- is the pipeline's own code.
    """

    runtime = "litert"

    def predict_proba(self, images: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        images = self.model_images(images)  # (n, H, W, channels), as ``ModelBundle`` checks
        if len(images) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float64)
        inputs = {"image": images}
        if "rr" in self.metadata["inputs"]:
            if rr is None:
                raise BundleError(f"model {self.name} needs RR-interval features")
            inputs["rr"] = np.asarray(rr, dtype=np.float32)
        return np.asarray(self.model.predict(inputs), dtype=np.float64)


def load_lite_bundle(
    keras_path: Path, num_threads: int = 1, precision: str = "float32"
) -> LiteBundle:
    """A ``ModelBundle`` (same metadata, same methods) whose network runs in LiteRT; its
    ``runtime`` is "litert", or "litert-int8" for the int8 conversion (stored with each
    recording's summary, so an answer says which arithmetic gave it)."""
    keras_path = Path(keras_path)
    metadata = read_metadata(keras_path)
    tflite, _ = lite_paths(keras_path, precision)
    bundle = LiteBundle(LiteModel(tflite, num_threads=num_threads), metadata, keras_path)
    if precision != "float32":
        bundle.runtime = f"litert-{precision}"
    return bundle


class LiteNotAvailableError(RuntimeError):
    """``runtime="lite"`` was asked for but the model has no up-to-date conversion."""


def load_serving_bundle(
    keras_path: Path,
    runtime: str = "auto",
    keras_bundle: ModelBundle | None = None,
    *,
    num_threads: int = 1,
    precision: str = "float32",
) -> tuple[ModelBundle, str]:
    """Load a bundle for serving; returns it and the runtime used ("litert", "litert-int8" or
    "keras").

    ``auto``: LiteRT when ``<name>.tflite`` is a fresh conversion of ``<name>.keras`` (and
    ai-edge-litert is installed), else Keras (``keras_bundle`` if the caller has it loaded
    already). ``lite``: LiteRT or ``LiteNotAvailableError``. ``keras``: always Keras. Any
    process that serves models (web worker, task worker) can use this to stay free of
    TensorFlow. Raises ``BundleError`` for an unusable model. ``num_threads``: the LiteRT
    interpreter's threads (the same probabilities with any number; Keras ignores it).
    ``precision="int8"``: the int8 conversion when it is fresh (runtime auto or lite), else
    the float32 rules above, with a warning: a missing int8 export never stops serving.
    """
    keras_path = Path(keras_path)
    if _checked(precision) != "float32" and runtime != "keras":
        if lite_is_fresh(keras_path, precision) and litert_available():
            return load_lite_bundle(keras_path, num_threads, precision), f"litert-{precision}"
        logger.warning(
            "%s: no fresh %s LiteRT conversion, serving float32 (python manage.py "
            "export_lite_models)", keras_path.name, precision,
        )  # fmt: skip
    return _load_for_runtime(
        Path(keras_path), runtime, lite_is_fresh,
        lambda path: load_lite_bundle(path, num_threads=num_threads), "LiteRT conversion",
        keras_bundle,
    )  # fmt: skip


def load_explain_bundle(
    keras_path: Path, runtime: str = "auto", keras_bundle: ModelBundle | None = None
) -> tuple[ModelBundle, str]:
    """A bundle that can be explained with Grad-CAM, and the runtime used ("litert"/"keras").

    Same rules as ``load_serving_bundle``, on the Grad-CAM export (``export_gradcam``): its
    ``model`` is then a ``LiteGradCamModel`` (no TensorFlow), else the Keras model
    (``keras_bundle`` if the caller has it loaded already).
    """
    return _load_for_runtime(
        Path(keras_path), runtime, gradcam_is_fresh, load_gradcam_bundle,
        "LiteRT Grad-CAM export", keras_bundle,
    )  # fmt: skip


def load_gradcam_bundle(keras_path: Path, num_threads: int = 1) -> LiteBundle:
    """A ``ModelBundle`` whose model is the Grad-CAM export (predicts and explains)."""
    keras_path = Path(keras_path)
    metadata = read_metadata(keras_path)
    return LiteBundle(load_gradcam_model(keras_path, num_threads), metadata, keras_path)


def _load_for_runtime(
    keras_path: Path,
    runtime: str,
    is_fresh: Callable[[Path], bool],
    load_lite: Callable[[Path], ModelBundle],
    what: str,
    keras_bundle: ModelBundle | None = None,
) -> tuple[ModelBundle, str]:
    if runtime != "keras" and is_fresh(keras_path) and litert_available():
        return load_lite(keras_path), "litert"
    if runtime == "lite":
        raise LiteNotAvailableError(f"{keras_path.name} has no up-to-date {what}")
    return keras_bundle or load_bundle(keras_path), "keras"


def _random_inputs(metadata: dict[str, Any], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = int(metadata["image_size"])
    shape = (n, size, size, channel_count(metadata))
    inputs = {"image": rng.integers(0, 256, shape, dtype=np.uint8)}
    if "rr" in metadata["inputs"]:
        inputs["rr"] = rng.uniform(0.2, 2.0, (n, rr_input_width(metadata))).astype(np.float32)
    return inputs


def export_lite(
    keras_path: Path, *, n_check: int = 32, precision: str = "float32"
) -> dict[str, Any]:
    """Convert ``<name>.keras`` to ``<name>.tflite`` (``precision="int8"``: the dynamic-range
    quantised ``<name>.int8.tflite``) and verify it; returns the sidecar info.

    Raises ``LiteExportError`` (and leaves no file) if the converted network's probabilities
    differ from Keras' by more than ``TOLERANCE`` (int8: ``INT8_TOLERANCE``) anywhere.
    """
    keras_path = Path(keras_path)
    tflite, sidecar = lite_paths(keras_path, precision)
    bundle = load_bundle(keras_path)
    tmp = tflite.with_name(f".{tflite.stem}.tmp.tflite")
    options: dict[str, Any] = {}
    if precision == "int8":
        import tensorflow as tf

        options["optimizations"] = [tf.lite.Optimize.DEFAULT]  # weights int8, activations float
    bundle.model.export(str(tmp), format="litert", verbose=False, **options)
    tolerance = TOLERANCE if precision == "float32" else INT8_TOLERANCE
    try:
        inputs = _random_inputs(bundle.metadata, n_check)
        expected = np.asarray(bundle.model(inputs, training=False), dtype=np.float64)
        got = LiteModel(tmp)(inputs).astype(np.float64)
        single = LiteModel(tmp)({k: v[:1] for k, v in inputs.items()}).astype(np.float64)
        diff = float(max(np.abs(got - expected).max(), np.abs(single - expected[:1]).max()))
        if not diff <= tolerance:
            raise LiteExportError(
                f"{keras_path.name}: LiteRT ({precision}) and Keras differ by {diff:.2e} "
                f"(> {tolerance:g})"
            )
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        tflite.unlink(missing_ok=True)
        if precision != "float32" and isinstance(exc, LiteExportError):
            # Remembered for this .keras file, so each server start does not convert again.
            _write_sidecar(sidecar, keras_path, {"refused": str(exc), "precision": precision})
        raise
    tmp.replace(tflite)
    info = {"max_abs_diff": diff, "checked_inputs": n_check, "tolerance": tolerance,
            "precision": precision}  # fmt: skip
    return _write_sidecar(sidecar, keras_path, info)


def _write_sidecar(sidecar: Path, keras_path: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Record what an export was made from (the freshness checks read ``source_sha256``)."""
    info = {
        "source": keras_path.name,
        "source_sha256": file_sha256(keras_path),
        **info,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    sidecar.write_text(json.dumps(info, indent=2) + "\n")
    return info


def export_gradcam(keras_path: Path, *, n_check: int = 16) -> dict[str, Any]:
    """Export ``<name>.keras``'s Grad-CAM for serving without TensorFlow; returns the sidecar.

    Writes the view (inputs -> explained feature maps and the other tensors the head reads) as
    ``<name>.gradcam.tflite`` and the head (``gradcam_head``) as ``<name>.gradcam.npz``, after
    checking on random inputs that they give Keras' probabilities (to ``TOLERANCE``) and
    ``explain.grad_cam``'s heat maps (to ``MAP_TOLERANCE``, same classes) for the predicted
    class and for another one. ``HeadError`` for a model with a layer the head does not know,
    ``LiteExportError`` for a mismatch; either way no export is left behind.
    """
    from ecg.models.gradcam_head import HeadError, describe

    keras_path = Path(keras_path)
    view_path, head_path, sidecar = gradcam_paths(keras_path)
    if channel_count(read_metadata(keras_path)) > 1:
        # Issue 17: heat maps draw one lead's image; a two-lead model's are not offered yet
        # (``reports.selectors.recording_heatmap_unavailable_reason``).
        raise HeadError("a two-channel model: heat maps are not drawn for two leads yet")
    bundle = load_bundle(keras_path)
    view, head = describe(bundle.model)
    tmp_view = view_path.with_name(f".{view_path.stem}.tmp.tflite")
    tmp_head = head_path.with_name(f".{head_path.stem}.tmp.npz")
    try:
        view.export(str(tmp_view), format="litert", verbose=False)
        np.savez(tmp_head, structure=np.array(json.dumps(head.structure())), **head.arrays())
        with np.load(tmp_head, allow_pickle=False) as arrays:  # check what was written
            head = GradCamHead.from_parts(json.loads(str(arrays["structure"])), arrays)
        info = _check_gradcam(bundle, LiteGradCamModel(tmp_view, head), n_check)
    except BaseException:
        tmp_view.unlink(missing_ok=True)
        tmp_head.unlink(missing_ok=True)
        raise
    sidecar.unlink(missing_ok=True)  # no sidecar: never fresh while the files are replaced
    tmp_view.replace(view_path)
    tmp_head.replace(head_path)
    info = {
        "head_format": HEAD_FORMAT,
        "explained_layer": head.layer_name,
        "head_layers": [[op.layer for op in member.ops] for member in head.members],
        **info,
    }
    return _write_sidecar(sidecar, keras_path, info)


def _check_gradcam(bundle: ModelBundle, lite: LiteGradCamModel, n_check: int) -> dict[str, Any]:
    """Compare the export with Keras/TF on random inputs; LiteExportError beyond tolerance."""
    from ecg.models import explain

    inputs = _random_inputs(bundle.metadata, n_check, seed=1)
    images, rr = inputs["image"][..., 0], inputs.get("rr")
    expected = np.asarray(bundle.model(inputs, training=False), dtype=np.float64)
    prob_diff = float(np.abs(lite(inputs) - expected).max())
    map_diff = 0.0
    keras_maps, targets = explain.grad_cam(bundle.model, images, rr=rr)
    for class_index in (None, (targets + 1) % len(bundle.classes)):
        if class_index is not None:
            keras_maps, targets = explain.grad_cam(
                bundle.model, images, rr=rr, class_index=class_index
            )
        maps, lite_targets = lite.grad_cam(images, rr=rr, class_index=class_index)
        if not np.array_equal(lite_targets, targets):
            raise LiteExportError(f"{bundle.path.name}: Grad-CAM explains other classes in LiteRT")
        map_diff = max(map_diff, float(np.abs(maps - keras_maps).max()))
    if not (prob_diff <= TOLERANCE and map_diff <= MAP_TOLERANCE):
        raise LiteExportError(
            f"{bundle.path.name}: LiteRT Grad-CAM differs from Keras: probabilities by "
            f"{prob_diff:.2e} (max {TOLERANCE:g}), heat maps by {map_diff:.2e} "
            f"(max {MAP_TOLERANCE:g})"
        )
    return {
        "max_abs_diff_probabilities": prob_diff,
        "max_abs_diff_heat_maps": map_diff,
        "checked_inputs": n_check,
        "tolerance_probabilities": TOLERANCE,
        "tolerance_heat_maps": MAP_TOLERANCE,
    }
