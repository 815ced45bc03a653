from django.contrib import admin

from .models import Beat, Recording


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "beat_count", "duration_s", "lead", "created_at")
    list_filter = ("status", "file_format", "has_reference", "created_at")
    search_fields = ("name", "patient_reference", "note", "owner__username")
    readonly_fields = (
        "owner", "original_names", "file_format", "sampling_rate", "n_samples", "duration_s",
        "lead", "lead_names", "has_reference", "signal_file", "reference_file", "results_file",
        "status", "progress", "progress_message", "error", "task_id", "started_at",
        "finished_at", "model_name", "model_version", "model_metadata", "beat_count", "summary",
        "detection", "agreement", "notes", "created_at",
    )  # fmt: skip
    fields = ("name", "patient_reference", "note", *readonly_fields)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # recordings come in through the upload form, which checks them


@admin.register(Beat)
class BeatAdmin(admin.ModelAdmin):
    list_display = ("recording", "index", "time_s", "label", "confidence", "reference_label")
    list_filter = ("label",)
    search_fields = ("recording__name",)
    list_select_related = ("recording",)
    raw_id_fields = ("recording",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
