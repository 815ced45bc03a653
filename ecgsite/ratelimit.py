"""Per-user rate limits for expensive pages (ZIP and CSV exports, PDF reports, heat maps).

Each of those keeps one of the few sync workers busy for seconds; a user clicking fast (or a
script) must not take them all. Counts live in the shared cache (``CACHE_URL``), so every server
process sees the same ones: a fixed one-minute window per user and scope.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

WINDOW_S = 60


def rate_limited(scope: str) -> Callable:
    """View decorator: at most ``settings.RATE_LIMITS[scope]`` requests per user and minute;
    429 with ``Retry-After`` beyond that. Put it under ``login_required``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                retry_after = rate_limit_hit(scope=scope, user_id=user.pk)
                if retry_after:
                    return _too_many(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def rate_limit_hit(*, scope: str, user_id: int) -> int:
    """Count one request; 0 when it is allowed, else the seconds until the window ends."""
    limit = settings.RATE_LIMITS[scope]
    now = time.time()
    window = int(now // WINDOW_S)
    key = f"ratelimit:{scope}:{user_id}:{window}"
    cache.add(key, 0, WINDOW_S + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window has begun
        cache.add(key, 1, WINDOW_S + 5)
        count = 1
    if count <= limit:
        return 0
    return max(1, int((window + 1) * WINDOW_S - now) + 1)


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = (
        f"Too many exports and reports in a minute; try again in {retry_after} s. Each one takes "
        "a server for seconds, so they are limited per user."
    )
    if request.path.endswith(".json") or not request.accepts("text/html"):
        response = JsonResponse(
            {"status": 429, "code": "rate_limited", "message": message}, status=429
        )
    else:
        context = {"title": "Too many requests", "message": message, "status": 429}
        response = HttpResponse(
            render_to_string("errors/request_refused.html", context), status=429
        )
    response["Retry-After"] = str(retry_after)
    return response
