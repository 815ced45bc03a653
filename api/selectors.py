"""Reads of the API app."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import ApiToken


def token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's tokens, newest first (expired ones too, marked on the page)."""
    return ApiToken.objects.filter(user=user)
