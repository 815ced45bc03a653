"""``Authorization: Token <key>`` checked against the stored digests (api.models.ApiToken)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken
from .services import token_digest

# "Last used" is written at most this often per token: one database write per API request
# would serialise every client on SQLite's write lock.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's header format and answers, but the key is looked up by its digest and must not
    have expired."""

    model = ApiToken

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key=key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.is_expired:
            raise exceptions.AuthenticationFailed("Token expired: create a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
