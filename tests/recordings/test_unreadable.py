"""What the product cannot read (issue 18): noise is never turned into a class list, beats in
an unreadable stretch are shown as unreadable on the page, the strip, the CSV and the API,
and the shipped model keeps clean ECG classified."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from ecg.features.beat_states import CLASSIFIED, UNREADABLE
from ecg.io.records import default_data_dir
from recordings.models import Beat, Recording

from .synth import beat_times, ecg

FS = 360.0
NOISY_S = (20.0, 35.0)  # three whole 5-s segments


def csv_bytes(x: np.ndarray) -> bytes:
    return ("\n".join(f"{v:.4f}" for v in x) + "\n").encode()


def upload_csv(client, user, content: bytes, capture) -> Recording:
    client.force_login(user)
    data = {"files": [SimpleUploadedFile("ecg.csv", content)], "units": "mV", "sampling_rate": FS}
    with capture(execute=True):
        response = client.post(reverse("recordings:upload"), data)
    assert response.status_code == 302, response.content[:500]
    return Recording.objects.get()


@pytest.mark.django_db
def test_gaussian_noise_ends_with_a_clear_message_and_no_class(
    client, env, alice, django_capture_on_commit_callbacks
):
    noise = np.random.default_rng(0).normal(0, 0.02, int(60 * FS))
    recording = upload_csv(client, alice, csv_bytes(noise), django_capture_on_commit_callbacks)
    assert recording.status == Recording.Status.FAILED
    assert recording.error.startswith("no readable ECG in this recording: ")
    assert "noise" in recording.error
    assert not Beat.objects.exists() and recording.summary == {} and recording.beat_count == 0
    html = client.get(recording.get_absolute_url()).content.decode()
    assert "no readable ECG in this recording" in html and "Beats per class" not in html


@pytest.fixture
def noisy_middle(client, env, alice, django_capture_on_commit_callbacks) -> Recording:
    """60 s of synthetic ECG with 15 s of loud broadband noise in the middle."""
    times = beat_times(60.0)
    x = ecg(FS, 60.0, times)
    lo, hi = (int(t * FS) for t in NOISY_S)
    x[lo:hi] = np.random.default_rng(1).normal(0, 0.5, hi - lo)
    recording = upload_csv(client, alice, csv_bytes(x), django_capture_on_commit_callbacks)
    assert recording.status == Recording.Status.DONE, recording.error
    return recording


def in_noise(t: float) -> bool:
    return NOISY_S[0] <= t < NOISY_S[1]


@pytest.mark.django_db
def test_beats_in_a_noisy_stretch_are_unreadable_and_not_counted(client, noisy_middle):
    recording = noisy_middle
    beats = list(recording.beats.order_by("index"))
    unreadable = [b for b in beats if b.state == UNREADABLE]
    assert unreadable and all(in_noise(b.time_s) for b in unreadable)
    assert all(b.state != UNREADABLE for b in beats if not in_noise(b.time_s))
    # The model's output is kept for them (label, confidence, runner-up), not thrown away.
    assert all(b.label and b.runner_up and b.runner_up != b.label for b in unreadable)

    summary = recording.summary
    states = summary["states"]
    assert states["unreadable"] == len(unreadable)
    assert sum(states.values()) == len(beats) == recording.beat_count
    assert sum(c["count"] for c in summary["classes"]) == states["classified"]
    assert summary["analysable_share"] == pytest.approx(45 / 60, abs=0.01)
    segments = recording.quality["segments"]
    assert [row["readable"] for row in segments] == [not in_noise(r["start_s"]) for r in segments]

    html = client.get(recording.get_absolute_url()).content.decode()
    assert "Analysable: 75.0 %" in html
    assert f"{states['unreadable']} unreadable" in html
    assert "20.0–35.0 s" in html


@pytest.mark.django_db
def test_the_strip_greys_the_noisy_stretch_and_marks_its_beats(client, noisy_middle):
    url = reverse("recordings:strip", args=[noisy_middle.pk])
    strip = client.get(url, {"start": 15, "seconds": 30}).json()
    assert [(u["start_s"], u["end_s"]) for u in strip["unreadable"]] == [NOISY_S]
    assert strip["unreadable"][0]["reasons"]
    assert strip["beats"]
    for beat in strip["beats"]:
        assert (beat["state"] == UNREADABLE) == in_noise(beat["t"]), beat
    clean = client.get(url, {"start": 0, "seconds": 10}).json()
    assert clean["unreadable"] == []


@pytest.mark.django_db
def test_the_csv_and_the_api_carry_the_states(client, alice, noisy_middle):
    response = client.get(reverse("recordings:csv", args=[noisy_middle.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_index = {b.index: b for b in noisy_middle.beats.all()}
    assert len(rows) == len(by_index)
    for row in rows:
        beat = by_index[int(row["beat"])]
        assert (row["state"], row["runner_up"]) == (beat.state, beat.runner_up)
    assert {row["state"] for row in rows} >= {CLASSIFIED, UNREADABLE}

    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(f"/api/v1/recordings/{noisy_middle.pk}/").json()
    assert body["quality"]["readable_share"] == pytest.approx(0.75, abs=0.01)
    assert len(body["quality"]["segments"]) == 12
    assert body["summary"]["states"] == noisy_middle.summary["states"]
    page = api.get(f"/api/v1/recordings/{noisy_middle.pk}/beats/", {"page_size": 100}).json()
    for item in page["results"]:
        beat = by_index[item["index"]]
        assert (item["state"], item["runner_up"]) == (beat.state, beat.runner_up)
    first_unreadable = min(i for i, b in by_index.items() if b.state == UNREADABLE)
    detail = api.get(f"/api/v1/recordings/{noisy_middle.pk}/beats/{first_unreadable}/").json()
    assert detail["state"] == UNREADABLE and detail["shown_label"] == "unreadable"


@pytest.mark.django_db
def test_the_schema_documents_states_and_quality(client, alice):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert {"state", "runner_up"} <= set(components["Beat"]["properties"])
    assert "quality" in components["Recording"]["properties"]
    segment = components["QualitySegment"]["properties"]
    assert {"start_s", "end_s", "readable", "reason"} <= set(segment)


@pytest.mark.mitdb
def test_the_shipped_model_keeps_clean_record_100_classified():
    """A clean record must not lose its answers: >= 99% of record 100's beats classified."""
    from ecg.io.recording_io import parse_upload
    from ecg.recording_analysis import analyse
    from tests.recordings.test_long_recordings import shipped_recording_bundle

    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    bundle = shipped_recording_bundle()
    files = [(f"100{ext}", (data_dir / f"100{ext}").read_bytes()) for ext in (".hea", ".dat")]
    analysis = analyse(parse_upload(files), bundle)
    states = analysis.summary["states"]
    assert states["classified"] >= 0.99 * len(analysis.beats), states
    assert analysis.summary["analysable_share"] >= 0.98
