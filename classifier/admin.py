"""Admin for predictions: browse, filter, export; the stored result itself is read-only."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.http import HttpResponse
from django.utils.html import format_html

from classifier.exports import csv_response_name, prediction_csv_rows
from classifier.models import Prediction


@admin.action(description="Export selected predictions as CSV")
def export_as_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_response_name()}"'
    writer = csv.writer(response)
    for row in prediction_csv_rows(queryset.order_by("-created_at", "-id")):
        writer.writerow(row)
    return response


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail", "original_name", "owner", "predicted_class", "state", "confidence_display",
        "image_type", "source", "model_name", "model_version", "created_at",
    )  # fmt: skip
    list_display_links = ("thumbnail", "original_name")
    list_filter = (
        "predicted_class", "state", "image_type", "source", "model_name", "model_version",
        "created_at",
    )  # fmt: skip
    search_fields = ("original_name", "patient_reference", "owner__username", "note")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    actions = [export_as_csv]
    readonly_fields = (
        "preview", "owner", "image_link", "original_name", "image_type", "image_type_detected",
        "predicted_class", "state", "state_reason", "source", "scale_source",
        "confidence_display", "probabilities_display", "model_name", "model_version", "created_at",
    )  # fmt: skip
    fields = (*readonly_fields, "patient_reference", "note")

    def has_add_permission(self, request):  # predictions come only from the upload service
        return False

    @admin.display(description="Image")
    def thumbnail(self, obj: Prediction):
        return format_html(
            '<img src="{}" alt="Thumbnail of {}" width="48" height="48" '
            'style="object-fit:contain;background:#000">',
            obj.get_thumbnail_url(),
            obj.original_name,
        )

    @admin.display(description="Image")
    def preview(self, obj: Prediction):
        return format_html(
            '<img src="{}" alt="Uploaded image {}" width="192" style="background:#000">',
            obj.get_image_url(),
            obj.original_name,
        )

    @admin.display(description="Image")
    def image_link(self, obj: Prediction):
        # The stored file's own URL would be /media/..., which is never routed (private data).
        return format_html('<a href="{}">{}</a>', obj.get_image_url(), obj.image.name)

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_display(self, obj: Prediction) -> str:
        return f"{obj.confidence:.1%}"

    @admin.display(description="Probabilities")
    def probabilities_display(self, obj: Prediction) -> str:
        # percentages as on the result page, not the stored floats (0.9340000152587891)
        return ", ".join(
            f"{code} {p * 100:.1f}%" for code, p in obj.ordered_probabilities().items()
        )
