"""Request and response shapes of the recording endpoints. Uploads are validated by the
recording upload page's own form (same rules); this serializer documents the request.

Long on purpose: every part of a recording's answer (summary, quality, warnings, episodes,
conduction, beats, corrections) has its shape here, so the OpenAPI schema of one resource
reads in one file.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecg.imaging.digitise import GIVEN_TRACE_HEIGHT_MV
from ecg.io.recording_io import MAX_FS, MIN_FS
from ecg.io.records import PREFERRED_LEADS
from recordings.models import Beat, Recording
from recordings.services import UNITS

from .episode_serializers import EpisodeSerializer


class RecordingCreateSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        help_text=(
            "WFDB .hea + .dat (+ .atr for reference annotations), or one .zip of them, or one "
            ".csv, or one .edf, or one image of a rhythm strip. Repeat the field for several "
            "files."
        ),
    )
    sampling_rate = serializers.FloatField(
        required=False, min_value=MIN_FS, max_value=MAX_FS, help_text="Only for a CSV without time."
    )
    units = serializers.ChoiceField(choices=UNITS, default="mV", help_text="Units of CSV values.")
    lead = serializers.CharField(
        required=False,
        max_length=32,
        help_text="The lead to analyse (name or number); by default the first of "
        f"{', '.join(PREFERRED_LEADS)} the file holds.",
    )
    trace_height_mv = serializers.FloatField(
        required=False,
        min_value=GIVEN_TRACE_HEIGHT_MV[0],
        max_value=GIVEN_TRACE_HEIGHT_MV[1],
        help_text="Only for a strip image without ECG paper or axis labels: the drawn trace's "
        "height, lowest to highest point, in mV (the recording's notes say how it was used).",
    )
    patient_reference = serializers.CharField(required=False, max_length=64)
    note = serializers.CharField(required=False, max_length=1000)


class QualitySegmentSerializer(serializers.Serializer):
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    readable = serializers.BooleanField()
    reason = serializers.CharField(
        allow_blank=True, help_text='Why unreadable ("noise", "flat line (no signal)", ...).'
    )
    kurtosis = serializers.FloatField(allow_null=True)
    in_band_ratio = serializers.FloatField(allow_null=True)
    baseline_ratio = serializers.FloatField(allow_null=True)
    detector_agreement = serializers.FloatField(allow_null=True)


class InputWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["class_mix", "heart_rate", "sampling_rate", "lead", "inverted"],
        help_text="Which input sanity check fired (see the docs: recordings, input warnings).",
    )
    message = serializers.CharField(help_text="The warning as the recording page shows it.")


class RecordingQualitySerializer(serializers.Serializer):
    readable_share = serializers.FloatField(
        help_text="Share (0-1) of the recording in readable segments: what could be analysed."
    )
    segments = QualitySegmentSerializer(
        many=True, help_text="Signal quality per 5-s segment of the analysed lead."
    )
    warnings = InputWarningSerializer(
        many=True,
        required=False,
        help_text="Input sanity warnings: reasons the classes may not mean what they seem.",
    )


class ConductionSerializer(serializers.Serializer):
    call = serializers.ChoiceField(
        choices=["L", "R", "N"],
        allow_null=True,
        help_text="L or R: that block's mean probability reached its threshold; N: normal "
        "beats most probable; null: not determined.",
    )
    finding = serializers.CharField(help_text='The call in words, e.g. "not determined".')
    beats = serializers.IntegerField(help_text="Readable beats read, over every lead.")
    leads = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each lead read: lead (its name), beats (readable beats), mean (mean "
        "probability of each of the model's classes, in its order). The analysed lead first; "
        "on a recording of up to 5 minutes, the others are its leads the model was trained on, "
        "and the call reads the mean of the leads' means.",
    )
    mean_probability = serializers.DictField(
        child=serializers.FloatField(), help_text="Mean probability of L, R and N."
    )
    rule = serializers.CharField(help_text="How the call was made from the means.")


class RecordingSummarySerializer(serializers.Serializer):
    """The analysis's summary (a JSON object; every key absent until the analysis is done)."""

    beats = serializers.IntegerField(required=False)
    duration_s = serializers.FloatField(required=False)
    classes = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="code, count, percent per class."
    )
    states = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Beats per state."
    )
    heart_rate = serializers.DictField(required=False, help_text="mean_bpm, min_bpm, max_bpm.")
    rr = serializers.DictField(required=False, help_text="sdnn_ms, rmssd_ms, pnn50_percent, cv.")
    ectopy = serializers.ListField(child=serializers.DictField(), required=False)
    analysable_share = serializers.FloatField(required=False)
    atrial_calls_in_af = serializers.IntegerField(
        required=False,
        help_text="Beats the model called A inside an AF episode, counted as N (atrial premature "
        "beats are not defined in AF); absent for a recording analysed before this rule.",
    )
    lead_fusion = serializers.DictField(
        required=False,
        help_text="With a second lead read too: rule (mean; two_lead), second_lead (V1), "
        "screened_share, screened_beats, screened_reasons (where read on one lead alone).",
    )
    episodes = EpisodeSerializer(
        many=True,
        required=False,
        help_text="Rhythm episodes in time order, from classified beats and readable signal "
        "only; absent for a recording analysed before episodes were detected.",
    )
    conduction = ConductionSerializer(
        required=False,
        help_text="The recording's conduction pattern from the mean of its readable beats' "
        "probabilities (with the reviewed classes once beats are reviewed); absent for a "
        "recording analysed before it, or by a model without L, R and N.",
    )


class RecordingSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField(
        help_text="What the analysis found ({} until it is done)."
    )
    quality = serializers.SerializerMethodField(
        help_text="Signal quality of the analysed lead; null until analysed."
    )
    progress = serializers.IntegerField(source="progress_percent")
    lead_names = serializers.ListField(
        child=serializers.CharField(), help_text="Every lead the uploaded file holds, in its order."
    )
    stored_leads = serializers.ListField(
        child=serializers.CharField(),
        source="stored_lead_names",
        help_text="The leads kept with the recording, the analysed lead first, then the second "
        "lead (V1 first): every lead of a recording of up to 5 minutes, two of a longer one.",
    )
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="How the upload was read, e.g. 'lead II has no readable ECG; lead V1 analysed "
        "instead', gaps bridged, an image's scale read or assumed.",
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "created_at",
            "name",
            "file_format",
            "sampling_rate",
            "duration_s",
            "lead",
            "lead_names",
            "stored_leads",
            "notes",
            "has_reference",
            "patient_reference",
            "note",
            "status",
            "progress",
            "progress_message",
            "error",
            "started_at",
            "finished_at",
            "model",
            "beat_count",
            "summary",
            "detection",
            "agreement",
            "quality",
            "review",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(RecordingSummarySerializer)
    def get_summary(self, obj: Recording) -> dict:
        return obj.summary

    @extend_schema_field(RecordingQualitySerializer(allow_null=True))
    def get_quality(self, obj: Recording) -> dict | None:
        return obj.quality or None  # {} before the analysis (or after a failure): null

    def get_model(self, obj: Recording) -> dict[str, str] | None:
        if not obj.model_name:
            return None
        return {"name": obj.model_name, "version": obj.model_version}

    def get_links(self, obj: Recording) -> dict[str, str]:
        request = self.context.get("request")
        urls = {
            "self": reverse("api:recording-detail", args=[obj.pk]),
            "beats": reverse("api:recording-beats", args=[obj.pk]),
            "report": reverse("api:recording-report", args=[obj.pk]),
            "corrections": reverse("api:recording-corrections", args=[obj.pk]),
            "retry": reverse("api:recording-retry", args=[obj.pk]),
            "episodes": reverse("api:recording-episodes", args=[obj.pk]),
            "episodes_csv": reverse("api:recording-episodes-csv", args=[obj.pk]),
            "annotations": reverse("api:recording-annotations", args=[obj.pk]),
            "page": obj.get_absolute_url(),
        }
        return {k: request.build_absolute_uri(v) if request else v for k, v in urls.items()}


class BeatSerializer(serializers.ModelSerializer):
    reviewed_by = serializers.SerializerMethodField(
        help_text="Who gave the reviewed label ('' when not reviewed)."
    )

    def get_reviewed_by(self, obj: Beat) -> str:
        return obj.reviewed_by.get_username() if obj.reviewed_label and obj.reviewed_by else ""

    class Meta:
        model = Beat
        fields = [
            "index",
            "time_s",
            "sample",
            "label",
            "confidence",
            "state",
            "runner_up",
            "state_reason",
            "reference_label",
            "reviewed_label",
            "reviewed_by",
            "suggested_label",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "reviewed_label": {
                "help_text": "The clinician's class (latest correction); '' when not reviewed."
            },
            "suggested_label": {
                "help_text": "A class suggested from the clinician's corrections; not reviewed."
            },
            "label": {"help_text": "The model's class (kept whatever the state)."},
            "state": {
                "help_text": (
                    "classified: the class may be shown; uncertain: show as 'label? or "
                    "runner_up', not counted; unreadable: the beat's segment is noise, flat or "
                    "clipped, no class is shown"
                )
            },
            "runner_up": {"help_text": "The second most probable class."},
            "state_reason": {
                "help_text": (
                    "Why the beat is uncertain or unreadable, e.g. 'flutter run not confirmed: "
                    "the signal is not flutter-like'; '' when classified."
                )
            },
        }


class BeatProbabilitySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    percent = serializers.FloatField()


class BeatDetailSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    time_s = serializers.FloatField()
    label = serializers.CharField()
    label_name = serializers.CharField()
    confidence = serializers.FloatField()
    state = serializers.ChoiceField(choices=Beat.State.choices)
    runner_up = serializers.CharField(allow_blank=True)
    state_reason = serializers.CharField(
        allow_blank=True, help_text="Why the beat is uncertain or unreadable; '' if classified."
    )
    shown_label = serializers.CharField(
        help_text='The model\'s answer as pages show it: "V", "uncertain (V? or N)".'
    )
    reference = serializers.CharField(allow_blank=True)
    reviewed_label = serializers.CharField(
        allow_blank=True, help_text="The clinician's class (latest correction); '' if none."
    )
    reviewed_by = serializers.CharField(allow_blank=True)
    suggested_label = serializers.CharField(
        allow_blank=True, help_text="Suggested from the clinician's corrections; not reviewed."
    )
    probabilities = BeatProbabilitySerializer(many=True)


class CorrectionSerializer(serializers.Serializer):
    beat = serializers.IntegerField(source="beat.index", read_only=True)
    label = serializers.CharField(
        read_only=True,
        help_text="The class given; '' in a row of an undo that restored 'not reviewed'.",
    )
    previous_label = serializers.CharField(read_only=True)
    action = serializers.IntegerField(
        source="action_id",
        read_only=True,
        allow_null=True,
        help_text="The review action the row belongs to (all rows of one action are undone "
        "together); null for rows stored before actions existed.",
    )
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_username() if obj.created_by else ""


class CorrectionCreateSerializer(serializers.Serializer):
    beats = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        min_length=1,
        help_text="Indices of the beats to correct.",
    )
    label = serializers.CharField(
        max_length=8,
        help_text="One of the model's classes, or F (fusion), P (paced) or X (artefact: no "
        "beat, left out of every count): labels only a reviewer gives, never predicted.",
    )


class ReviewActionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(
        choices=["correct", "group", "suggest", "redo", "revert"],
        read_only=True,
        help_text="correct: beats corrected; group: a template group relabelled; suggest: "
        "labels suggested from the corrections; redo: one of these redone after an undo; "
        "revert: an older action undone alone.",
    )
    description = serializers.SerializerMethodField(
        help_text='In words, as the Undo button says it: "1,000 beats of group 3 → V".'
    )
    label = serializers.CharField(read_only=True, help_text="The class given ('' for suggest).")
    group = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Template group number, from 0."
    )
    beat_count = serializers.IntegerField(read_only=True)
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    def get_description(self, obj) -> str:
        from recordings.review_action_selectors import review_action_describe

        return review_action_describe(obj)

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_username() if obj.created_by else ""


class UndoableSerializer(serializers.Serializer):
    undo = ReviewActionSerializer(
        allow_null=True, help_text="What POST would undo; null when nothing is left to undo."
    )


class UndoneSerializer(serializers.Serializer):
    undone = ReviewActionSerializer(help_text="The action undone.")
    beats_reviewed = serializers.IntegerField()
    reviewers = serializers.ListField(child=serializers.CharField())
    summary = serializers.DictField(help_text="The recounted summary.")
    next_undo = ReviewActionSerializer(
        allow_null=True, help_text="What a further POST would undo (null: nothing)."
    )


class RedoableSerializer(serializers.Serializer):
    redo = ReviewActionSerializer(
        allow_null=True,
        help_text="What POST would re-apply (the action the latest undo undid); null when "
        "nothing is left to redo.",
    )


class RedoneSerializer(serializers.Serializer):
    redone = ReviewActionSerializer(help_text="The action re-applied.")
    beats_reviewed = serializers.IntegerField()
    reviewers = serializers.ListField(child=serializers.CharField())
    summary = serializers.DictField(help_text="The recounted summary.")
    next_redo = ReviewActionSerializer(
        allow_null=True, help_text="What a further POST would re-apply (null: nothing)."
    )
    next_undo = ReviewActionSerializer(
        allow_null=True, help_text="What an undo now undoes: the redo just made."
    )


class ReviewActionHistorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=["correct", "group", "suggest", "undo", "redo", "revert"],
        help_text="As in the undo endpoint, plus undo: the latest action undone by Undo.",
    )
    description = serializers.CharField(
        help_text='Who did what, in words: "relabelled group 3 (412 beats) N → V", '
        '"confirmed 20 beats as N", "undo of “...” alone: 370 beats put back, 42 kept their '
        'later label".'
    )
    beat_count = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=["in_effect", "undone", "undone_alone", "step"],
        help_text="in_effect; undone (by Undo); undone_alone (by undoing it alone); step: an "
        "undo (taken back with Redo).",
    )
    can_undo = serializers.SerializerMethodField(
        help_text="Whether POST .../actions/{id}/undo/ may undo it."
    )
    refusal = serializers.CharField(help_text="Why it cannot be undone alone ('' if it can).")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_can_undo(self, obj) -> bool:
        return not obj["refusal"]


class ReviewActionListSerializer(serializers.Serializer):
    results = ReviewActionHistorySerializer(many=True, help_text="Newest first.")


class ActionUndoneSerializer(serializers.Serializer):
    undone = ReviewActionSerializer(help_text="The action undone.")
    by = ReviewActionSerializer(
        help_text="The action that undid it: a revert, or an undo when it was the latest action "
        "(then Redo re-applies it)."
    )
    beats_put_back = serializers.IntegerField()
    beats_kept = serializers.IntegerField(
        help_text="Beats a later action changed again: they keep the later label."
    )
    message = serializers.CharField()
    beats_reviewed = serializers.IntegerField()
    reviewers = serializers.ListField(child=serializers.CharField())
    summary = serializers.DictField(help_text="The recounted summary.")
    next_undo = ReviewActionSerializer(
        allow_null=True, help_text="What Undo now undoes (the revert just made)."
    )
