"""The client's address behind a known number of trusted reverse proxies.

Each proxy appends the address it received the request from to ``X-Forwarded-For``, so with
``PROXY_COUNT`` proxies the client is the ``PROXY_COUNT``-th entry from the right; everything to
the left of it was written by the client and can be forged. With no proxy (``PROXY_COUNT=0``)
the header is ignored: anybody could send one. Used by login lockouts (django-axes) and the
sign-up / password-reset throttles, so all agree on who the client is.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_get(request: HttpRequest) -> str:
    """The client address of ``request``: REMOTE_ADDR, or the trusted X-Forwarded-For entry."""
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    proxy_count = int(getattr(settings, "PROXY_COUNT", 0) or 0)
    if proxy_count <= 0:
        return remote_addr
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < proxy_count:
        # Fewer hops than configured: the request bypassed a proxy (or the header is missing);
        # the only address nobody could forge is the connection's.
        return remote_addr
    return _valid_ip(forwarded[-proxy_count]) or remote_addr
