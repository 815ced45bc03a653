from django.contrib import admin

from .models import Beat, BeatCorrection, EpisodeVerdict, Recording, ReviewAction


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "beat_count", "duration", "lead", "created_at")
    list_filter = ("status", "file_format", "has_reference", "created_at")
    search_fields = ("name", "patient_reference", "note", "owner__username")
    readonly_fields = (
        "owner", "original_names", "file_format", "sampling_rate_display", "n_samples",
        "duration", "lead", "lead_names", "stored_leads", "has_reference", "signal_file",
        "reference_file", "results_file", "status", "progress_display", "progress_message",
        "error", "task_id", "started_at", "finished_at", "model_name", "model_version",
        "model_metadata", "beat_count", "summary", "review", "detection", "agreement", "notes",
        "created_at",
    )  # fmt: skip
    fields = ("name", "patient_reference", "note", *readonly_fields)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # recordings come in through the upload form, which checks them

    # Stored floats shown as a reader wants them (not "1805.5555555555557").
    @admin.display(description="Duration", ordering="duration_s")
    def duration(self, obj: Recording) -> str:
        return obj.duration_display

    @admin.display(description="Sampling rate")
    def sampling_rate_display(self, obj: Recording) -> str:
        return f"{obj.sampling_rate:.6g} Hz"

    @admin.display(description="Progress")
    def progress_display(self, obj: Recording) -> str:
        return f"{obj.progress_percent}%"


@admin.register(Beat)
class BeatAdmin(admin.ModelAdmin):
    list_display = ("recording", "index", "time", "label", "confidence_display", "reference_label")
    list_filter = ("label",)
    search_fields = ("recording__name",)
    list_select_related = ("recording",)
    raw_id_fields = ("recording",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Time", ordering="time_s")
    def time(self, obj: Beat) -> str:
        return f"{obj.time_s:.3f} s"

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_display(self, obj: Beat) -> str:
        return f"{obj.confidence:.1%}"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BeatCorrection)
class BeatCorrectionAdmin(admin.ModelAdmin):
    """The audit trail: read only (a correction is never edited, a new one supersedes it)."""

    list_display = (
        "recording",
        "beat",
        "previous_label",
        "label",
        "action",
        "created_by",
        "created_at",
    )
    list_filter = ("label", "created_at")
    search_fields = ("recording__name", "created_by__username")
    list_select_related = ("recording", "beat", "created_by", "action")
    raw_id_fields = ("recording", "beat", "created_by", "action", "previous_reviewed_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReviewAction)
class ReviewActionAdmin(admin.ModelAdmin):
    """The review's actions (and undos): read only, like the corrections they group."""

    list_display = ("recording", "kind", "label", "group", "beat_count", "undoes", "created_by")
    list_filter = ("kind", "created_at")
    list_select_related = ("recording", "created_by", "undoes")
    raw_id_fields = ("recording", "created_by", "undoes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EpisodeVerdict)
class EpisodeVerdictAdmin(admin.ModelAdmin):
    """The owner's episode verdicts: read only (withdrawn, never edited)."""

    list_display = (
        "recording",
        "verdict",
        "kind",
        "start_s",
        "end_s",
        "corrected_start_s",
        "corrected_end_s",
        "created_by",
        "withdrawn_at",
    )
    list_filter = ("verdict", "kind", "created_at")
    list_select_related = ("recording", "created_by")
    raw_id_fields = ("recording", "created_by", "withdrawn_by", "replaced_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
