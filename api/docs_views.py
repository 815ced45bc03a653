"""Redoc's script, served so that the API docs page loads nothing from the web."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# Redoc's menu footer always draws Redocly's logo from their CDN (no option turns it off, and a
# hidden <img> is fetched all the same): the CSP blocks it, but the browser still tries and
# logs a violation. The same bundle with the site's icon in its place asks the web for nothing.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=2)
def _redoc_bundle(logo_url: str) -> bytes:
    text = Path(finders.find(REDOC_BUNDLE)).read_text(encoding="utf-8")
    if REDOC_CDN_LOGO not in text:
        logger.warning("Redoc bundle has no %s any more: check it for web requests", REDOC_CDN_LOGO)
    return text.replace(REDOC_CDN_LOGO, logo_url).encode("utf-8")


@require_safe
@cache_control(public=True, max_age=24 * 60 * 60)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """The sidecar package's redoc.standalone.js with the logo taken from this site."""
    return HttpResponse(
        _redoc_bundle(static("favicon.png")), content_type="text/javascript; charset=utf-8"
    )
