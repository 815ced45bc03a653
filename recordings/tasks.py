"""Background tasks (django-q2). Thin: the work is in ``services``."""

from __future__ import annotations

from ecg.recording_analysis import limit_malloc_arenas

from .models import Recording
from .services import recording_analyse, recording_mark_failed, recordings_reclaim_abandoned


def recording_analyse_task(recording_id: int) -> str:
    """Queued by ``recording_enqueue_analysis``; run by ``manage.py qcluster`` workers."""
    # The worker process's peak RSS: its analysis threads' malloc arenas kept freed memory.
    limit_malloc_arenas()
    # A worker that starts work looks for analyses whose worker died first (expired leases).
    recordings_reclaim_abandoned()
    return recording_analyse(recording_id=recording_id)


def recordings_reclaim_task() -> int:
    """Scheduled every minute (``signals.recordings_reclaim_schedule``): nobody needs to look at
    a recording for an analysis abandoned by a killed worker to be queued again."""
    return recordings_reclaim_abandoned()


def recording_task_hook(task) -> None:
    """Called by django-q after the task ends, even when the worker was killed (timeout,
    out of memory): a recording must never stay "analysing" forever."""
    if task.success:
        return
    recording_id = task.args[0] if task.args else None
    if recording_id is None:
        return
    still_open = Recording.objects.filter(
        pk=recording_id, status__in=[Recording.Status.QUEUED, Recording.Status.RUNNING]
    ).exists()
    if still_open:
        recording_mark_failed(
            recording_id=recording_id, reason=f"the analysis worker stopped: {task.result}"
        )
