"""Middleware: an ``ApplicationError`` becomes its page (``ApplicationErrorMiddleware``); a
database outage answers 503 (``DatabaseUnavailableMiddleware``), so does a media
disk that takes no write (``StorageUnavailableMiddleware``); oversized or anonymous uploads are
refused before their body is read (``RequestBodyLimitMiddleware``).

A database outage answers 503 with a plain page, not a 500 stack of errors.

The page is rendered without the request (no user, no session, no messages): all of those would
query the unreachable database again. Nothing half-written survives: the services write the row
in a transaction and remove a stored file again when the row cannot be saved.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.exception import response_for_exception
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from ecgsite.errors import ApplicationError

logger = logging.getLogger("ecgsite.outage")
MESSAGE = "The database cannot be reached right now; nothing was saved. Try again in a minute."


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable on %s %s: %s", request.method, request.path, exception)
        # The session could not be read; make sure no middleware tries to write it back.
        if hasattr(request, "session"):
            request.session.accessed = request.session.modified = False
        if request.path.startswith("/api/") or not request.accepts("text/html"):
            response = JsonResponse(
                {"status": 503, "code": "database_unavailable", "message": MESSAGE}, status=503
            )
        else:
            page = render_to_string("errors/database_unavailable.html")
            response = HttpResponse(page, status=503)
        response["Retry-After"] = "30"
        return response


body_logger = logging.getLogger("ecgsite.request_bodies")
TOO_LARGE_MESSAGE = (
    "The upload is too large: at most {limit} MB per request are accepted. Nothing was stored."
)
LOGIN_FIRST_MESSAGE = "Log in before uploading; nothing was read or stored."
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Pages and API endpoints that take files (namespace:name). Any anonymous body over
# DATA_UPLOAD_MAX_MEMORY_SIZE counts as an upload too (a login or sign-up form is a few hundred
# bytes), so a new upload form is covered without being listed here.
UPLOAD_URL_NAMES = frozenset(
    {"classifier:upload", "recordings:upload", "api:prediction-list", "api:recording-list"}
)


class RequestBodyLimitMiddleware:
    """Refuse a request body before anything reads it.

    Django spools a multipart body to a temporary file as soon as something reads
    ``request.POST`` -- and ``CsrfViewMiddleware`` does so for every POST, before a view's login
    check runs. So an anonymous 200 MB POST used to land on disk. This middleware runs before any
    ``process_view`` and decides from the headers alone:

    * a ``Content-Length`` over ``settings.REQUEST_MAX_BYTES``: 413, for everyone;
    * an upload by an anonymous client: a redirect to the login page (pages) or 401 JSON (API).
      An API request with an ``Authorization`` header goes on: DRF checks the token before it
      parses the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in BODY_METHODS:
            # (No "Connection: close" here: WSGI forbids hop-by-hop headers; the server closes a
            # connection whose body was left unread.)
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django then reads no body at all
        limit = settings.REQUEST_MAX_BYTES
        if length > limit:
            body_logger.warning("refused a %d-byte body on %s", length, request.path)
            message = TOO_LARGE_MESSAGE.format(limit=limit // 1_000_000)
            return _refuse(request, 413, "request_too_large", message)
        if not self._is_anonymous_upload(request, length):
            return None
        if _wants_json(request):
            return _refuse(request, 401, "not_authenticated", LOGIN_FIRST_MESSAGE)
        return redirect_to_login(request.get_full_path())

    @staticmethod
    def _is_anonymous_upload(request: HttpRequest, length: int) -> bool:
        if request.META.get("HTTP_AUTHORIZATION"):
            return False  # a token: DRF authenticates it before reading the body
        if length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            try:
                if resolve(request.path_info).view_name not in UPLOAD_URL_NAMES:
                    return False
            except Resolver404:
                return False
        # Only now the session (a database read): an ordinary POST never waits for it here.
        try:
            return not request.user.is_authenticated
        except DatabaseError:
            return False  # the view meets the outage too and answers 503 (above)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or not request.accepts("text/html")


def _refuse(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"status": status, "code": code, "message": message}, status=status)
    page = render_to_string("errors/request_refused.html", {"message": message, "status": status})
    return HttpResponse(page, status=status)


# A disk that takes no write: full, over quota, read-only, no permission, failing, a file where
# the media folder should be.
STORAGE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EFBIG,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.ENOTDIR,
    }
)
STORAGE_MESSAGE = (
    "The server's file storage cannot take a write right now (full or read-only); nothing was "
    "saved. Try again later, and tell the site administrator if this lasts."
)


class StorageUnavailableMiddleware:
    """A media write that fails for want of disk (recording upload, heat map, report) answers
    503 with a message instead of a 500. The write paths leave nothing partial behind
    (``ecgsite.storage``, and each service removes what it stored before the failure)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, OSError) and exception.errno in STORAGE_ERRNOS):
            return None
        logger.error("storage unavailable on %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/") or not request.accepts("text/html"):
            response = JsonResponse(
                {"status": 503, "code": "storage_unavailable", "message": STORAGE_MESSAGE},
                status=503,
            )
        else:
            context = {"message": STORAGE_MESSAGE}
            response = render(request, "errors/storage_unavailable.html", context, status=503)
        response["Retry-After"] = "300"
        return response


class ApplicationErrorMiddleware:
    """The one place where pages answer an ``ApplicationError`` (the API's is
    ``api.exceptions.json_exception_handler``): its page with its status, or Django's 404 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        if exception.status == 404:  # the same page as a missing record: ids leak nothing
            return response_for_exception(request, Http404(exception.message))
        template = exception.template_name or "errors/request_refused.html"
        return render(request, template, exception.page_context(), status=exception.status)
