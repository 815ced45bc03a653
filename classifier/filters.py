"""The history's filters as a django-filter ``FilterSet`` (pages, CSV export and API alike).

Its form is the page's own ``PredictionFilterForm``: the same fields, labels and checks, so the
query parameters (``q``, ``kind``, ``predicted_class``, ``image_type``, ``date_from``,
``date_to``) and their validation stay those of the form. A value the form refuses is left out,
so the list still shows (the API refuses it with a 400 before it gets here).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from classifier.forms import PredictionFilterForm
from classifier.models import Prediction


class PredictionFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text")
    # kind chooses which lists the history page shows (images, recordings); it narrows neither
    kind = django_filters.CharFilter(method="filter_nothing")
    predicted_class = django_filters.CharFilter()
    image_type = django_filters.CharFilter()
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Prediction
        fields: list[str] = []
        form = PredictionFilterForm

    def get_form_class(self):
        return self._meta.form  # the page's form as it is, not one rebuilt from the filters

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Text in the patient reference or the original file name."""
        return queryset.filter(
            Q(patient_reference__icontains=value) | Q(original_name__icontains=value)
        )

    def filter_nothing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset
