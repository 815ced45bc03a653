"""Image classification on top of the model registry (``ecgsite.model_registry``).

Which model serves an image kind, and in which runtime, is the registry's business; this module
picks the kind (given, or detected), prepares the pixels with the pipeline's own
``load_image_for_model`` (the same code training uses) and runs the serving bundle.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.urls import reverse
from PIL import Image

from ecg.features.beat_states import uncertain_threshold
from ecg.imaging.digitise import Digitised, amplitude_candidates, beat_window, beat_window_span
from ecg.imaging.ecg_check import NO_TRACE, check_ecg_image
from ecg.imaging.images import (
    detect_image_kind,
    load_image_for_model,
    prepare_image,
    to_grayscale_array,
)
from ecg.imaging.layout import find_rows
from ecg.imaging.lighting import crop_refusal, even_lighting
from ecg.imaging.own_format import (
    check_beat_image_format,
    check_spectrogram_format,
    example_image,
)
from ecg.imaging.representations import render
from ecg.models.calibration import calibrated_probabilities
from ecg.models.registry import IMAGE_KINDS, ModelNotInstalledError, ModelRegistry, is_scale_free
from ecgsite.model_registry import get_model_registry

__all__ = [
    "IMAGE_KINDS",
    "ImageClassification",
    "ImageRefused",
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


# A digitised beat whose trace quality (``Digitised.quality``: share of columns seen x
# continuity) is under this is answered "uncertain". ecg_check refuses under 0.6; the
# benchmark's clean drawings score about 0.9-1.0 (docs/digitise.md).
MIN_CONFIDENT_QUALITY = 0.8
# Points of the stored trace overlay (downsampled pixel coordinates: a few kB of JSON).
TRACE_POINTS = 300
# Where the upload page documents the spectral-image format (an anchor on that page).
SPECTRAL_FORMAT_ANCHOR = "spectral-format"

SOURCE_OWN_FORMAT = "own_format"
SOURCE_DIGITISED = "digitised"


class ImageRefused(ValueError):
    """The image cannot be classified (no ECG trace, a foreign spectral image, a strip); the
    message is the sentence for the user and nothing is stored."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ImageClassification:
    label: str
    confidence: float
    probabilities: dict[str, float]
    kind: str  # the representation used: beat_image or spectrogram
    kind_detected: bool  # True when the kind came from detect_image_kind
    model_name: str
    model_version: str
    state: str = "classified"  # or "uncertain" (ecg.features.beat_states)
    state_reason: str = ""
    source: str = SOURCE_OWN_FORMAT  # or "digitised"
    # digitised: "grid" (read from ECG paper), "axis_labels" (a plot's y tick labels, with
    # scale_step_mv), "given" (no grid: the trace's height the user gave, trace_height_mv),
    # "assumed" (no grid: the scale-free model) or "prior" (no grid: averaged over the
    # training beats' amplitudes)
    scale_source: str = ""
    scale_step_mv: float | None = None
    trace_height_mv: float | None = None
    trace: dict[str, Any] | None = field(default=None)  # digitised: overlay data


def classify_image(
    image: Image.Image,
    *,
    image_type: str = "auto",
    trace_height_mv: float | None = None,
    registry: ModelRegistry | None = None,
) -> ImageClassification:
    """Classify one decoded image. ``image_type`` is beat_image, spectrogram or auto.
    ``trace_height_mv``: the drawn trace's height (lowest to highest point) in mV as the user
    knows it, used only for a digitised image whose scale the app cannot read (no ECG paper,
    no axis labels); a read scale wins.

    An image in the app's own beat-image or spectral-image format takes the fast path,
    unchanged since before the digitiser: "auto" applies ``detect_image_kind`` (mostly flat
    background: a beat image; dense: a spectrogram), the pixels go to the model as they are.
    Anything else is read by the digitiser (``_classify_foreign``). ``ImageRefused`` when it
    cannot be classified; ``ModelNotInstalledError`` when no usable model serves the kind.
    """
    if image_type != "auto" and image_type not in IMAGE_KINDS:
        raise ValueError(f"unknown image type {image_type!r}")
    registry = registry or get_model_registry()
    own_kind = _own_format_kind(image, image_type, registry)
    if own_kind is not None:
        return _classify_own_format(image, image_type=image_type, registry=registry)
    return _classify_foreign(
        image, image_type=image_type, trace_height_mv=trace_height_mv, registry=registry
    )


def format_example_png(*, kind: str, registry: ModelRegistry | None = None) -> bytes:
    """A synthetic beat drawn in the app's own ``kind`` format, with the serving model's drawing
    parameters (the library's defaults when no model serves the kind): the example the upload
    page offers. ``ValueError`` for an unknown kind."""
    if kind not in IMAGE_KINDS:
        raise ValueError(f"unknown image kind {kind!r}")
    params = _representation_params(registry or get_model_registry(), kind)
    buffer = io.BytesIO()
    example_image(kind, params).save(buffer, format="PNG")
    return buffer.getvalue()


def _representation_params(registry: ModelRegistry, kind: str) -> dict | None:
    """The serving model's drawing parameters for ``kind``, or None when none is installed.

    From the loaded bundle's metadata (in memory): reading the JSON files for every upload cost
    about 1.5 ms each, and serving loads the model anyway.
    """
    try:
        metadata = registry.serving_bundle(kind=kind).metadata
    except ModelNotInstalledError:
        return None
    return dict((metadata.get("representation") or {}).get("params") or {})


def _own_format_kind(image: Image.Image, image_type: str, registry: ModelRegistry) -> str | None:
    """Which of the app's own formats ``image`` is in (given ``image_type``), or None."""
    kinds = IMAGE_KINDS if image_type == "auto" else (image_type,)
    any_installed = False
    for kind in kinds:
        params = _representation_params(registry, kind)
        if params is None:
            continue
        any_installed = True
        check = check_beat_image_format if kind == "beat_image" else check_spectrogram_format
        if check(image, params).ok:
            return kind
    if not any_installed:
        # No model to compare with: today's path, which answers "model not installed".
        return image_type if image_type != "auto" else detect_image_kind(to_grayscale_array(image))
    return None


def _classify_own_format(
    image: Image.Image, *, image_type: str, registry: ModelRegistry
) -> ImageClassification:
    """The fast path: the image read as the app always read it, without the digitiser; the
    answer calibrated and judged against the model's threshold as every other answer is
    (issue 18: a beat at 30 % is not shown as a confident class)."""
    detected = image_type == "auto"
    kind = detect_image_kind(to_grayscale_array(image)) if detected else image_type
    bundle = registry.serving_bundle(kind=kind)
    pixels = load_image_for_model(image, size=bundle.image_size, kind=bundle.kind)
    probabilities = calibrated_probabilities(
        bundle.predict_proba(pixels[None]), bundle.metadata.get("calibration")
    )
    result = bundle.predictions(probabilities)[0]
    reason = _under_threshold(bundle, result.confidence)
    return ImageClassification(
        label=result.label,
        confidence=result.confidence,
        probabilities=result.probabilities,
        kind=kind,
        kind_detected=detected,
        model_name=bundle.name,
        model_version=bundle.version,
        state="uncertain" if reason else "classified",
        state_reason=reason,
    )


def _under_threshold(bundle, confidence: float) -> str:
    """Why the answer is uncertain when its calibrated top probability is under the model's
    calibrated threshold (issue 18), else ""."""
    threshold = uncertain_threshold(bundle.metadata)
    if threshold is None or confidence >= threshold:
        return ""
    return f"the model's top probability is under its calibrated {threshold:.0%}"


def _why_no_trace(reason: str) -> str:
    """The checker's reason as a bracketed detail, without repeating "no ECG trace found"."""
    detail = reason.removeprefix(NO_TRACE).lstrip(": ").strip()
    return f" ({detail})" if detail else ""


def _classify_foreign(
    image: Image.Image,
    *,
    image_type: str,
    trace_height_mv: float | None = None,
    registry: ModelRegistry,
) -> ImageClassification:
    """Digitise, then classify the beat window drawn as the app's own beat image: at the scale
    read from the image, else at the trace height the user gave, else by the scale-free beat
    model when one is installed, else averaged over the amplitude prior."""
    dense = detect_image_kind(to_grayscale_array(image)) == "spectrogram"
    if image_type == "spectrogram":
        raise _foreign_spectral(image, registry)
    # A photo's uneven light evened out first (the stored upload stays as sent).
    lighting = even_lighting(image)
    image = lighting.image
    layout = find_rows(image)
    rows = len(layout.rows)
    if rows >= 2:
        # A printed multi-lead ECG: no one beat to classify, and the digitiser follows one
        # line (issue 19). The recording upload reads its rhythm strip.
        raise ImageRefused(
            f"This looks like an ECG printout with {rows} rows of leads. This page classifies "
            "one beat at a time: upload an image of one beat, or upload the whole printout (or "
            f"a rhythm strip) on the recording upload ({reverse('recordings:upload')}), which "
            "reads a printout's full-width rhythm strip as a recording.",
            code="multi_row_image",
        )
    # What the row finder read of the image (background, colour distance, red grid pixels)
    # is not read again.
    verdict = check_ecg_image(image, reading=layout.reading)
    if verdict.status == "no_trace":
        why = _why_no_trace(verdict.reason)
        if dense and image_type == "auto":
            # A dense picture with no trace may be a spectral image drawn by other code (or a
            # photo): say both, since neither reading applies.
            spectral = _foreign_spectral(image, registry).message
            raise ImageRefused(
                f"No ECG trace found in this image{why}, and it is not a spectral "
                f"image we can read either. {spectral}",
                code="no_ecg_trace",
            )
        raise ImageRefused(
            f"No ECG trace found in this image{why}. Upload a plot or a photo "
            "of one ECG beat, or a beat or spectral image drawn by this app.",
            code="no_ecg_trace",
        )
    if verdict.status == "ecg" and (why := crop_refusal(lighting)):
        # Only for a trace read as an ECG: noise or a web page is told there is no trace, and a
        # gradient's edge is answered "uncertain" (unlike an ECG), not asked to crop a photo.
        raise ImageRefused(f"This photo cannot be read: {why}.", code="photo_not_cropped")
    digitised = verdict.digitised
    assert digitised is not None  # "ecg" and "unlike_ecg" always carry the trace
    # A trace unlike an ECG is answered "uncertain" whatever its length (issue 19: never a
    # confident class, and not "not an ECG": ventricular flutter looks like this too).
    if digitised.kind == "strip" and verdict.status == "ecg":
        raise ImageRefused(
            f"This looks like a strip of several beats ({digitised.n_peaks} found): upload it "
            f"on the recording upload ({reverse('recordings:upload')}), which reads a strip "
            "image as a recording and classifies every beat with its rhythm. This page "
            "classifies one beat at a time.",
            code="strip_image",
        )
    # Without a grid or axis labels the amplitude is unknown unless the user gave the trace's
    # height: then the millivolt model reads it at that height (the trace is normalised to
    # peak-to-peak 1). Else the scale-free single-beat model answers when one is installed
    # (registry); a grid image keeps the millivolt model (issue 19).
    given = trace_height_mv if digitised.scale_source == "assumed" else None
    amplitude = "unknown" if digitised.scale_source == "assumed" and given is None else "known"
    bundle = registry.serving_bundle(kind="beat_image", amplitude=amplitude)
    fs = float(bundle.metadata.get("sampling_rate", 360))
    if given is not None:
        window = beat_window(digitised, fs, assumed_ptp_mv=given)
        scale_source = "given"
    else:
        window = beat_window(digitised, fs)
        scale_source = digitised.scale_source
    params = (bundle.metadata.get("representation") or {}).get("params") or {}
    windows = window[None]
    if scale_source == "assumed" and not is_scale_free(bundle.metadata):
        # A millivolt model and no scale: average over the training beats' amplitudes rather
        # than bet on their median (chosen on DS1 validation, benchmarks/digitise_benchmark.py).
        windows, scale_source = amplitude_candidates(window), "prior"
    drawn = render("beat_image", windows, fs, params)
    pixels = np.stack([prepare_image(d, size=bundle.image_size, kind="beat_image") for d in drawn])
    probabilities = bundle.predict_proba(pixels).mean(axis=0, keepdims=True)
    # Calibrated as the threshold below was fitted, as the own-format path above.
    probabilities = calibrated_probabilities(probabilities, bundle.metadata.get("calibration"))
    result = bundle.predictions(probabilities)[0]
    state, reason = "classified", ""
    if verdict.status == "unlike_ecg":
        state, reason = "uncertain", verdict.reason
    elif digitised.quality < MIN_CONFIDENT_QUALITY:
        state = "uncertain"
        reason = (
            f"the trace was read poorly (quality {digitised.quality:.2f}, "
            f"under {MIN_CONFIDENT_QUALITY})"
        )
    elif under := _under_threshold(bundle, result.confidence):
        state, reason = "uncertain", under
    return ImageClassification(
        label=result.label,
        confidence=result.confidence,
        probabilities=result.probabilities,
        kind="beat_image",
        kind_detected=image_type == "auto",
        model_name=bundle.name,
        model_version=bundle.version,
        state=state,
        state_reason=reason,
        source=SOURCE_DIGITISED,
        scale_source=scale_source,
        scale_step_mv=digitised.axis_step_mv,
        trace_height_mv=given,
        trace=trace_overlay(
            digitised,
            image.size,
            lighting_evened=lighting.evened,
            colour_cast_removed=lighting.cast_removed,
        ),
    )


def _foreign_spectral(image: Image.Image, registry: ModelRegistry) -> ImageRefused:
    reason = check_spectrogram_format(image, _representation_params(registry, "spectrogram")).reason
    return ImageRefused(
        f"This spectral image is not in our spectral-image format: {reason.split(': ', 1)[-1]}. "
        f"A spectral image from other code cannot be turned back into a signal; see "
        f"“Spectral-image format” on the upload page "
        f"({reverse('classifier:upload')}#{SPECTRAL_FORMAT_ANCHOR}).",
        code="spectral_format",
    )


def trace_overlay(
    digitised: Digitised,
    image_size: tuple[int, int],
    *,
    lighting_evened: bool = False,
    colour_cast_removed: bool = False,
) -> dict[str, Any]:
    """Small JSON for the result page: the followed trace (at most ``TRACE_POINTS`` points, in
    the image's pixels), the image size, the columns of the beat window classified, and
    ``lighting_evened`` / ``colour_cast_removed`` when the image's uneven light was evened out /
    its light's colour cast taken out before it was read."""
    x = np.asarray(digitised.trace_x, dtype=np.float64)
    y = np.asarray(digitised.trace_y, dtype=np.float64)
    step = max(1, int(np.ceil(len(x) / TRACE_POINTS)))
    start, stop = beat_window_span(digitised)  # the window beat_window classifies
    last = max(len(x) - 1, 0)
    lo, hi = int(np.clip(start, 0, last)), int(np.clip(stop, 0, last))
    return (
        {
            "width": int(image_size[0]),
            "height": int(image_size[1]),
            "x": [round(float(v), 1) for v in x[::step]],
            "y": [round(float(v), 1) for v in y[::step]],
            "window_x": [round(float(x[lo]), 1), round(float(x[hi]), 1)] if len(x) else [],
            "quality": round(float(digitised.quality), 3),
            "units": digitised.units,
        }
        | ({"lighting_evened": True} if lighting_evened else {})
        | ({"colour_cast_removed": True} if colour_cast_removed else {})
    )
