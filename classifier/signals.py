"""A deleted prediction takes its image file with it, however it is deleted (the service, the
admin's bulk action, or its owner's account being deleted in cascade). Thumbnails are made on
the fly (``classifier.thumbnails``), so the upload is the only file a prediction stores."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Prediction

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Prediction, dispatch_uid="prediction_image_cleanup")
def prediction_image_cleanup(sender, instance: Prediction, **kwargs) -> None:
    storage, name = instance.image.storage, instance.image.name
    if not name:
        return

    def remove() -> None:  # only once the deletion is committed: a rollback keeps the file
        try:
            storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name)

    transaction.on_commit(remove)
