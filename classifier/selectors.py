"""Reads: which predictions a user may see (their own; staff may open anyone's by id)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from classifier.filters import PredictionFilterSet
from classifier.models import Prediction


def prediction_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Prediction]:
    """The user's own predictions, newest first, narrowed by ``filters``.

    Filter keys (all optional, empty values ignored): ``predicted_class`` (code),
    ``image_type``, ``date_from`` / ``date_to`` (dates, inclusive), ``q`` (text searched in
    the patient reference and the original file name).
    """
    qs = Prediction.objects.filter(owner=user).select_related("owner")
    return PredictionFilterSet(filters or {}, queryset=qs).qs.order_by("-created_at", "-id")


def prediction_get(*, user, pk: int) -> Prediction:
    """One prediction if ``user`` owns it or is staff; ``Http404`` otherwise (never 403, so
    the existence of someone else's record is not revealed)."""
    qs = Prediction.objects.select_related("owner")
    if not user.is_staff:
        qs = qs.filter(owner=user)
    try:
        return qs.get(pk=pk)
    except (Prediction.DoesNotExist, ValueError, TypeError):
        raise Http404("No such prediction.") from None


def prediction_get_for_change(*, user, pk: int, permission: str = "delete") -> Prediction:
    """One prediction ``user`` may change (delete): their own, or anyone's with the model's
    ``classifier.<permission>_prediction`` permission. Staff may *see* everything
    (prediction_get); seeing is not the right to change. ``Http404`` otherwise."""
    qs = Prediction.objects.select_related("owner")
    if not user.has_perm(f"classifier.{permission}_prediction"):
        qs = qs.filter(owner=user)
    try:
        return qs.get(pk=pk)
    except (Prediction.DoesNotExist, ValueError, TypeError):
        raise Http404("No such prediction.") from None


def predictions_by_ids(*, user, ids: list[int]) -> list[Prediction]:
    """The user's own predictions among ``ids``, in the order given (the batch results page)."""
    found = {p.pk: p for p in Prediction.objects.filter(owner=user, pk__in=ids)}
    return [found[i] for i in ids if i in found]
