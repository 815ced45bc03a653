"""Every API error as JSON: ``{"status": 400, "code": "...", "message": "...", "errors": {...}}``.

The one place where the API answers an ``ecgsite.errors.ApplicationError`` (its status, code and
``api_message``); pages answer them in ``ecgsite.middleware.ApplicationErrorMiddleware``.

``message`` is one readable sentence; ``errors`` (validation only) maps each field to its
messages. Django's own ValidationError (raised by the web app's services) becomes a 400 too,
and Http404 keeps DRF's "Not found." -- the same answer whether a record is missing or someone
else's, so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ecgsite.errors import ApplicationError


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Readable "field: message" lines from DRF's nested error detail."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _as_api_exception(error: ApplicationError) -> exceptions.APIException:
    api_error = exceptions.APIException(error.api_message, code=error.code)
    api_error.status_code = error.status
    return api_error


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        exc = _as_api_exception(exc)
    elif isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected errors: Django's 500 handling (logged)
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "invalid"
        body["message"] = "; ".join(_flatten(response.data)) or "Invalid input."
        body["errors"] = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
    else:
        codes = exc.get_codes()
        body["code"] = codes if isinstance(codes, str) else "error"
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body["message"] = str(detail)
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            body["retry_after_s"] = getattr(exc, "wait", None)
    response.data = body
    return response


# -- Django's own error views (``handler404`` ... in ``ecgsite.urls``) -------------------------
# A URL no view matches, or an exception no DRF view turned into a response, never reaches the
# handler above: without these, an API client got Django's HTML page (a 500's "Server Error").
# The HTML pages under /api/ (token page, API docs) keep Django's pages.
HTML_PAGES_UNDER_API = ("/api/token/", "/api/v1/docs/", "/api/v1/redoc/")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") and not request.path.startswith(HTML_PAGES_UNDER_API)


def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    body = {"status": status_code, "code": code, "message": message}
    return JsonResponse(body, status=status_code)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(403, "permission_denied", "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):  # the exception is logged by Django; its text stays out of the answer
        return _json_error(500, "server_error", "Internal server error; it has been logged.")
    return defaults.server_error(request)
