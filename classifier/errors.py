"""The image-upload app's errors, each with its user message, HTTP status and page.

``ModelMissing`` and ``ClassificationFailed`` are also the model service's own errors
(``ModelNotInstalledError``, ``PredictionFailedError``), so code that catches those keeps working.
"""

from __future__ import annotations

from typing import Any

from classifier.model_service import ModelNotInstalledError, PredictionFailedError
from ecg.models.registry import INSTALL_COMMAND
from ecgsite.errors import ApplicationError

# The API has always answered every 503 of an upload with this code; clients may rely on it.
UPLOAD_UNAVAILABLE_CODE = "model_not_installed"


class ModelMissing(ApplicationError, ModelNotInstalledError):
    """No usable image model: missing, or its file is corrupt. ``message`` says which."""

    status = 503
    code = UPLOAD_UNAVAILABLE_CODE
    template_name = "classifier/model_missing.html"

    def page_context(self) -> dict[str, Any]:
        return {"detail": self.message, "install_command": INSTALL_COMMAND}


class ClassificationFailed(ApplicationError, PredictionFailedError):
    """The model is installed but failed on this input (a bug or a broken runtime)."""

    status = 503
    code = UPLOAD_UNAVAILABLE_CODE
    message = PredictionFailedError.message
    template_name = "classifier/prediction_failed.html"


class UploadNotStored(ApplicationError):
    """The file storage took no write (full, read-only or unreachable); nothing was stored."""

    status = 503
    code = UPLOAD_UNAVAILABLE_CODE
    message = (
        "The image could not be stored: the server's file storage is not writable right now. "
        "Nothing was saved."
    )
    template_name = "classifier/storage_error.html"
