"""A real `manage.py qcluster` process analyses a queued recording through the database broker.

Three processes share one database: the worker, a client that uploads and waits, and (for
SQLite) a `migrate` before them. Which database:

* the suite runs on PostgreSQL (DATABASE_URL=postgres://..., as in CI's second pass): pytest's
  own test database, committed to (transactional test) so the other processes see the rows --
  the production broker, exercised with no extra setup;
* otherwise a temporary SQLite file (pytest's SQLite test database lives in memory);
* ``RECORDINGS_WORKER_TEST_DATABASE_URL``, when set, names an EMPTY scratch database to use
  instead (it is migrated and left as it is).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .synth import beat_times, ecg, write_wfdb

ROOT = Path(__file__).resolve().parents[2]
FS = 360.0

CLIENT = """
import json, os, time
from pathlib import Path
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from recordings.models import Recording
from recordings.services import recording_create

folder = Path(os.environ["WORKER_TEST_UPLOAD"])
owner, _ = get_user_model().objects.get_or_create(username="worker-test")
files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
recording = recording_create(owner=owner, files=files)
seen = [recording.status]
deadline = time.time() + 240
while time.time() < deadline:
    recording.refresh_from_db()
    if recording.status not in seen:
        seen.append(recording.status)
    if recording.is_finished:
        break
    time.sleep(0.5)
print(json.dumps({"seen": seen, "status": recording.status, "error": recording.error,
                  "beats": recording.beat_count, "rows": recording.beats.count()}))
"""


def run_manage(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False, **kwargs,
    )  # fmt: skip


def shared_database_url(request, tmp_path: Path) -> tuple[str, bool]:
    """(DATABASE_URL for the processes, whether it must be migrated first)."""
    from urllib.parse import quote

    from django.conf import settings

    explicit = os.environ.get("RECORDINGS_WORKER_TEST_DATABASE_URL")
    if explicit:
        return explicit, True
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        request.getfixturevalue("transactional_db")  # rows are committed, then flushed
        from django.db import connection

        db = connection.settings_dict  # pytest's test database, already migrated
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
        return f"postgres://{credentials}@{host}/{db['NAME']}", False
    return f"sqlite:///{tmp_path / 'broker.sqlite3'}", True


def worker_environment(request, tmp_path, tiny_bundle) -> tuple[dict[str, str], bool]:
    """The environment of a real worker process (and manage.py calls) on the test database, the
    tiny model and a private media folder, with the database migrated when it needs to be; and
    whether it did (SQLite: a file of its own; PostgreSQL: this test's database)."""
    database_url, needs_migrate = shared_database_url(request, tmp_path)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecgsite.settings",
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MODELS_DIR": str(Path(tiny_bundle.path).parent),
        "RECORDING_TASKS_SYNC": "false",
        "Q_WORKERS": "1",
    }
    if needs_migrate:
        migrated = run_manage(["migrate", "--noinput"], env, timeout=300)
        assert migrated.returncode == 0, migrated.stderr[-2000:]
    return env, needs_migrate


@pytest.mark.slow
# The marker makes pytest-django set up its test database before the test starts: requested
# only from the body (getfixturevalue), the test ran against DATABASE_URL's own database when
# it ran first or alone -- and the transactional flush would then empty that database.
@pytest.mark.django_db(transaction=True)
def test_qcluster_process_runs_a_queued_analysis(request, tmp_path, tiny_bundle):
    env, needs_migrate = worker_environment(request, tmp_path, tiny_bundle)

    duration = 30.0
    times = beat_times(duration)
    x = np.stack([ecg(FS, duration, times), 0.5 * ecg(FS, duration, times, seed=4)])
    upload = tmp_path / "upload"
    write_wfdb(upload, "wk", x, FS, ["MLII", "V1"])

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = run_manage(
            ["shell", "-c", CLIENT], {**env, "WORKER_TEST_UPLOAD": str(upload)}, timeout=300
        )
    finally:
        worker.send_signal(signal.SIGINT)  # qcluster's graceful stop
        try:
            log, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            log, _ = worker.communicate()
    assert client.returncode == 0, client.stderr[-3000:]
    result = json.loads(client.stdout.strip().splitlines()[-1])
    assert result["status"] == "done", (result, log[-3000:])
    assert result["seen"][0] == "queued"  # the upload returned before the analysis ran
    assert result["beats"] == result["rows"] == len(times)
    assert "recording-" in log  # the cluster logged processing our task
    if not needs_migrate:  # PostgreSQL: the rows are in this test's own database
        from recordings.models import Recording

        assert Recording.objects.get().status == "done"


SETUP_ABANDONED = """
import json, os
from datetime import timedelta
from pathlib import Path
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_q.models import OrmQ
from recordings.models import Recording
from recordings.services import recording_create

folder = Path(os.environ["WORKER_TEST_UPLOAD"])
owner, _ = get_user_model().objects.get_or_create(username="worker-test")
files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
recording = recording_create(owner=owner, files=files)
# As a SIGKILLed worker leaves it: "running", its lease run out, its task locked by the dead
# worker (invisible to others until Q_TIMEOUT + 300 s) -- and no hook was called.
OrmQ.objects.all().delete()
Recording.objects.filter(pk=recording.pk).update(
    status="running", attempts=1, progress=0.3, progress_message="classifying beats",
    started_at=timezone.now() - timedelta(minutes=6),
    lease_until=timezone.now() - timedelta(seconds=1),
)
print(json.dumps({"id": recording.pk}))
"""

WAIT_FOR = """
import json, os, time
from recordings.models import Recording

recording = Recording.objects.get(pk=int(os.environ["WORKER_TEST_RECORDING"]))
deadline = time.time() + 150
while time.time() < deadline and not recording.is_finished:
    time.sleep(1)
    recording.refresh_from_db()
print(json.dumps({"status": recording.status, "error": recording.error,
                  "attempts": recording.attempts, "beats": recording.beat_count}))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_analysis_abandoned_by_a_killed_worker_is_finished_by_the_next_worker(
    request, tmp_path, tiny_bundle
):
    """Nobody looks at the page: a fresh qcluster's scheduled sweep (first run about 30 s after
    it starts) finds the expired lease, queues the analysis again, and a worker finishes it."""
    env, _ = worker_environment(request, tmp_path, tiny_bundle)
    duration = 20.0
    times = beat_times(duration)
    upload = tmp_path / "upload"
    write_wfdb(upload, "ab", ecg(FS, duration, times)[None], FS, ["MLII"])
    setup = run_manage(
        ["shell", "-c", SETUP_ABANDONED], {**env, "WORKER_TEST_UPLOAD": str(upload)}, timeout=300
    )
    assert setup.returncode == 0, setup.stderr[-3000:]
    recording_id = json.loads(setup.stdout.strip().splitlines()[-1])["id"]

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = run_manage(
            ["shell", "-c", WAIT_FOR], {**env, "WORKER_TEST_RECORDING": str(recording_id)},
            timeout=300,
        )  # fmt: skip
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            log, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            log, _ = worker.communicate()
    assert client.returncode == 0, client.stderr[-3000:]
    result = json.loads(client.stdout.strip().splitlines()[-1])
    assert result["status"] == "done", (result, log[-3000:])
    assert result["attempts"] == 2  # the dead worker's start and the second one
    assert result["beats"] == len(times)
