"""A database outage answers 503 with a plain page, not a 500 stack of errors; so does a media
disk that takes no write (``StorageUnavailableMiddleware``).

The page is rendered without the request (no user, no session, no messages): all of those would
query the unreachable database again. Nothing half-written survives: the services write the row
in a transaction and remove a stored file again when the row cannot be saved.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

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
