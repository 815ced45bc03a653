"""Writes of the reports app: the cached Grad-CAM overlay of a prediction, and PDF reports.

The overlay is computed on first request with the same model that made the prediction (the
service refuses when that model is no longer installed: a heat map from another model would
explain a decision nobody made) and stored as a private file; later views reuse it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from classifier.models import Prediction
from ecg.imaging.images import load_image_for_model
from ecg.models import explain
from ecgsite.errors import ApplicationError
from ecgsite.model_registry import ModelNotInstalledError, get_model_registry

from .accuracy import measured_accuracy
from .models import PredictionHeatMap
from .pdf import ReportData, build_pdf
from .selectors import heatmap_unavailable_reason, model_metadata

logger = logging.getLogger(__name__)


class HeatMapUnavailable(ApplicationError):
    """The heat map cannot be computed; the message says why, for the user. A 404: the page
    answers Django's "not found", the API "No heat map: <why>"."""

    status = 404
    code = "not_found"

    @property
    def api_message(self) -> str:
        return f"No heat map: {self.message}"


def _model_input(prediction: Prediction, *, size: int, kind: str):
    try:
        with prediction.image.open("rb") as handle, Image.open(handle) as image:
            image.load()
            return load_image_for_model(image, size=size, kind=kind)
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise HeatMapUnavailable("The uploaded image file is missing or unreadable.") from exc


def prediction_heatmap_get_or_create(*, prediction: Prediction) -> PredictionHeatMap:
    """The stored overlay of ``prediction``, computing and storing it the first time."""
    existing = PredictionHeatMap.objects.filter(prediction=prediction).first()
    if existing is not None and existing.overlay.storage.exists(existing.overlay.name):
        return existing
    reason = heatmap_unavailable_reason(prediction=prediction)
    if reason:
        raise HeatMapUnavailable(reason[0].upper() + reason[1:])
    try:
        bundle = get_model_registry().explain_bundle(kind=prediction.image_type)
    except ModelNotInstalledError as exc:
        raise HeatMapUnavailable(exc.detail) from exc
    pixels = _model_input(prediction, size=bundle.image_size, kind=bundle.kind)
    class_index = bundle.classes.index(prediction.predicted_class)
    heat, _ = explain.bundle_grad_cam(bundle, pixels[None], class_index=class_index)
    png = explain.overlay_png(pixels, heat[0])
    return _store(prediction, existing, png, bundle, class_index)


def _store(prediction, existing, png: bytes, bundle, class_index: int) -> PredictionHeatMap:
    heatmap = existing or PredictionHeatMap(prediction=prediction)
    heatmap.explained_class = bundle.classes[class_index]
    heatmap.layer_name = explain.bundle_explained_layer_name(bundle)[:100]
    heatmap.model_name, heatmap.model_version = bundle.name, bundle.version
    return save_overlay_once(heatmap, png, identity={"prediction": prediction})


def save_overlay_once(heatmap, png: bytes, *, identity: dict):
    """Write the overlay file and its row together; no file is left behind if the row fails.

    When another request stored the heat map with the same ``identity`` (its unique fields)
    first, theirs is returned and our file dropped.
    """
    heatmap.overlay.save("heatmap.png", ContentFile(png), save=False)
    try:
        with transaction.atomic():
            heatmap.save()
    except IntegrityError:
        heatmap.overlay.storage.delete(heatmap.overlay.name)
        return type(heatmap).objects.get(**identity)
    except BaseException:
        heatmap.overlay.storage.delete(heatmap.overlay.name)
        raise
    return heatmap


def prediction_report_pdf(*, prediction: Prediction) -> bytes:
    """The shareable PDF of one prediction (the heat map is included when it can be had)."""
    try:
        with prediction.image.open("rb") as handle:
            image_png = _as_png(handle.read())
    except (OSError, ValueError):
        image_png = None  # a missing file still gets its report, without the picture
    try:
        heatmap = prediction_heatmap_get_or_create(prediction=prediction)
        with heatmap.overlay.open("rb") as handle:
            heatmap_png, note = handle.read(), explain.READING_NOTE
    except HeatMapUnavailable as exc:
        heatmap_png, note = None, f"No heat map: {exc}"
    metadata = model_metadata(name=prediction.model_name, version=prediction.model_version)
    accuracy, basis = measured_accuracy(metadata or {}, settings.MODELS_DIR)
    names = {row["code"]: row["name"] for row in prediction.probability_rows()}
    data = ReportData(
        title="ECG beat classification report",
        patient_reference=prediction.patient_reference,
        created_at=timezone.localtime(prediction.created_at),
        # An uncertain answer is never printed as a diagnosis: "uncertain (V? or N)".
        label=prediction.shown_label,
        label_name="" if prediction.is_uncertain else prediction.predicted_class_name,
        confidence=prediction.confidence,
        model_name=prediction.model_name,
        model_version=prediction.model_version,
        model_accuracy=accuracy,
        accuracy_basis=basis,
        probabilities=[
            (f"{names.get(code, code)} ({code})", float(p))
            for code, p in prediction.probabilities.items()
        ],
        details=[
            ("Image type", prediction.get_image_type_display()),
            *_reading_details(prediction),
            ("Report id", f"prediction {prediction.pk}"),
        ],
        image_png=image_png,
        image_caption="Uploaded image",
        heatmap_png=heatmap_png,
        heatmap_note=note if heatmap_png else "",
    )
    if not heatmap_png:
        data.details.append(("Heat map", note))
    return build_pdf(data)


def _as_png(data: bytes) -> bytes | None:
    """Any decodable upload re-encoded as PNG (reportlab reads PNG and JPEG, not BMP)."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (OSError, ValueError, UnidentifiedImageError):
        logger.warning("could not re-encode an uploaded image for a PDF report")
        return None


def _reading_details(prediction: Prediction) -> list[tuple[str, str]]:
    """How the image was read (own format or digitised, scale) and why it is uncertain."""
    rows = [("Read as", prediction.get_source_display())]
    if prediction.scale_source:
        rows.append(("Amplitude scale", prediction.scale_source_text))
    if prediction.lighting_evened:
        rows.append(("Lighting", "uneven (as in a photo): evened out before the trace was read"))
    if prediction.colour_cast_removed:
        rows.append(
            ("Colour cast", "of the light (as in a photo): taken out before the trace was read")
        )
    if prediction.is_uncertain and prediction.state_reason:
        rows.append(("Uncertain because", prediction.state_reason))
    return rows
