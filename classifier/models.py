"""A stored prediction: one uploaded ECG image, the class the model gave it, and who owns it."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ecg.classes import AAMI, SIX_CLASS, class_display_name

# The label sets' own order. PostgreSQL's jsonb does not keep an object's key order, so the
# stored probabilities are put back in this order for display and export.
CLASS_ORDER: dict[str, int] = {
    code: i for i, code in enumerate(dict.fromkeys(c.code for c in (*SIX_CLASS, *AAMI)))
}


def prediction_upload_to(instance: Prediction, filename: str) -> str:
    """A random name under ``uploads/YYYY/MM/``: the original name may hold patient details.

    Only the extension survives, and the service sets it from the format Pillow detected, not
    from what the user typed.
    """
    suffix = PurePath(filename).suffix.lower()[:5]
    return f"uploads/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Prediction(models.Model):
    class ImageType(models.TextChoices):
        BEAT_IMAGE = "beat_image", "Beat image"
        SPECTROGRAM = "spectrogram", "Spectral image"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions"
    )
    image = models.FileField(upload_to=prediction_upload_to, max_length=255)
    original_name = models.CharField(max_length=255)
    image_type = models.CharField(max_length=16, choices=ImageType.choices)
    image_type_detected = models.BooleanField(
        default=False, help_text="True when the image type was detected automatically."
    )
    predicted_class = models.CharField(max_length=8)
    confidence = models.FloatField()
    probabilities = models.JSONField(help_text="Class code -> probability, in model order.")

    class State(models.TextChoices):
        # As a recording's beats (ecg.features.beat_states): an uncertain answer is never
        # shown as a diagnosis.
        CLASSIFIED = "classified", "Classified"
        UNCERTAIN = "uncertain", "Uncertain"

    class Source(models.TextChoices):
        OWN_FORMAT = "own_format", "The app's own image format"
        DIGITISED = "digitised", "Digitised from the image"

    state = models.CharField(max_length=16, choices=State.choices, default=State.CLASSIFIED)
    state_reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OWN_FORMAT)
    scale_source = models.CharField(
        max_length=16,
        blank=True,
        help_text=(
            "Digitised images: grid (read from ECG paper), assumed (no grid, one amplitude), "
            "prior (no grid, averaged over typical amplitudes), axis_labels (read from "
            "the plot's axis tick labels) or given (the trace's height the user gave)."
        ),
    )
    scale_step_mv = models.FloatField(
        null=True,
        blank=True,
        help_text="Scale read from axis labels: mV between neighbouring y tick labels.",
    )
    trace_height_mv = models.FloatField(
        null=True,
        blank=True,
        help_text="Scale given by the user: the trace's height, lowest to highest point, in mV.",
    )
    digitised_trace = models.JSONField(
        null=True,
        blank=True,
        help_text="Digitised images: the followed trace in image pixels (downsampled).",
    )
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50)
    patient_reference = models.CharField(
        max_length=64,
        blank=True,
        help_text="Pseudonymous reference only -- never a name or an ID number.",
    )
    note = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="prediction_owner_created")]

    def __str__(self) -> str:
        return f"{self.original_name}: {self.predicted_class} ({self.confidence:.0%})"

    def get_absolute_url(self) -> str:
        return reverse("classifier:detail", args=[self.pk])

    def get_image_url(self) -> str:
        return reverse("classifier:image", args=[self.pk])

    def get_thumbnail_url(self) -> str:
        return f"{self.get_image_url()}?thumb=1"

    @property
    def predicted_class_name(self) -> str:
        return class_display_name(self.predicted_class)

    @property
    def is_uncertain(self) -> bool:
        return self.state == self.State.UNCERTAIN

    @property
    def runner_up(self) -> str:
        """The second most probable class ("" with fewer than two)."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -float(kv[1]))
        return ranked[1][0] if len(ranked) > 1 else ""

    @property
    def shown_label(self) -> str:
        """The class as pages show it: "V", or "uncertain (V? or N)" (as recordings' beats)."""
        if not self.is_uncertain:
            return self.predicted_class
        other = self.runner_up
        return (
            f"uncertain ({self.predicted_class}? or {other})"
            if other
            else (f"uncertain ({self.predicted_class}?)")
        )

    @property
    def shown_class_name(self) -> str:
        """The class name, or "Uncertain" -- never a diagnosis for an uncertain answer."""
        return "Uncertain" if self.is_uncertain else self.predicted_class_name

    @property
    def scale_source_text(self) -> str:
        return {
            "grid": "read from the ECG-paper grid (25 mm/s, 10 mm/mV)",
            "assumed": "assumed (no grid: the beat was given a typical 2 mV peak to peak)",
            "prior": (
                "unknown (no grid): the answer is averaged over five typical beat amplitudes, "
                "1.1 to 3.0 mV peak to peak"
            ),
            "given": (
                f"given by you: the trace is {self.trace_height_mv:g} mV from its lowest to "
                "its highest point"
                if self.trace_height_mv
                else "given by you"
            ),
            "axis_labels": (
                f"read from the axis labels ({self.scale_step_mv:g} mV per tick)"
                if self.scale_step_mv
                else "read from the axis labels"
            ),
        }.get(self.scale_source, self.scale_source)

    @property
    def lighting_evened(self) -> bool:
        """Whether the image's uneven lighting was evened out before it was digitised."""
        return bool((self.digitised_trace or {}).get("lighting_evened"))

    @property
    def colour_cast_removed(self) -> bool:
        """Whether the light's colour cast was taken out of the image before it was digitised."""
        return bool((self.digitised_trace or {}).get("colour_cast_removed"))

    def trace_window(self) -> dict[str, float] | None:
        """The classified beat window's columns in the image, for the overlay's shaded box."""
        window = (self.digitised_trace or {}).get("window_x") or []
        if len(window) != 2:
            return None
        return {"x": float(window[0]), "width": max(0.0, float(window[1]) - float(window[0]))}

    def trace_points(self) -> str:
        """The digitised trace as SVG polyline points ("x,y x,y ...")."""
        trace = self.digitised_trace or {}
        return " ".join(
            f"{x},{y}" for x, y in zip(trace.get("x", []), trace.get("y", []), strict=False)
        )

    @property
    def confidence_percent(self) -> float:
        return round(self.confidence * 100, 1)

    def probability_rows(self) -> list[dict]:
        """(code, name, probability in %) for every class, in model order, for the bar chart."""
        return [
            {
                "code": code,
                "name": class_display_name(code),
                "percent": round(float(p) * 100, 1),
                "is_predicted": code == self.predicted_class,
            }
            for code, p in self.ordered_probabilities().items()
        ]

    def ordered_probabilities(self) -> dict[str, float]:
        """Probabilities in label-set order, whatever order the database returned them in."""
        return dict(
            sorted(self.probabilities.items(), key=lambda kv: (CLASS_ORDER.get(kv[0], 99), kv[0]))
        )
