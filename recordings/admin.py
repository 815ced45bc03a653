from django.contrib import admin

from .models import Beat, Recording
from .services import recording_delete


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
    actions = ["delete_with_files"]

    def has_add_permission(self, request):
        return False  # recordings come in through the upload form, which checks them

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would leave the files behind
        return actions

    def delete_model(self, request, obj):
        recording_delete(recording=obj)

    @admin.action(description="Delete selected recordings and their files")
    def delete_with_files(self, request, queryset):
        for recording in queryset:
            recording_delete(recording=recording)


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
