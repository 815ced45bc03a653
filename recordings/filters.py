"""Recording filters as a django-filter ``FilterSet``: the recordings list (``q``, ``status``)
and the history page, which adds the image history's ``predicted_class``, ``date_from`` and
``date_to``. A value that does not validate is left out, so the list still shows."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from .models import Beat, Recording, beats_shown_as


class RecordingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text")
    status = django_filters.ChoiceFilter(choices=Recording.Status.choices)
    predicted_class = django_filters.CharFilter(method="filter_with_beats_of_class")
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Recording
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Text in the name, the patient reference or the note."""
        return queryset.filter(
            Q(name__icontains=value)
            | Q(patient_reference__icontains=value)
            | Q(note__icontains=value)
        )

    def filter_with_beats_of_class(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Recordings with at least one beat shown as the class: the clinician's class for a
        reviewed beat, else the model's; uncertain and unreadable beats are of no class."""
        shown = Beat.objects.filter(beats_shown_as(value))
        return queryset.filter(pk__in=shown.values("recording_id"))
