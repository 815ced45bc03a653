"""Remove a stored heat map's file once its row is gone (also when its prediction is deleted,
which deletes the row by cascade), after the transaction commits."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import PredictionHeatMap, RecordingBeatHeatMap


@receiver(post_delete, sender=PredictionHeatMap, dispatch_uid="reports.heatmap_file_cleanup")
@receiver(post_delete, sender=RecordingBeatHeatMap, dispatch_uid="reports.beat_heatmap_cleanup")
def delete_heatmap_file(sender, instance, **kwargs) -> None:
    storage, name = instance.overlay.storage, instance.overlay.name
    if name:
        transaction.on_commit(lambda: storage.delete(name))
