"""Attempts per client address (sign-up, password reset) counted in the shared cache.

The address is the one login lockouts use (``ecgsite.client_ip``: PROXY_COUNT), and the cache
is the one every server process shares (settings.CACHES), so the limit holds across workers.
"""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest

from ecgsite.client_ip import client_ip_get

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/hour" -> (10, 3600); the period's first letter counts, as in DRF."""
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def address_attempt_allowed(*, request: HttpRequest, scope: str, rate: str | None) -> bool:
    """Count one attempt of ``scope`` from the request's client address; False when over
    ``rate`` in the current window (the attempt should then be refused). No rate: allowed."""
    if not rate:
        return True
    limit, period_s = parse_rate(rate)
    key = f"address-throttle:{scope}:{client_ip_get(request)}"
    cache.add(key, 0, timeout=period_s)  # starts the window; a no-op while it is open
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between add() and incr()
        cache.set(key, 1, timeout=period_s)
        count = 1
    return count <= limit
