"""The model service: one per process, loads each model from ``MODELS_DIR`` once, on first use.

Nothing is loaded at import time (``migrate`` and most tests never touch TensorFlow). Loading is
guarded by a lock so two first requests in different threads do not load the same model twice.
Preprocessing is the pipeline's own ``load_image_for_model``: the same code training uses.

Runtime (``settings.MODEL_RUNTIME``): ``auto`` (default) runs a model's network in LiteRT when
``python manage.py export_lite_models`` has converted the current ``.keras`` file (about 45 MB
instead of TensorFlow's 600 MB per process; see ``ecg.models.lite_runtime``), else in Keras;
``lite`` insists on LiteRT; ``keras`` always uses Keras/TensorFlow. Grad-CAM heat maps follow
the same rule (``explain_bundle``): the LiteRT view + NumPy head that the same command exports
(``lite_runtime.export_gradcam``), else the Keras model.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from ecg.imaging.images import detect_image_kind, load_image_for_model, to_grayscale_array
from ecg.models.bundle import BundleError, ModelBundle, read_metadata
from ecg.models.lite_runtime import (
    LiteNotAvailableError,
    load_explain_bundle,
    load_serving_bundle,
)

logger = logging.getLogger(__name__)

IMAGE_KINDS = ("beat_image", "spectrogram")
INSTALL_COMMAND = "python manage.py build_dataset && python manage.py train_model"
LITE_COMMAND = "python manage.py export_lite_models"
RUNTIMES = ("auto", "lite", "keras")


class PredictionFailedError(RuntimeError):
    """The model is installed but failed on this input (a bug or broken runtime, not bad input)."""

    message = (
        "The model failed while classifying this image, so nothing was stored. "
        "Please try again; if it keeps failing, tell the site administrator."
    )


class ModelNotInstalledError(RuntimeError):
    """No usable model for the request: missing, or its file is corrupt."""

    install_command = INSTALL_COMMAND

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class ImageClassification:
    label: str
    confidence: float
    probabilities: dict[str, float]
    kind: str  # the representation used: beat_image or spectrogram
    kind_detected: bool  # True when the kind came from detect_image_kind
    model_name: str
    model_version: str


class ModelService:
    def __init__(
        self,
        models_dir: Path,
        preferred: dict[str, str] | None = None,
        runtime: str = "auto",
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"MODEL_RUNTIME must be one of {RUNTIMES}, not {runtime!r}")
        self.models_dir = Path(models_dir)
        self.preferred = dict(preferred or {})  # {kind: model name or file stem}
        self.runtime = runtime
        self._lock = threading.Lock()
        self._bundles: dict[Path, ModelBundle] = {}  # serving bundles
        self._keras_bundles: dict[Path, ModelBundle] = {}
        self._explain_bundles: dict[Path, ModelBundle] = {}
        self.runtimes: dict[Path, str] = {}  # path -> "litert" or "keras", once loaded
        self.explain_runtimes: dict[Path, str] = {}  # the same, for Grad-CAM
        # path -> why it could not be loaded or failed its output check (read by /healthz)
        self.load_problems: dict[Path, str] = {}

    # -- discovery (metadata only, no TensorFlow) -------------------------------------------
    def image_model_paths(self) -> dict[str, Path]:
        """``{kind: path}`` of the image models on disk.

        Several models of one kind: the one named in ``settings.IMAGE_MODELS`` wins, otherwise
        the first by file name.
        """
        found: dict[str, Path] = {}
        for path in sorted(self.models_dir.glob("*.keras")):
            try:
                meta = read_metadata(path)
            except BundleError as exc:
                logger.warning("skipping model: %s", exc)
                continue
            kind = meta.get("representation", {}).get("kind")
            if meta.get("task") != "image" or kind not in IMAGE_KINDS:
                continue
            if self.preferred.get(kind) in (meta.get("name"), path.stem):
                found[kind] = path
            else:
                found.setdefault(kind, path)
        return found

    def installed_image_kinds(self) -> list[str]:
        return [k for k in IMAGE_KINDS if k in self.image_model_paths()]

    def image_models_metadata(self) -> dict[str, dict[str, Any]]:
        return {kind: read_metadata(path) for kind, path in self.image_model_paths().items()}

    # -- loading --------------------------------------------------------------------------------
    def _path_for(self, kind: str) -> Path:
        path = self.image_model_paths().get(kind)
        if path is None:
            raise ModelNotInstalledError(
                f"No {kind.replace('_', ' ')} model is installed in {self.models_dir}."
            )
        return path

    def serving_bundle(self, kind: str) -> ModelBundle:
        """The bundle predictions for ``kind`` run on (LiteRT when converted, see the module
        docstring); ``ModelNotInstalledError`` if absent or unusable."""
        return self.serving_bundle_at(self._path_for(kind))

    def image_bundle(self, kind: str) -> ModelBundle:
        """The full Keras bundle for ``kind`` (layers, gradients).

        Loading it imports TensorFlow (about 600 MB per process), so predictions never need it:
        they use ``serving_bundle``; heat maps use ``explain_bundle``. Same metadata and
        weights as the serving bundle.
        """
        return self.keras_bundle_at(self._path_for(kind))

    def explain_bundle(self, kind: str) -> ModelBundle:
        """The bundle Grad-CAM heat maps for ``kind`` are computed with (``explain_bundle_at``)."""
        return self.explain_bundle_at(self._path_for(kind))

    def explain_bundle_at(self, path: Path) -> ModelBundle:
        """Any model by its ``.keras`` path, for ``explain.bundle_grad_cam``; loaded once.

        With a fresh Grad-CAM export (``export_lite_models``) and ``MODEL_RUNTIME`` auto or
        lite, its model is a ``LiteGradCamModel``: the same heat maps without importing
        TensorFlow. Otherwise the Keras bundle (``auto``, ``keras``), or
        ``ModelNotInstalledError`` naming the command (``lite``).
        """
        return self._cached(path, "explain")

    def serving_bundle_at(self, path: Path) -> ModelBundle:
        """Any model (image or recording) by its ``.keras`` path, for predictions; loaded once."""
        return self._cached(path, "serving")

    def keras_bundle_at(self, path: Path) -> ModelBundle:
        """Any model by its ``.keras`` path, always in Keras; loaded once."""
        return self._cached(path, "keras")

    def _cached(self, path: Path, purpose: str) -> ModelBundle:
        """The bundle for ``purpose`` ("serving", "explain" or "keras"), loaded once per model
        (checked again under the lock: two first requests must not load it twice). A Keras
        bundle serves every purpose that falls back on Keras."""
        path = Path(path)
        cache = {"serving": self._bundles, "explain": self._explain_bundles}.get(
            purpose, self._keras_bundles
        )
        bundle = cache.get(path)
        if bundle is None:
            with self._lock:
                bundle = cache.get(path)
                if bundle is None:
                    runtime = "keras" if purpose == "keras" else self.runtime
                    if purpose == "explain":
                        bundle, used = self._load(path, runtime, explain=True)
                    else:
                        bundle, used = self._load(path, runtime)
                    cache[path] = bundle
                    if purpose != "keras":
                        runtimes = self.runtimes if purpose == "serving" else self.explain_runtimes
                        runtimes[path] = used
                    if used == "keras":
                        self._keras_bundles[path] = bundle
                    logger.info(
                        "loaded model %s v%s from %s (%s, for %s)",
                        bundle.name, bundle.version, path, used, purpose,
                    )  # fmt: skip
        return bundle

    def _load(self, path: Path, runtime: str, explain: bool = False) -> tuple[ModelBundle, str]:
        """The serving bundle, or with ``explain`` the Grad-CAM one (see ``explain_bundle_at``)."""
        try:
            bundle, used = self._load_checked(path, runtime, explain)
        except ModelNotInstalledError as exc:
            self.load_problems[path] = exc.detail
            raise
        self.load_problems.pop(path, None)
        return bundle, used

    def _load_checked(self, path: Path, runtime: str, explain: bool) -> tuple[ModelBundle, str]:
        what = "LiteRT Grad-CAM export" if explain else "LiteRT conversion"
        try:
            loader = load_explain_bundle if explain else load_serving_bundle
            # Keras: the bundle already loaded for the other purpose, if any (one per model).
            bundle, used = loader(path, runtime, self._keras_bundles.get(path))
        except LiteNotAvailableError as exc:
            raise ModelNotInstalledError(
                f"The model {path.name} has no up-to-date {what}; run {LITE_COMMAND}."
            ) from exc
        except (BundleError, ValueError, RuntimeError, OSError) as exc:
            logger.error("model not usable: %s", exc)
            raise ModelNotInstalledError(f"The model {path.name} cannot be loaded.") from exc
        if used == "keras" and runtime == "auto":
            # Heat maps then import TensorFlow: about 600 MB more in this process.
            logger.warning("%s: no fresh %s, using Keras (%s)", path, what, LITE_COMMAND)
        self._check_outputs(bundle)
        return bundle, used

    @staticmethod
    def _check_outputs(bundle: ModelBundle) -> None:
        """One blank input through the network (also warms it up): a model whose output does
        not match its metadata's class list is refused rather than mislabelled."""
        size = bundle.image_size
        rr = np.ones((1, bundle.rr_width), np.float32) if bundle.rr_width else None
        try:
            probs = bundle.predict_proba(np.zeros((1, size, size), np.uint8), rr)
        except Exception as exc:
            raise ModelNotInstalledError(f"The model {bundle.path.name} cannot run.") from exc
        if probs.shape != (1, len(bundle.classes)):
            raise ModelNotInstalledError(
                f"The model {bundle.path.name} gives {probs.shape[-1]} outputs for "
                f"{len(bundle.classes)} classes in its metadata."
            )

    def warm_up(self) -> list[str]:
        """Load every installed image model for serving now (benchmarks, server start)."""
        return [self.serving_bundle(kind).name for kind in self.installed_image_kinds()]

    # -- inference ------------------------------------------------------------------------------
    def classify_image(
        self, image: Image.Image, *, image_type: str = "auto"
    ) -> ImageClassification:
        """Classify one decoded image. ``image_type`` is beat_image, spectrogram or auto.

        "auto" applies the pipeline's documented rule, ``detect_image_kind``: an image that is
        mostly flat background (a line drawing) is a beat image, a dense one is a spectrogram.
        """
        detected = image_type == "auto"
        if detected:
            kind = detect_image_kind(to_grayscale_array(image))
        elif image_type in IMAGE_KINDS:
            kind = image_type
        else:
            raise ValueError(f"unknown image type {image_type!r}")
        bundle = self.serving_bundle(kind)
        pixels = load_image_for_model(image, size=bundle.image_size, kind=bundle.kind)
        result = bundle.predictions(bundle.predict_proba(pixels[None]))[0]
        return ImageClassification(
            label=result.label,
            confidence=result.confidence,
            probabilities=result.probabilities,
            kind=kind,
            kind_detected=detected,
            model_name=bundle.name,
            model_version=bundle.version,
        )


@lru_cache(maxsize=1)
def get_model_service() -> ModelService:
    """The process-wide service (cleared when ``MODELS_DIR`` changes, e.g. in tests)."""
    return ModelService(
        settings.MODELS_DIR,
        preferred=getattr(settings, "IMAGE_MODELS", None),
        runtime=getattr(settings, "MODEL_RUNTIME", "auto"),
    )
