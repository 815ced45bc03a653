"""The model service: one per process, loads each model from ``MODELS_DIR`` once, on first use.

Nothing is loaded at import time (``migrate`` and most tests never touch TensorFlow). Loading is
guarded by a lock so two first requests in different threads do not load the same model twice.
Preprocessing is the pipeline's own ``load_image_for_model``: the same code training uses.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image

from classifier.ml.bundle import BundleError, ModelBundle, load_bundle, read_metadata
from classifier.ml.images import detect_image_kind, load_image_for_model, to_grayscale_array

logger = logging.getLogger(__name__)

IMAGE_KINDS = ("beat_image", "spectrogram")
INSTALL_COMMAND = "python manage.py build_dataset && python manage.py train_model"


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
    def __init__(self, models_dir: Path, preferred: dict[str, str] | None = None):
        self.models_dir = Path(models_dir)
        self.preferred = dict(preferred or {})  # {kind: model name or file stem}
        self._lock = threading.Lock()
        self._bundles: dict[Path, ModelBundle] = {}

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
    def image_bundle(self, kind: str) -> ModelBundle:
        """The loaded model for ``kind``; ``ModelNotInstalledError`` if absent or unusable."""
        path = self.image_model_paths().get(kind)
        if path is None:
            raise ModelNotInstalledError(
                f"No {kind.replace('_', ' ')} model is installed in {self.models_dir}."
            )
        return self._load(path)

    def _load(self, path: Path) -> ModelBundle:
        bundle = self._bundles.get(path)
        if bundle is not None:
            return bundle
        with self._lock:
            bundle = self._bundles.get(path)
            if bundle is None:
                try:
                    bundle = load_bundle(path)
                except BundleError as exc:
                    logger.error("model not usable: %s", exc)
                    detail = f"The model {path.name} cannot be loaded."
                    raise ModelNotInstalledError(detail) from exc
                self._bundles[path] = bundle
                logger.info("loaded model %s v%s from %s", bundle.name, bundle.version, path)
        return bundle

    def warm_up(self) -> list[str]:
        """Load every installed image model now (benchmarks, gunicorn ``post_fork``)."""
        return [self.image_bundle(kind).name for kind in self.installed_image_kinds()]

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
        bundle = self.image_bundle(kind)
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
    return ModelService(settings.MODELS_DIR, getattr(settings, "IMAGE_MODELS", None))
