"""An analysis whose worker died (killed, out of memory: django-q calls no hook then) is found by
its expired lease, queued once more, then failed with a message; "waiting for a worker" when no
worker takes queued work; a locked database during a progress write does not fail an analysis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from recordings import services
from recordings.models import Recording

from .synth import beat_times, ecg, write_wfdb

pytestmark = pytest.mark.django_db

FS = 360.0


@pytest.fixture
def env(env):
    env.RECORDING_TASKS_SYNC = False  # analyses are queued, not run in the request
    return env


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Recording ids handed to the task queue."""
    calls: list[int] = []
    monkeypatch.setattr(
        services, "recording_enqueue_analysis", lambda *, recording: calls.append(recording.pk)
    )
    return calls


def running(owner, *, lease_s: float, attempts: int = 1) -> Recording:
    now = timezone.now()
    return Recording.objects.create(
        owner=owner, name="r", file_format="csv", sampling_rate=360, n_samples=3600,
        duration_s=10, lead="lead 1", signal_file="x.npy", status=Recording.Status.RUNNING,
        started_at=now - dt.timedelta(minutes=2), lease_until=now + dt.timedelta(seconds=lease_s),
        attempts=attempts, progress=0.4, progress_message="classifying beats",
    )  # fmt: skip


def poll(client, recording: Recording, capture) -> dict:
    with capture(execute=True):
        response = client.get(reverse("recordings:status", args=[recording.pk]))
    assert response.status_code == 200
    return response.json()


def test_expired_lease_is_queued_again_once_then_failed(
    user_client, user, env, queued, django_capture_on_commit_callbacks
):
    recording = running(user, lease_s=-1)
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["status"] == "queued" and not status["finished"]
    assert queued == [recording.pk]
    recording.refresh_from_db()
    assert (recording.lease_until, recording.progress) == (None, 0.0)

    # the second start dies too: a message, not a third try
    Recording.objects.filter(pk=recording.pk).update(
        status=Recording.Status.RUNNING, attempts=2, lease_until=timezone.now()
    )
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["status"] == "failed" and status["finished"]
    assert "worker stopped 2 times" in status["error"]
    assert queued == [recording.pk]


def test_live_lease_is_left_alone(
    user_client, user, env, queued, django_capture_on_commit_callbacks
):
    recording = running(user, lease_s=60)
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["status"] == "running" and status["message"] == "classifying beats"
    assert queued == []


def test_scheduled_sweep_reclaims_without_anyone_looking(
    user, env, queued, django_capture_on_commit_callbacks
):
    from recordings.tasks import recordings_reclaim_task

    dead, alive = running(user, lease_s=-5), running(user, lease_s=60)
    with django_capture_on_commit_callbacks(execute=True):
        assert recordings_reclaim_task() == 1
    assert queued == [dead.pk]
    alive.refresh_from_db()
    assert alive.status == Recording.Status.RUNNING


def test_a_starting_worker_schedules_the_sweep_once():
    from django_q.models import Schedule
    from django_q.signals import post_spawn

    post_spawn.send(sender="django_q", proc_name="Worker-1")
    post_spawn.send(sender="django_q", proc_name="Worker-2")
    schedule = Schedule.objects.get()
    assert schedule.func == "recordings.tasks.recordings_reclaim_task"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


def test_waiting_for_a_worker_when_the_queue_does_not_move(
    user_client, user, env, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    recording = running(user, lease_s=0)
    Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.QUEUED)
    task = OrmQ.objects.create(key="ecg", payload="x", lock=timezone.now())
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["waiting_for_worker"] is False  # just queued: a worker has a moment to take it

    OrmQ.objects.filter(pk=task.pk).update(lock=timezone.now() - dt.timedelta(minutes=1))
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["waiting_for_worker"] is True
    assert status["status_display"] == "Waiting for a worker"
    assert "no analysis worker is running" in status["message"]
    page = user_client.get(recording.get_absolute_url()).content.decode()
    assert "Waiting for a worker" in page

    running(user, lease_s=60)  # a worker is busy with another analysis: the queue merely waits
    status = poll(user_client, recording, django_capture_on_commit_callbacks)
    assert status["waiting_for_worker"] is False and status["status_display"] == "Queued"


def test_a_locked_database_during_progress_updates_does_not_fail_the_analysis(
    user, env, monkeypatch
):
    times = beat_times(20.0, rr_s=0.8)
    files = write_wfdb(
        Path(env.MEDIA_ROOT).parent / "syn", "syn", ecg(FS, 20.0, times)[None], FS, ["MLII"]
    )
    uploads = [SimpleUploadedFile(name, content) for name, content in files.items()]
    recording = services.recording_create(owner=user, files=uploads)

    monkeypatch.setattr(services, "PROGRESS_INTERVAL_S", 0.0)  # write every step
    real_update = QuerySet.update
    refused = []

    def locked_on_progress(self, **kwargs):
        if "progress" in kwargs and kwargs.get("progress_message") not in ("starting", "done"):
            refused.append(kwargs["progress_message"])
            raise OperationalError("database is locked")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", locked_on_progress)
    assert services.recording_analyse(recording_id=recording.pk) == Recording.Status.DONE
    assert refused  # progress writes were attempted and refused
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DONE, recording.error
    assert recording.attempts == 1 and recording.lease_until is None
    assert recording.beat_count > 0
