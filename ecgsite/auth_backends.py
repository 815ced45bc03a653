"""Login throttling (django-axes) that leaves request-less logins alone.

``django.contrib.auth.authenticate()`` called without a request -- management commands, the test
client's ``login()`` -- cannot be attributed to a client IP, and axes would raise. Such calls are
not reachable from the network, so they skip the throttle; every web login passes its request.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class ThrottledLoginBackend(AxesStandaloneBackend):
    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
