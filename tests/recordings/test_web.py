"""The recordings web app: upload -> background analysis -> report, exports, privacy, failures."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from recordings.models import Beat, Recording

from .synth import beat_times, ecg, write_wfdb, zip_bytes

FS = 360.0
DURATION = 40.0

pytestmark = pytest.mark.django_db


def client_for(client, user):
    client.force_login(user)
    return client


def wfdb_upload(tmp_path, name="syn", with_reference=True):
    times = beat_times(DURATION, rr_s=0.8, premature_every=5)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if i % 5 == 4 else "N" for i in range(len(truth))]
    x = np.stack([ecg(FS, DURATION, times), 0.6 * ecg(FS, DURATION, times, seed=2)])
    files = write_wfdb(
        tmp_path / name, name, x, FS, ["MLII", "V1"],
        truth if with_reference else None, symbols if with_reference else None,
    )  # fmt: skip
    return files, truth, symbols


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(autouse=True)
def _commit_hooks(django_capture_on_commit_callbacks):
    """Tests run inside a transaction that never commits: run on_commit hooks (queueing the
    analysis, removing deleted files) when each request ends, as a real commit would."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


_capture = None


def post(client, url, data=None):
    with _capture(execute=True):
        return client.post(url, data or {})


def upload(client, files: dict[str, bytes], **fields):
    uploads = [SimpleUploadedFile(n, c) for n, c in files.items()]
    data = {"files": uploads, "units": "mV", **fields}
    return post(client, reverse("recordings:upload"), data)


def done_recording(client, users, tmp_path) -> tuple[Recording, list[int], list[str]]:
    files, truth, symbols = wfdb_upload(tmp_path)
    response = upload(client_for(client, users["alice"]), files, patient_reference="P-7")
    assert response.status_code == 302, response.content[:500]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE, recording.error
    return recording, truth, symbols


# -- the journey ----------------------------------------------------------------------------


def test_upload_analysis_report_journey(client, env, users, tmp_path):
    recording, truth, symbols = done_recording(client, users, tmp_path)
    assert recording.owner == users["alice"] and recording.patient_reference == "P-7"
    assert recording.lead == "MLII" and recording.has_reference
    assert recording.original_names == ["syn.atr", "syn.dat", "syn.hea"]
    assert recording.beat_count == Beat.objects.filter(recording=recording).count() == len(truth)
    assert recording.detection["sensitivity"] == 1.0
    assert recording.model_name == "tiny_recording"
    assert sum(c["count"] for c in recording.summary["classes"]) == len(truth)
    refs = list(recording.beats.order_by("index").values_list("reference_label", flat=True))
    assert refs == symbols

    page = client.get(recording.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Heart rate" in html and "ECG strip" in html and "Agreement with the uploaded" in html
    assert reverse("recordings:csv", args=[recording.pk]) in html
    # Agreement table: a dash only where a ratio is undefined (no reference / no predicted beat),
    # a real 0.0 stays visible.
    undefined = sum(
        (row["sensitivity"] is None) + (row["precision"] is None)
        for row in recording.agreement["per_class"]
    )
    assert html.count('<td class="text-end">–</td>') == undefined

    status = client.get(reverse("recordings:status", args=[recording.pk])).json()
    assert status["status"] == "done" and status["progress"] == 100 and status["finished"]

    strip = client.get(
        reverse("recordings:strip", args=[recording.pk]), {"start": 5, "seconds": 10}
    )
    data = strip.json()
    assert data["start_s"] == 5 and len(data["signal"]) == 3600
    in_window = [t for t in truth / FS if 5 <= t < 15]
    assert [b["t"] for b in data["beats"]] == pytest.approx(in_window, abs=0.01)

    beat = client.get(reverse("recordings:beat", args=[recording.pk, 3])).json()
    assert beat["index"] == 3 and len(beat["probabilities"]) == 6
    assert sum(p["percent"] for p in beat["probabilities"]) == pytest.approx(100, abs=0.5)
    png = client.get(reverse("recordings:beat_png", args=[recording.pk, 3]))
    assert png["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)

    find = client.get(reverse("recordings:find", args=[recording.pk]), {"after": 0, "label": "N"})
    first_n = recording.beats.filter(label="N").order_by("time_s").first()
    assert find.json()["time_s"] == (first_n.time_s if first_n else None)


def test_per_beat_csv(client, env, users, tmp_path):
    recording, truth, symbols = done_recording(client, users, tmp_path)
    response = client.get(reverse("recordings:csv", args=[recording.pk]))
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["beat", "time_s", "sample", "class", "confidence"]
    assert header[5:11] == ["p_L", "p_N", "p_A", "p_V", "p_R", "p_!"]
    assert header[-4:] == ["reference_class", "reviewed_class", "reviewed_by", "suggested_class"]
    assert len(body) == len(truth)
    beats = list(recording.beats.order_by("index"))
    for row, beat in zip(body, beats, strict=True):
        assert int(row[0]) == beat.index and int(row[2]) == beat.sample and row[3] == beat.label
        probs = [float(p) for p in row[5:11]]
        assert sum(probs) == pytest.approx(1.0, abs=0.01)
        assert header[5 + int(np.argmax(probs))] == f"p_{beat.label}"
        assert float(row[4]) == pytest.approx(max(probs), abs=0.002)
    assert [r[-4] for r in body] == symbols
    assert all(r[-3:] == ["", "", ""] for r in body)  # nothing reviewed or suggested yet


def test_per_beat_csv_confidence_is_the_class_probability_rounded_alike(
    client, env, users, tmp_path
):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    response = client.get(reverse("recordings:csv", args=[recording.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    beats = {b.index: b for b in recording.beats.all()}
    for row in body:
        beat = beats[int(row[0])]
        assert row[4] == row[header.index(f"p_{row[3]}")] == f"{beat.confidence:.4f}", row


def test_class_images_zip_in_pipeline_layout(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    label = recording.beats.values_list("label", flat=True).first()
    expected = recording.beats.filter(label=label).count()
    folder = "VF" if label == "!" else label
    response = client.get(reverse("recordings:zip", args=[recording.pk, folder]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    # The class folder of images, and the rhythm events beside it (issue 20).
    assert "episodes.csv" in archive.namelist()
    assert archive.read("episodes.csv").decode().startswith("kind,label,start_s,end_s,")
    names = [n for n in archive.namelist() if n != "episodes.csv"]
    assert len(names) == expected
    assert all(n.startswith(f"{folder}/syn_beat") and n.endswith(".png") for n in names)
    image = Image.open(io.BytesIO(archive.read(names[0])))
    assert image.size == (64, 64) and image.mode == "L"
    missing = "R" if label != "R" else "L"
    if not recording.beats.filter(label=missing).exists():
        assert (
            client.get(reverse("recordings:zip", args=[recording.pk, missing])).status_code == 404
        )


class RemoteLikeStorage(InMemoryStorage):
    """Files kept apart from the local disk, with no local path, like S3 (django-storages)."""

    def path(self, name):
        raise NotImplementedError("This backend doesn't support absolute paths.")

    def _relative_path(self, name):  # InMemoryStorage finds its files through path()
        return os.path.relpath(super().path(name), self.location)


def test_a_recording_on_remote_storage_is_read_through_temporary_local_copies(
    client, env, users, tmp_path, monkeypatch
):
    """Object storage (S3 ...) has no local path: the worker and the pages map a temporary copy,
    streamed in chunks, never the whole signal read into memory, and leave no copy behind."""
    import shutil
    import tempfile

    from django.core.files.storage import default_storage

    from recordings import services

    env.STORAGES = {
        **env.STORAGES,
        "default": {"BACKEND": f"{__name__}.RemoteLikeStorage"},
    }
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    copies = []
    real_copy = shutil.copyfileobj
    monkeypatch.setattr(
        services.shutil, "copyfileobj", lambda *a: copies.append(a[2]) or real_copy(*a)
    )

    recording, truth, _symbols = done_recording(client, users, tmp_path)
    with pytest.raises(NotImplementedError):
        _ = recording.signal_file.path
    assert recording.beat_count == len(truth) and copies == [services.COPY_CHUNK_BYTES]
    with default_storage.open(recording.signal_file.name, "rb") as handle:
        stored = np.load(io.BytesIO(handle.read()))
    with services.mapped_signals(recording) as signals:
        assert isinstance(signals, np.memmap)
        np.testing.assert_array_equal(signals, stored)

    strip = client.get(reverse("recordings:strip", args=[recording.pk]) + "?start=5&seconds=10")
    beat_png = client.get(reverse("recordings:beat_png", args=[recording.pk, 3]))
    heat_map = client.get(reverse("reports:recording-beat-heatmap", args=[recording.pk, 3]))
    label = recording.beats.get(index=3).label
    archive = client.get(
        reverse("recordings:zip", args=[recording.pk, "VF" if label == "!" else label])
    )
    for response in (strip, beat_png, heat_map, archive):
        assert response.status_code == 200, response.content[:300]
    assert len(strip.json()["beats"]) > 5
    # the worker's copy, then at least one for each page above, each streamed in chunks
    assert len(copies) >= 5 and set(copies) == {services.COPY_CHUNK_BYTES}
    assert not [p for p in scratch.rglob("*") if p.is_file()]


# -- privacy ----------------------------------------------------------------------------------


def test_only_owner_or_staff_see_a_recording(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    urls = [
        recording.get_absolute_url(),
        reverse("recordings:status", args=[recording.pk]),
        reverse("recordings:strip", args=[recording.pk]),
        reverse("recordings:find", args=[recording.pk]) + "?label=N",
        reverse("recordings:beat", args=[recording.pk, 0]),
        reverse("recordings:beat_png", args=[recording.pk, 0]),
        reverse("recordings:csv", args=[recording.pk]),
        reverse("recordings:zip", args=[recording.pk, "N"]),
        reverse("recordings:delete", args=[recording.pk]),
    ]
    client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url
    client_for(client, users["bob"])
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("recordings:delete", args=[recording.pk])).status_code == 404
    assert client.post(reverse("recordings:retry", args=[recording.pk])).status_code == 404
    assert Recording.objects.filter(pk=recording.pk).exists()
    listing = client.get(reverse("recordings:list"))
    assert recording.name not in listing.content.decode()
    client_for(client, users["staff"])
    assert client.get(recording.get_absolute_url()).status_code == 200
    assert client.get(reverse("recordings:csv", args=[recording.pk])).status_code == 200


def test_list_search_and_delete_removes_files(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    assert (
        client.get(reverse("recordings:list"), {"q": "P-7"})
        .content.decode()
        .count(recording.get_absolute_url())
        >= 1
    )
    assert (
        recording.get_absolute_url()
        not in client.get(reverse("recordings:list"), {"q": "nobody"}).content.decode()
    )
    assert len(media_files(env)) == 3  # signals, reference, probabilities
    with_commit = post(client, reverse("recordings:delete", args=[recording.pk]))
    assert with_commit.status_code == 302
    assert not Recording.objects.exists() and not Beat.objects.exists()
    assert media_files(env) == []


# -- bad input and failures leave nothing behind ------------------------------------------------


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.csv": b"time,v\n0,1\n0.1,oops\n"}, "is not a number"),
        ({"x.zip": zip_bytes({"../evil.hea": b"x"})}, "points outside the archive"),
        ({"x.csv": b"0.1\n" * 100}, "sampling rate cannot be read"),
        ({"x.png": b"\x89PNG"}, "not a readable PNG, JPEG or BMP image"),
        ({"x.docx": b"PK\x03\x04"}, "unsupported upload"),
    ],
)
def test_malformed_upload_gets_a_message_and_stores_nothing(client, env, users, files, message):
    response = upload(client_for(client, users["alice"]), files)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Recording.objects.exists()
    assert media_files(env) == []


def test_header_data_mismatch_is_refused(client, env, users, tmp_path):
    files, _truth, _symbols = wfdb_upload(tmp_path)
    files["syn.dat"] = files["syn.dat"][:-1000]
    response = upload(client_for(client, users["alice"]), files)
    assert response.status_code == 400 and "declares" in response.content.decode()
    assert not Recording.objects.exists() and media_files(env) == []


def test_upload_without_a_recording_model(client, env, users, tmp_path):
    from ecgsite.model_registry import reset_model_registry

    env.MODELS_DIR = tmp_path / "empty"
    reset_model_registry()
    files, _truth, _symbols = wfdb_upload(tmp_path)
    response = upload(client_for(client, users["alice"]), files)
    assert response.status_code == 400 and "No recording model" in response.content.decode()
    assert not Recording.objects.exists() and media_files(env) == []


def test_failed_analysis_shows_reason_and_keeps_no_results(
    client, env, users, tmp_path, monkeypatch
):
    import recordings.services as services

    def broken_write(recording, result):
        Beat.objects.create(recording=recording, index=0, sample=1, time_s=0.0, label="N",
                            confidence=1.0)  # fmt: skip
        raise RuntimeError("disk full while writing beats")

    monkeypatch.setattr(services, "_write_beats", broken_write)
    files, _truth, _symbols = wfdb_upload(tmp_path)
    response = upload(client_for(client, users["alice"]), files)
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.FAILED
    assert "disk full while writing beats" in recording.error
    assert not Beat.objects.exists() and recording.beat_count == 0 and not recording.results_file
    assert not any(p.name == "probabilities.npy" for p in media_files(env))
    page = client.get(recording.get_absolute_url()).content.decode()
    assert "The analysis failed" in page and "disk full while writing beats" in page
    assert client.get(reverse("recordings:csv", args=[recording.pk])).status_code == 404

    monkeypatch.undo()  # the cause is gone: analyse again
    post(client, reverse("recordings:retry", args=[recording.pk]))
    recording.refresh_from_db()
    assert recording.status == Recording.Status.DONE and recording.beat_count > 0


def test_no_beat_in_a_flat_recording_is_a_clear_failure(client, env, users):
    content = ("\n".join(["0.0"] * int(FS * 20)) + "\n").encode()
    response = upload(client_for(client, users["alice"]), {"flat.csv": content}, sampling_rate=FS)
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.FAILED
    assert "no heartbeat could be detected" in recording.error
    assert not Beat.objects.exists()


def test_csv_upload_with_form_sampling_rate(client, env, users):
    times = beat_times(30.0)
    x = ecg(250.0, 30.0, times)
    content = ("\n".join(f"{v:.4f}" for v in x) + "\n").encode()
    response = upload(client_for(client, users["alice"]), {"ecg.csv": content}, sampling_rate=250)
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE and recording.sampling_rate == 250.0
    assert recording.beat_count == len(times) and not recording.has_reference


def test_csv_with_a_time_s_column_shows_the_time_and_the_analysed_column(client, env, users):
    times = beat_times(30.0)
    x = ecg(FS, 30.0, times)
    rows = ["time_s,ecg"] + [f"{i / FS:.6f},{v:.4f}" for i, v in enumerate(x)]
    content = ("\n".join(rows) + "\n").encode()
    alice = client_for(client, users["alice"])
    assert upload(alice, {"ecg.csv": content}, sampling_rate=FS).status_code == 302
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE and recording.lead == "ecg"
    assert recording.beat_count == len(times)
    html = alice.get(recording.get_absolute_url()).content.decode()
    assert "lead ecg" in html and "column &#x27;time_s&#x27; read as time: 360 Hz" in html


def test_a_csv_column_named_lead_1_is_not_called_lead_lead_1(client, env, users):
    x = ecg(250.0, 30.0, beat_times(30.0))
    content = ("\n".join(f"{v:.4f}" for v in x) + "\n").encode()  # no header: "lead 1"
    upload(client_for(client, users["alice"]), {"ecg.csv": content}, sampling_rate=250)
    recording = Recording.objects.get()
    assert recording.lead == "lead 1" and recording.lead_label == "lead 1"
    page = " ".join(client.get(recording.get_absolute_url()).content.decode().split())
    assert "lead lead" not in page and "CSV &middot; lead 1 &middot;" in page
    assert "(lead 1, band-passed" in page


def test_zip_upload(client, env, users, tmp_path):
    files, truth, _symbols = wfdb_upload(tmp_path, with_reference=False)
    response = upload(client_for(client, users["alice"]), {"rec.zip": zip_bytes(files)})
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert recording.status == "done" and recording.beat_count == len(truth)
    assert recording.agreement is None


# -- the real queue --------------------------------------------------------------------------


def test_analysis_through_the_real_broker_and_worker(client, env, users, tmp_path, monkeypatch):
    """Queued in django-q2's ORM broker, pulled by its pusher, run by its worker, saved by its
    monitor: the same functions a `manage.py qcluster` process runs, here in-process.
    (test_worker_process.py runs a real qcluster process.)"""
    import django.db

    # In a qcluster each process has its own connection and closes it between tasks; here they
    # share the test's connection and its never-committed transaction, which must stay open.
    monkeypatch.setattr(django.db, "close_old_connections", lambda: None)
    from multiprocessing import Event, Value

    from django_q.brokers import get_broker
    from django_q.models import OrmQ, Task
    from django_q.monitor import monitor
    from django_q.pusher import pusher
    from django_q.queues import Queue
    from django_q.worker import worker

    env.RECORDING_TASKS_SYNC = False
    files, truth, _symbols = wfdb_upload(tmp_path)
    c = client_for(client, users["alice"])
    response = upload(c, files)
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.QUEUED
    assert OrmQ.objects.count() == 1  # waiting in the database broker
    page = c.get(recording.get_absolute_url()).content.decode()
    assert 'role="progressbar"' in page and "progress.js" in page

    broker = get_broker()
    task_queue, result_queue, event = Queue(), Queue(), Event()
    event.set()  # one pass over the broker, then stop
    pusher(task_queue, event, broker=broker)
    task_queue.put("STOP")
    worker(task_queue, result_queue, Value("f", -1))
    result_queue.put("STOP")
    monitor(result_queue, broker=broker)

    recording.refresh_from_db()
    assert recording.status == Recording.Status.DONE, recording.error
    assert recording.beat_count == len(truth)
    task = Task.objects.get()
    assert task.success and task.result == "done" and task.name == f"recording-{recording.pk}"
    assert OrmQ.objects.count() == 0  # acknowledged


def test_worker_death_marks_the_recording_failed(env, users):
    from types import SimpleNamespace

    from recordings.tasks import recording_task_hook

    recording = Recording.objects.create(
        owner=users["alice"], name="r", file_format="csv", sampling_rate=360, n_samples=3600,
        duration_s=10, lead="lead 1", signal_file="x.npy", status=Recording.Status.RUNNING,
    )  # fmt: skip
    recording_task_hook(SimpleNamespace(success=False, args=[recording.pk], result="timeout"))
    recording.refresh_from_db()
    assert recording.status == Recording.Status.FAILED
    assert "the analysis worker stopped: timeout" in recording.error


# -- history -----------------------------------------------------------------------------------


def test_history_lists_recordings_beside_images_with_kind_and_class_filters(
    client, env, users, tmp_path
):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    history = reverse("pages:history")
    url = recording.get_absolute_url()
    assert url in client.get(history).content.decode()
    assert url in client.get(history, {"kind": "recording"}).content.decode()
    assert url not in client.get(history, {"kind": "image"}).content.decode()
    assert url in client.get(history, {"q": "P-7"}).content.decode()
    assert url not in client.get(history, {"q": "someone else"}).content.decode()
    present = recording.beats.values_list("label", flat=True).first()
    absent = next(c for c in "LNAVR!" if not recording.beats.filter(label=c).exists())
    assert url in client.get(history, {"predicted_class": present}).content.decode()
    assert url not in client.get(history, {"predicted_class": absent}).content.decode()
    client_for(client, users["bob"])
    assert url not in client.get(history).content.decode()


def test_a_task_handed_out_again_after_a_worker_timeout_fails_the_recording(env, users):
    import datetime as dt

    from django.utils import timezone

    from recordings.services import recording_analyse

    recording = Recording.objects.create(
        owner=users["alice"], name="r", file_format="csv", sampling_rate=360, n_samples=3600,
        duration_s=10, lead="lead 1", signal_file="x.npy", status=Recording.Status.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=2),
    )  # fmt: skip
    assert recording_analyse(recording_id=recording.pk) == Recording.Status.FAILED
    recording.refresh_from_db()
    assert "did not finish within 1800 s" in recording.error
    recording.status, recording.started_at = Recording.Status.RUNNING, timezone.now()
    recording.save()
    assert recording_analyse(recording_id=recording.pk) == "skipped"  # still within its time


def test_admin_lists_and_shows_recordings_and_deletes_with_files(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client_for(client, admin)
    changelist = client.get(reverse("admin:recordings_recording_changelist"), {"q": "P-7"})
    assert changelist.status_code == 200 and "syn" in changelist.content.decode()
    change = client.get(reverse("admin:recordings_recording_change", args=[recording.pk]))
    assert change.status_code == 200
    beats = client.get(reverse("admin:recordings_beat_changelist"), {"label__exact": "N"})
    assert beats.status_code == 200
    assert media_files(env)
    response = post(
        client,
        reverse("admin:recordings_recording_changelist"),
        {"action": "delete_selected", "_selected_action": [recording.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Recording.objects.exists() and media_files(env) == []


def test_admin_shows_durations_times_and_confidences_formatted(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    Recording.objects.filter(pk=recording.pk).update(duration_s=1805.5555555555557, progress=1.0)
    beat = recording.beats.order_by("index").first()
    Beat.objects.filter(pk=beat.pk).update(time_s=0.5027777777777778, confidence=0.912345678)
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client_for(client, admin)
    pages = [
        client.get(reverse("admin:recordings_recording_changelist")).content.decode(),
        client.get(
            reverse("admin:recordings_recording_change", args=[recording.pk])
        ).content.decode(),
        client.get(reverse("admin:recordings_beat_changelist")).content.decode(),
    ]
    assert all("1805.555" not in page for page in pages)
    assert "30:06" in pages[0] and "30:06" in pages[1]
    assert "360 Hz" in pages[1] and "100%" in pages[1]
    assert "0.503 s" in pages[2] and "91.2%" in pages[2]
    assert "0.50277" not in pages[2] and "0.912345" not in pages[2]


def test_upload_page_states_formats_and_limits(client, env, users):
    env.RECORDING_MAX_BYTES = 7_000_000
    page = client_for(client, users["alice"]).get(reverse("recordings:upload"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "up to 7 MB and 24 hours" in html and ".hea" in html and ".edf" in html
    assert 'enctype="multipart/form-data"' in html and "multiple" in html
    big = upload(client, {"big.csv": b"0.1\n" * 2_000_000}, sampling_rate=FS)
    assert big.status_code == 400 and "the limit is 7 MB" in big.content.decode()
    assert not Recording.objects.exists()


def test_deleting_the_owner_deletes_recordings_and_their_files(client, env, users, tmp_path):
    done_recording(client, users, tmp_path)
    assert media_files(env)
    with _capture(execute=True):
        users["alice"].delete()
    assert not Recording.objects.exists() and not Beat.objects.exists()
    assert media_files(env) == []


def test_pages_say_which_leads_the_classes_were_read_on(client, env, users, tmp_path):
    from tests.factories import build_tiny_bundle
    from tests.recordings.test_episodes_web import pdf_text

    folder = tmp_path / "fusing-model"
    folder.mkdir()
    build_tiny_bundle(
        folder, "fusing", task="recording", leads=["MLII", "V1"],
        lead_fusion={"rule": "mean", "uncertain_below": 0.2},
    )  # fmt: skip
    env.MODELS_DIR = folder
    recording, _, _ = done_recording(client, users, tmp_path)
    assert recording.summary["lead_fusion"]["second_lead"] == "V1"
    html = " ".join(client.get(recording.get_absolute_url()).content.decode().split())
    assert "classes read on lead MLII and lead V1 (their probabilities averaged)" in html
    api = client.get(reverse("api:recording-detail", args=[recording.pk])).json()
    assert api["summary"]["lead_fusion"]["second_lead"] == "V1"
    _, text = pdf_text(client, recording)
    # the lead names keep their case ("lead mlii and lead v1" before)
    assert "Classes read on lead MLII and lead V1" in " ".join(text.split())
    # a model without the flag reads one lead, and says so
    recording.summary.pop("lead_fusion")
    assert recording.leads_read_text == "classes read on lead MLII"


def test_pages_say_where_the_second_lead_was_screened_out(client, env, users, tmp_path):
    """Issue 18: the page, the API and the PDF say what share of the recording the second
    lead failed its screen, and that those beats were read on the analysed lead alone."""
    from tests.recordings.test_episodes_web import pdf_text

    recording, _, _ = done_recording(client, users, tmp_path)
    recording.summary["lead_fusion"] = {
        "rule": "mean", "second_lead": "V1", "screened_share": 0.1234, "screened_beats": 9,
        "screened_reasons": ["flat line", "noise"],
    }  # fmt: skip
    recording.save(update_fields=["summary"])
    said = (
        "lead V1 unreadable in 12 % of the recording (flat line, noise): those beats were read "
        "on MLII alone"
    )
    assert recording.second_lead_screened_text == said
    html = " ".join(client.get(recording.get_absolute_url()).content.decode().split())
    assert "Lead V1 unreadable in 12 % of the recording (flat line, noise)" in html
    api = client.get(reverse("api:recording-detail", args=[recording.pk])).json()
    assert api["summary"]["lead_fusion"]["screened_share"] == 0.1234
    assert api["summary"]["lead_fusion"]["screened_beats"] == 9
    _, text = pdf_text(client, recording)
    assert "Lead V1 unreadable in 12 % of the recording" in text and "MLII alone" in text
    # another user sees none of it
    other = client_for(client, users["bob"])
    assert other.get(reverse("api:recording-detail", args=[recording.pk])).status_code == 404
    # nothing screened, or an analysis from before the screen: nothing said
    recording.summary["lead_fusion"]["screened_share"] = 0.0
    assert recording.second_lead_screened_text == ""
    recording.summary["lead_fusion"] = {"rule": "mean", "second_lead": "V1"}
    assert recording.second_lead_screened_text == ""
    recording.summary["lead_fusion"]["screened_share"] = 0.004
    assert "unreadable in under 1 % of" in recording.second_lead_screened_text
