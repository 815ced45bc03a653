"""Image classification on top of the model registry (``ecgsite.model_registry``).

Which model serves an image kind, and in which runtime, is the registry's business; this module
picks the kind (given, or detected), prepares the pixels with the pipeline's own
``load_image_for_model`` (the same code training uses) and runs the serving bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ecg.imaging.images import detect_image_kind, load_image_for_model, to_grayscale_array
from ecg.models.registry import IMAGE_KINDS, ModelNotInstalledError, ModelRegistry
from ecgsite.model_registry import get_model_registry

__all__ = [
    "IMAGE_KINDS",
    "ImageClassification",
    "ModelNotInstalledError",
    "PredictionFailedError",
    "classify_image",
]


class PredictionFailedError(RuntimeError):
    """The model is installed but failed on this input (a bug or broken runtime, not bad input)."""

    message = (
        "The model failed while classifying this image, so nothing was stored. "
        "Please try again; if it keeps failing, tell the site administrator."
    )


@dataclass(frozen=True)
class ImageClassification:
    label: str
    confidence: float
    probabilities: dict[str, float]
    kind: str  # the representation used: beat_image or spectrogram
    kind_detected: bool  # True when the kind came from detect_image_kind
    model_name: str
    model_version: str


def classify_image(
    image: Image.Image, *, image_type: str = "auto", registry: ModelRegistry | None = None
) -> ImageClassification:
    """Classify one decoded image. ``image_type`` is beat_image, spectrogram or auto.

    "auto" applies the pipeline's documented rule, ``detect_image_kind``: an image that is
    mostly flat background (a line drawing) is a beat image, a dense one is a spectrogram.
    ``ModelNotInstalledError`` when no usable model serves the kind.
    """
    detected = image_type == "auto"
    if detected:
        kind = detect_image_kind(to_grayscale_array(image))
    elif image_type in IMAGE_KINDS:
        kind = image_type
    else:
        raise ValueError(f"unknown image type {image_type!r}")
    bundle = (registry or get_model_registry()).serving_bundle(kind=kind)
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
