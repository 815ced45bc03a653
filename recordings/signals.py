"""A deleted recording takes its files with it, however it is deleted (the service, the admin's
bulk action, or its owner's account being deleted in cascade)."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Recording

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Recording, dispatch_uid="recording_files_cleanup")
def recording_files_cleanup(sender, instance: Recording, **kwargs) -> None:
    names = [f.name for f in instance.stored_files()]

    def remove() -> None:  # only once the deletion is committed: a rollback keeps the files
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not delete %s", name)

    transaction.on_commit(remove)
