"""Writes: creating and deleting predictions (HackSoft style: keyword-only, one job each).

The file and its row are written together or not at all: the image is classified *before*
anything touches disk or database, and if saving the row fails the file is removed again. No
transaction is open while a model runs or a file is written (SQLite's write lock).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from classifier.errors import ClassificationFailed, ModelMissing, UploadNotStored
from classifier.model_service import ImageRefused, ModelNotInstalledError, classify_image
from classifier.models import Prediction
from classifier.validators import CheckedImage, validate_image_file

logger = logging.getLogger(__name__)

IMAGE_TYPE_CHOICES = ("auto", *Prediction.ImageType.values)


def prediction_create(
    *,
    owner: AbstractBaseUser,
    uploaded_file,
    image_type: str = "auto",
    trace_height_mv: float | None = None,
    patient_reference: str = "",
    note: str = "",
) -> Prediction:
    """Validate, classify and store one uploaded image.

    Raises ``django.core.exceptions.ValidationError`` for a bad file (nothing stored), and the
    application errors of ``classifier.errors`` (no usable model, the model failed, the storage
    took no write) -- the pages and the API turn those into their answers.
    """
    return prediction_create_many(
        owner=owner,
        uploaded_files=[uploaded_file],
        image_type=image_type,
        trace_height_mv=trace_height_mv,
        patient_reference=patient_reference,
        note=note,
    )[0]


def prediction_create_many(
    *,
    owner: AbstractBaseUser,
    uploaded_files: Iterable,
    image_type: str = "auto",
    trace_height_mv: float | None = None,
    patient_reference: str = "",
    note: str = "",
) -> list[Prediction]:
    """Several files in one go: all are stored, or -- if any fails -- none (rows and files).

    Files whose content is refused (no ECG trace, a foreign spectral image, a strip) are all
    classified first and named together in one ``ValidationError``, so one fix of the list
    suffices.

    ``uploaded_files`` are the uploaded files, or the ``CheckedImage`` the upload form made of
    them (checked and decoded once, there). Every file is classified and written to its random
    name *outside* any transaction; only the rows are then written, in one short transaction. On
    SQLite a transaction that writes holds the database's single write lock: classifying 40
    large images inside it kept every other user's login waiting (503).
    """
    if image_type not in IMAGE_TYPE_CHOICES:
        raise ValueError(f"image_type must be one of {IMAGE_TYPE_CHOICES}")
    prepared: list[Prediction] = []
    refused: list[ValidationError] = []
    try:
        for uploaded_file in uploaded_files:
            try:
                prediction = _prediction_prepare(
                    owner=owner,
                    uploaded_file=uploaded_file,
                    image_type=image_type,
                    trace_height_mv=trace_height_mv,
                    patient_reference=patient_reference,
                    note=note,
                )
            except ValidationError as exc:
                # Every refused file is named, not only the first: the user fixes the list once.
                refused.append(_named(exc, uploaded_file))
                continue
            prepared.append(prediction)
        if refused:
            if prepared:  # the readable ones are not kept either: say so, and what to do
                refused.append(
                    ValidationError(
                        f"Nothing was stored. The other {len(prepared)} file(s) could be read: "
                        "send them again without the file(s) named above.",
                        code="batch_not_stored",
                    )
                )
            raise refused[0] if len(refused) == 1 else ValidationError(refused)
        with transaction.atomic():
            for prediction in prepared:
                prediction.save()
    except BaseException as exc:
        for prediction in prepared:
            _delete_file(prediction)
        if isinstance(exc, OSError):  # storage full, read-only or unreachable
            logger.exception("upload could not be stored")
            raise UploadNotStored() from exc
        raise
    return prepared


def _named(error: ValidationError, uploaded_file) -> ValidationError:
    """The content check's refusal with the file's name in front, its code kept."""
    name = getattr(uploaded_file, "name", None) or "upload"
    messages = " ".join(error.messages)
    if f"“{name}”" in messages:  # the file checks name it already
        return ValidationError(messages, code=getattr(error, "code", None))
    return ValidationError(f"“{name}”: {messages}", code=getattr(error, "code", None))


def _prediction_prepare(
    *,
    owner: AbstractBaseUser,
    uploaded_file,
    image_type: str,
    trace_height_mv: float | None,
    patient_reference: str,
    note: str,
) -> Prediction:
    """Classify one file and write it to storage; the row is built but not saved.

    Touches no database row. If anything fails after the file was written, the file is removed
    before the error goes on.
    """
    # The upload form has checked and decoded the file already; the API hands the file itself.
    if isinstance(uploaded_file, CheckedImage):
        checked = uploaded_file
    else:
        checked = validate_image_file(uploaded_file)
    try:
        result = classify_image(
            checked.decoded(), image_type=image_type, trace_height_mv=trace_height_mv
        )
    except ModelNotInstalledError as exc:
        raise ModelMissing(exc.detail) from exc
    except ImageRefused as exc:  # not an ECG, a foreign spectral image, a strip: nothing stored
        raise ValidationError(exc.message, code=exc.code) from exc
    except ValidationError:
        raise
    except Exception as exc:
        # Logged with its traceback here; callers show a clear 503 instead of a bare 500.
        logger.exception("model failed on an upload")
        raise ClassificationFailed(internal=str(exc)) from exc

    checked.upload.seek(0)
    content = ContentFile(checked.upload.read())
    prediction = Prediction(
        owner=owner,
        original_name=(checked.name or "upload")[:255],
        image_type=result.kind,
        image_type_detected=result.kind_detected,
        predicted_class=result.label,
        confidence=result.confidence,
        probabilities=result.probabilities,
        model_name=result.model_name,
        model_version=result.model_version,
        state=result.state,
        state_reason=result.state_reason[:255],
        source=result.source,
        scale_source=result.scale_source,
        scale_step_mv=result.scale_step_mv,
        trace_height_mv=result.trace_height_mv,
        digitised_trace=result.trace,
        patient_reference=patient_reference.strip(),
        note=note.strip(),
    )
    try:
        prediction.full_clean(exclude=["image"])
        prediction.image.save(f"upload{checked.extension}", content, save=False)
    except BaseException:
        _delete_file(prediction)
        raise
    return prediction


def prediction_delete(*, prediction: Prediction) -> None:
    """Delete the row; its image file follows once committed (``classifier.signals``)."""
    with transaction.atomic():
        prediction.delete()


def _delete_file(prediction: Prediction) -> None:
    if prediction.image.name:
        _delete_stored(prediction.image.storage, prediction.image.name)


def _delete_stored(storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:  # never mask the original error; the row is already gone or never existed
        logger.exception("could not remove %s", name)
