"""A stored Grad-CAM overlay: computed once per prediction, served to its owner only."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def heatmap_upload_to(instance: PredictionHeatMap, filename: str) -> str:
    return f"heatmaps/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


class PredictionHeatMap(models.Model):
    prediction = models.OneToOneField(
        "classifier.Prediction", on_delete=models.CASCADE, related_name="heatmap"
    )
    overlay = models.FileField(upload_to=heatmap_upload_to, max_length=255)
    explained_class = models.CharField(max_length=8)
    layer_name = models.CharField(max_length=100)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Grad-CAM of prediction {self.prediction_id} ({self.explained_class})"


class RecordingBeatHeatMap(models.Model):
    """Grad-CAM of one beat of an analysed recording, computed once when first asked for."""

    recording = models.ForeignKey(
        "recordings.Recording", on_delete=models.CASCADE, related_name="beat_heatmaps"
    )
    index = models.PositiveIntegerField()
    overlay = models.FileField(upload_to=heatmap_upload_to, max_length=255)
    explained_class = models.CharField(max_length=8)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "index"], name="recording_beat_heatmap_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Grad-CAM of beat {self.index} of recording {self.recording_id}"
