"""One error vocabulary: an ``ApplicationError`` answers with its status and message, on pages
(``ApplicationErrorMiddleware``) and in the API (``json_exception_handler``) alike."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import ValidationError

from api.exceptions import json_exception_handler
from classifier.errors import ClassificationFailed, ModelMissing, UploadNotStored
from classifier.model_service import ModelNotInstalledError, PredictionFailedError
from ecgsite.errors import ApplicationError
from ecgsite.middleware import ApplicationErrorMiddleware
from ecgsite.model_registry import RecordingModelMissing
from recordings.errors import AnalysisNotDone, RecordingModelUnavailable
from reports.services import HeatMapUnavailable


def _page(error: Exception):
    request = RequestFactory().get("/somewhere/")
    return ApplicationErrorMiddleware(lambda r: None).process_exception(request, error)


def test_app_errors_are_also_the_model_services_errors():
    # code that catches the model services' own errors keeps catching them
    assert isinstance(ModelMissing("x"), ModelNotInstalledError)
    assert ModelMissing("No beat model.").detail == "No beat model."
    assert isinstance(ClassificationFailed(internal="crash"), PredictionFailedError)
    assert str(ClassificationFailed(internal="crash")) == "crash"
    assert ClassificationFailed().message == PredictionFailedError.message
    assert isinstance(RecordingModelUnavailable(), RecordingModelMissing)


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (ModelMissing("No beat model here."), 503, "No beat model here."),
        (ClassificationFailed(internal="boom"), 503, "The model failed"),
        (UploadNotStored(), 503, "could not be stored"),
        (ApplicationError("Plain refusal.", status=409), 409, "Plain refusal."),
    ],
)
def test_pages_render_the_error_with_its_status(db, error, status, text):
    response = _page(error)
    assert response.status_code == status
    assert text in " ".join(response.content.decode().split())


def test_a_404_error_is_the_ordinary_not_found_page(db):
    assert _page(HeatMapUnavailable("No model.")).status_code == 404


def test_other_exceptions_are_left_alone():
    assert _page(ValueError("bug")) is None


@pytest.mark.parametrize(
    ("error", "status", "code", "message"),
    [
        (ModelMissing("No beat model."), 503, "model_not_installed", "No beat model."),
        (
            RecordingModelUnavailable(),
            503,
            "model_not_installed",
            "No recording model is installed.",
        ),
        (HeatMapUnavailable("Model gone."), 404, "not_found", "No heat map: Model gone."),
        (AnalysisNotDone("Still queued."), 409, "analysis_not_done", "Still queued."),
    ],
)
def test_api_answers_status_code_and_message(error, status, code, message):
    response = json_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"status": status, "code": code, "message": message}


def test_api_validation_errors_are_unchanged():
    response = json_exception_handler(ValidationError({"image": ["Empty."]}), {})
    assert response.data["code"] == "invalid" and response.data["errors"] == {"image": ["Empty."]}
