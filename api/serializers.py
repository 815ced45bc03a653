"""Request and response shapes of the REST API (validation only; no work is done here)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from classifier.forms import TRACE_HEIGHT_HELP, patient_reference_validator
from classifier.models import Prediction
from classifier.services import IMAGE_TYPE_CHOICES
from ecg.imaging.digitise import GIVEN_TRACE_HEIGHT_MV


class PredictionCreateSerializer(serializers.Serializer):
    """``POST /api/v1/predictions/`` as multipart/form-data. The image's content (format, size,
    pixel count) is checked by the same validator as the upload page, inside the service."""

    image = serializers.FileField(help_text="One ECG beat image or spectral image (PNG/JPEG/BMP).")
    image_type = serializers.ChoiceField(
        choices=IMAGE_TYPE_CHOICES,
        default="auto",
        help_text="beat_image, spectrogram, or auto (detected from the picture).",
    )
    trace_height_mv = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=GIVEN_TRACE_HEIGHT_MV[0],
        max_value=GIVEN_TRACE_HEIGHT_MV[1],
        help_text=TRACE_HEIGHT_HELP,
    )
    patient_reference = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        validators=[patient_reference_validator],
        help_text="A pseudonymous code only -- never a name or an ID number.",
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ModelInfoSerializer(serializers.Serializer):
    name = serializers.CharField(source="model_name")
    version = serializers.CharField(source="model_version")


class PredictionSerializer(serializers.ModelSerializer):
    predicted_class_name = serializers.CharField(read_only=True)
    shown_label = serializers.CharField(
        read_only=True, help_text='The class as pages show it: "V", or "uncertain (V? or N)".'
    )
    digitised_trace = serializers.JSONField(
        read_only=True,
        help_text="Digitised images: the followed trace in image pixels (x, y), the image size "
        "and the columns of the classified beat window (window_x), lighting_evened: true "
        "when the image's uneven lighting (a photo) was evened out before it was read, and "
        "colour_cast_removed: true when the light's colour cast was taken out; null otherwise.",
    )
    probabilities = serializers.DictField(
        child=serializers.FloatField(), help_text="Class code -> probability, in model order."
    )
    model = ModelInfoSerializer(source="*", read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = [
            "id",
            "created_at",
            "original_name",
            "image_type",
            "image_type_detected",
            "predicted_class",
            "predicted_class_name",
            "state",
            "state_reason",
            "shown_label",
            "confidence",
            "probabilities",
            "model",
            "source",
            "scale_source",
            "scale_step_mv",
            "trace_height_mv",
            "digitised_trace",
            "patient_reference",
            "note",
            "links",
        ]
        read_only_fields = fields

    def get_links(self, obj: Prediction) -> dict[str, str]:
        request = self.context.get("request")
        urls = {
            "self": reverse("api:prediction-detail", args=[obj.pk]),
            "image": reverse("api:prediction-image", args=[obj.pk]),
            "heatmap": reverse("api:prediction-heatmap", args=[obj.pk]),
            "report": reverse("api:prediction-report", args=[obj.pk]),
            "page": obj.get_absolute_url(),
        }
        return {k: request.build_absolute_uri(v) if request else v for k, v in urls.items()}


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (see ``api.exceptions``)."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.CharField(help_text="Machine-readable, e.g. invalid, not_found, throttled.")
    message = serializers.CharField(help_text="One readable sentence.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: field -> messages.",
    )
    retry_after_s = serializers.IntegerField(required=False, help_text="429 only.")
