"""/api/v1/recordings/: upload -> job -> results, beats, per-beat Grad-CAM, PDF, privacy."""

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfReader

from recordings.models import Recording
from reports.models import RecordingBeatHeatMap
from tests.factories import build_tiny_bundle
from tests.recordings.synth import beat_times, ecg, write_wfdb

pytestmark = pytest.mark.django_db
LIST = "/api/v1/recordings/"
FS = 360.0


@pytest.fixture(scope="module", params=[False, True], ids=["image", "image+rr"])
def recording_models_dir(request, tmp_path_factory) -> Path:
    """A folder with one tiny real recording model; the RR variant explains through the RR
    features of the beat's neighbours."""
    folder = tmp_path_factory.mktemp("recording-model")
    build_tiny_bundle(folder, "tiny_recording", task="recording", with_rr=request.param)
    return folder


@pytest.fixture
def analysing(settings, recording_models_dir):
    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR = recording_models_dir
    settings.RECORDING_TASKS_SYNC = True  # the analysis runs when the upload commits
    reset_model_registry()
    yield
    reset_model_registry()


@pytest.fixture(scope="module")
def wfdb_files(tmp_path_factory) -> dict[str, bytes]:
    times = beat_times(30.0, rr_s=0.8, premature_every=5)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if i % 5 == 4 else "N" for i in range(len(truth))]
    signals = np.stack([ecg(FS, 30.0, times), 0.6 * ecg(FS, 30.0, times, seed=2)])
    folder = tmp_path_factory.mktemp("wfdb")
    return write_wfdb(folder, "syn", signals, FS, ["MLII", "V1"], truth, symbols)


def post_recording(client, files: dict[str, bytes], capture, **fields):
    uploads = [SimpleUploadedFile(name, content) for name, content in files.items()]
    with capture(execute=True):
        return client.post(LIST, {"files": uploads, **fields}, format="multipart")


@pytest.fixture
def done(alice_api, analysing, wfdb_files, django_capture_on_commit_callbacks):
    response = post_recording(
        alice_api, wfdb_files, django_capture_on_commit_callbacks, patient_reference="R-11"
    )
    assert response.status_code == 202, response.content
    recording = Recording.objects.get(pk=response.json()["id"])
    assert recording.status == "done", recording.error
    return recording


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_returns_the_job_then_the_results(alice_api, done):
    body = alice_api.get(f"{LIST}{done.pk}/").json()
    assert body["status"] == "done" and body["progress"] == 100
    assert body["patient_reference"] == "R-11" and body["lead"] == "MLII"
    assert body["model"] == {"name": "tiny_recording", "version": "0.0-test"}
    assert body["beat_count"] == done.beats.count() > 30
    assert sum(c["count"] for c in body["summary"]["classes"]) == body["beat_count"]
    assert body["detection"]["sensitivity"] == 1.0
    assert body["links"]["report"].endswith(f"/api/v1/recordings/{done.pk}/report/")


def test_a_queued_upload_answers_202_with_its_job_and_results_wait(
    alice_api, analysing, wfdb_files, settings
):
    settings.RECORDING_TASKS_SYNC = False
    uploads = [SimpleUploadedFile(n, c) for n, c in wfdb_files.items()]
    response = alice_api.post(LIST, {"files": uploads}, format="multipart")  # never commits
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and job["beat_count"] == 0
    assert response["Location"].endswith(f"/api/v1/recordings/{job['id']}/")
    for suffix in ("beats/", "beats/0/", "beats/0/heatmap/", "report/"):
        waiting = alice_api.get(f"{LIST}{job['id']}/{suffix}")
        assert waiting.status_code == 409, suffix
        assert waiting.json()["message"].startswith("The analysis is queued")


@pytest.mark.parametrize(
    ("files", "fields", "fragment"),
    [
        ({}, {}, "files: no file"),
        ({"notes.txt": b"hello"}, {}, "files:"),
        ({"x.csv": b"1\n2\n3\n"}, {"units": "furlongs"}, "units: select a valid choice."),
    ],
    ids=["no-file", "unknown-format", "bad-units"],
)
def test_bad_uploads_are_400_and_store_nothing(
    alice_api, analysing, settings, django_capture_on_commit_callbacks, files, fields, fragment
):
    response = post_recording(alice_api, files, django_capture_on_commit_callbacks, **fields)
    assert response.status_code == 400
    assert fragment in response.json()["message"].lower()
    assert Recording.objects.count() == 0 and media_files(settings) == []


def test_upload_without_a_recording_model_is_503(
    alice_api, wfdb_files, settings, tmp_path, django_capture_on_commit_callbacks
):
    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR = tmp_path / "none"
    reset_model_registry()
    response = post_recording(alice_api, wfdb_files, django_capture_on_commit_callbacks)
    assert response.status_code == 503 and response.json()["code"] == "model_not_installed"
    assert Recording.objects.count() == 0


def test_list_filters_and_pagination(alice_api, bob_api, done):
    assert alice_api.get(LIST).json()["count"] == 1
    assert alice_api.get(LIST, {"status": "failed"}).json()["count"] == 0
    assert alice_api.get(LIST, {"q": "R-11"}).json()["count"] == 1
    bad = alice_api.get(LIST, {"status": "sleeping"})
    assert bad.status_code == 400 and "status: Select a valid choice." in bad.json()["message"]
    assert bob_api.get(LIST).json()["count"] == 0


def test_beats_are_paginated_and_filtered(alice_api, done):
    page = alice_api.get(f"{LIST}{done.pk}/beats/", {"page_size": 10}).json()
    assert page["count"] == done.beat_count and len(page["results"]) == 10
    assert [b["index"] for b in page["results"]] == list(range(10))
    label = done.beats.first().label
    only = alice_api.get(f"{LIST}{done.pk}/beats/", {"label": label}).json()
    assert only["count"] == done.beats.filter(label=label).count()
    one = alice_api.get(f"{LIST}{done.pk}/beats/3/").json()
    assert one["index"] == 3 and len(one["probabilities"]) == 6
    assert alice_api.get(f"{LIST}{done.pk}/beats/9999/").status_code == 404


def test_beat_heat_map_is_the_classified_beat_and_computed_once(alice_api, done, monkeypatch):
    from ecg.models import explain
    from recordings.selectors import recording_beat, recording_beat_images
    from reports.recording_services import beat_context, beat_explanation

    beat = done.beats.get(index=4)
    image, heat, label = beat_explanation(done, 4)
    expected = recording_beat_images(recording=done, samples=np.array([beat.sample]))[0]
    np.testing.assert_array_equal(image, expected)  # the very image the model classified
    assert label == beat.label and heat.shape == image.shape
    # ... and the same model inputs (RR features included) give the stored probabilities.
    ctx = beat_context(done, 4)
    kept, images, rr = ctx.bundle.beat_inputs(ctx.signal, ctx.fs, ctx.peaks)
    row = int(np.flatnonzero(kept == ctx.position)[0])
    probs = ctx.bundle.predict_proba(
        images[row : row + 1], None if rr is None else rr[row : row + 1]
    )
    stored = [p["percent"] for p in recording_beat(recording=done, index=4)["probabilities"]]
    np.testing.assert_allclose(100 * probs[0], stored, atol=0.15)

    calls = []
    real = explain.bundle_grad_cam
    monkeypatch.setattr(
        explain, "bundle_grad_cam", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    first = alice_api.get(f"{LIST}{done.pk}/beats/4/heatmap/")
    second = alice_api.get(f"{LIST}{done.pk}/beats/4/heatmap/")
    assert first.status_code == second.status_code == 200
    assert Image.open(io.BytesIO(b"".join(first.streaming_content))).size == (256, 256)
    assert len(calls) == 1 and RecordingBeatHeatMap.objects.count() == 1


def test_report_pdf_names_patient_highlighted_beat_and_classes(alice_api, done):
    response = alice_api.get(f"{LIST}{done.pk}/report/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "ECG recording report" in text and "R-11" in text
    assert "Highlighted beat" in text and "Beats per class" in text
    # Beats by state, and what share could be read (issue 18), where "Beats classified" was.
    states = done.summary["states"]
    assert f"Beats {done.beat_count} detected: {states['classified']} classified" in text
    assert "Analysable 100.0% of the recording" in text
    assert "tiny_recording v0.0-test" in text and "not a diagnosis" in text
    assert len(reader.pages[0].images) == 3  # strip, beat, heat map


def test_report_pdf_shows_rhythm_and_agreement_without_overlapping_text(alice_api, done, tmp_path):
    from tests.api.pdf_layout import overlapping_text, render_png

    response = alice_api.get(f"{LIST}{done.pk}/report/")
    pdf = b"".join(response.streaming_content)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    rr = done.summary["rr"]
    assert "Heart rate and RR variability" in text
    assert f"SDNN {rr['sdnn_ms']} ms" in text and f"RMSSD {rr['rmssd_ms']} ms" in text
    assert "Ectopic beats and runs" in text and "Couplets" in text
    v = next(e for e in done.summary["ectopy"] if e["code"] == "V")
    assert f"Premature Ventricular Contraction (V) {v['beats']} {v['per_hour']}" in text
    assert "Agreement with the reference annotations" in text  # the upload has an .atr
    assert f"over {done.agreement['scored_beats']} matched beats" in text
    assert "Beat detection: sensitivity" in text and "lead MLII" in text
    assert overlapping_text(pdf) == []
    assert len(render_png(pdf, f"recording-report-{done.pk}", tmp_path)) == len(
        PdfReader(io.BytesIO(pdf)).pages
    )


def test_other_users_get_404_and_delete_removes_everything(
    alice_api, bob_api, done, settings, django_capture_on_commit_callbacks
):
    for suffix in ("", "beats/", "beats/0/", "beats/0/heatmap/", "report/"):
        assert bob_api.get(f"{LIST}{done.pk}/{suffix}").status_code == 404, suffix
    assert bob_api.delete(f"{LIST}{done.pk}/").status_code == 404
    assert alice_api.get(f"{LIST}{done.pk}/beats/0/heatmap/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"{LIST}{done.pk}/").status_code == 204
    assert not Recording.objects.exists() and RecordingBeatHeatMap.objects.count() == 0
    assert media_files(settings) == []


def test_recording_page_offers_the_pdf_and_per_beat_heat_maps(client, user, other_user, done):
    client.force_login(user)
    html = client.get(done.get_absolute_url()).content.decode()
    assert f'href="/reports/recordings/{done.pk}/report.pdf"' in html
    assert f'data-heatmap-url="/reports/recordings/{done.pk}/heatmaps/0.png"' in html
    heatmap = client.get(f"/reports/recordings/{done.pk}/heatmaps/2.png")
    assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/png"
    report = client.get(f"/reports/recordings/{done.pk}/report.pdf")
    assert report.status_code == 200 and report["Content-Type"] == "application/pdf"
    client.force_login(other_user)
    assert client.get(f"/reports/recordings/{done.pk}/heatmaps/2.png").status_code == 404
    assert client.get(f"/reports/recordings/{done.pk}/report.pdf").status_code == 404
