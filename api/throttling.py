"""Per-user request throttling whose rate is read from settings at request time."""

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from ecgsite.client_ip import client_ip_get


class PerUserThrottle(UserRateThrottle):
    """``settings.API_THROTTLE_RATE`` (e.g. "120/minute") per user, per IP when anonymous.

    DRF's own throttles copy their rates once at import; reading the setting per request lets
    deployments (and tests) change it without a restart of the import machinery.
    """

    scope = "user"

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATE or None

    def get_ident(self, request) -> str:
        # the same client address as the login lockouts (settings.PROXY_COUNT), not DRF's own
        return client_ip_get(request)
