"""Writes of the API app: API tokens (several per user, named, expiring, stored as digests)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import ApiToken

MAX_TOKENS_PER_USER = 10


def token_digest(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: AbstractBaseUser, name: str = "API token", expires_in_days: int = 90
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key: the key exists only in this return value."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the token a name.")
    if expires_in_days < 1:
        raise ValidationError("A token must be valid for at least a day.")
    if ApiToken.objects.select_for_update().filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError(
            f"You have {MAX_TOKENS_PER_USER} tokens already: revoke one before creating another."
        )
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user,
        name=name[:64],
        prefix=key[:8],
        digest=token_digest(key=key),
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    return token, key


def token_revoke(*, user: AbstractBaseUser, pk: int) -> bool:
    """Delete one of the user's tokens; True when there was one (others' tokens: False)."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)


def token_revoke_all(*, user: AbstractBaseUser) -> int:
    """Delete all the user's tokens (password change or reset, "revoke all"); how many."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
