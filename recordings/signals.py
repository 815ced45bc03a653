"""A deleted recording takes its files with it, however it is deleted (the service, the admin's
bulk action, or its owner's account being deleted in cascade). A worker that starts schedules
the sweep for analyses whose worker died."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_q.signals import post_spawn

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


@receiver(post_spawn, dispatch_uid="recordings_reclaim_schedule")
def recordings_reclaim_schedule(sender, proc_name: str = "", **kwargs) -> None:
    """Each worker that starts makes sure the sweep for abandoned analyses is scheduled (once,
    shared by all workers: the cluster's scheduler runs it every minute)."""
    from django_q.models import Schedule

    try:
        Schedule.objects.get_or_create(
            name="recordings-reclaim-abandoned",
            defaults={
                "func": "recordings.tasks.recordings_reclaim_task",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
    except DatabaseError:  # never keep a worker from starting; the next one tries again
        logger.warning("could not schedule the sweep for abandoned analyses", exc_info=True)
