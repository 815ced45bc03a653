"""Writes: creating and deleting predictions (HackSoft style: keyword-only, one job each).

The file and its row are written together or not at all: the image is classified *before*
anything touches disk or database, and if saving the row fails the file is removed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from classifier.model_service import (
    ModelNotInstalledError,
    PredictionFailedError,
    classify_image,
)
from classifier.models import Prediction
from classifier.validators import validate_image_file

logger = logging.getLogger(__name__)

IMAGE_TYPE_CHOICES = ("auto", *Prediction.ImageType.values)


def prediction_create(
    *,
    owner: AbstractBaseUser,
    uploaded_file,
    image_type: str = "auto",
    patient_reference: str = "",
    note: str = "",
) -> Prediction:
    """Validate, classify and store one uploaded image.

    Raises ``django.core.exceptions.ValidationError`` for a bad file (nothing stored) and
    ``classifier.model_service.ModelNotInstalledError`` when no usable model exists.
    """
    if image_type not in IMAGE_TYPE_CHOICES:
        raise ValueError(f"image_type must be one of {IMAGE_TYPE_CHOICES}")
    checked = validate_image_file(uploaded_file)
    try:
        result = classify_image(checked.image, image_type=image_type)
    except (ModelNotInstalledError, ValidationError):
        raise
    except Exception as exc:
        # Logged with its traceback here; callers show a clear 503 instead of a bare 500.
        logger.exception("model failed on an upload")
        raise PredictionFailedError(str(exc)) from exc

    uploaded_file.seek(0)
    content = ContentFile(uploaded_file.read())
    prediction = Prediction(
        owner=owner,
        original_name=(getattr(uploaded_file, "name", "") or "upload")[:255],
        image_type=result.kind,
        image_type_detected=result.kind_detected,
        predicted_class=result.label,
        confidence=result.confidence,
        probabilities=result.probabilities,
        model_name=result.model_name,
        model_version=result.model_version,
        patient_reference=patient_reference.strip(),
        note=note.strip(),
    )
    try:
        with transaction.atomic():
            prediction.image.save(f"upload{checked.extension}", content, save=False)
            prediction.full_clean(exclude=["image"])
            prediction.save()
    except BaseException:
        _delete_file(prediction)
        raise
    return prediction


def prediction_create_many(
    *,
    owner: AbstractBaseUser,
    uploaded_files: Iterable,
    image_type: str = "auto",
    patient_reference: str = "",
    note: str = "",
) -> list[Prediction]:
    """Several files in one go: all are stored, or -- if any fails -- none (rows and files)."""
    created: list[Prediction] = []
    try:
        with transaction.atomic():
            for uploaded_file in uploaded_files:
                created.append(
                    prediction_create(
                        owner=owner,
                        uploaded_file=uploaded_file,
                        image_type=image_type,
                        patient_reference=patient_reference,
                        note=note,
                    )
                )
    except BaseException:
        for prediction in created:
            _delete_file(prediction)
        raise
    return created


def prediction_delete(*, prediction: Prediction) -> None:
    """Delete the row and, once the transaction commits, its image file."""
    storage, name = prediction.image.storage, prediction.image.name
    with transaction.atomic():
        prediction.delete()
        if name:
            transaction.on_commit(lambda: _delete_stored(storage, name))


def _delete_file(prediction: Prediction) -> None:
    if prediction.image.name:
        _delete_stored(prediction.image.storage, prediction.image.name)


def _delete_stored(storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:  # never mask the original error; the row is already gone or never existed
        logger.exception("could not remove %s", name)
