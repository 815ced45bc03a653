"""Issue 18: recordings whose last 5-s quality segment is a tail of 2.5-5 s (about half of all
lengths: 13 s, 58 s, ...) crashed the analysis before 7769ef9 ("all input arrays must have the
same shape", shown as the recording's error). Through the upload form, the worker and every
page that reads the result, such a recording now ends DONE with its beats."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recordings.models import Recording

from .synth import beat_times, ecg


@pytest.mark.django_db
@pytest.mark.parametrize(("fs", "seconds"), [(360.0, 13.0), (128.5, 17.5)])
def test_a_recording_with_a_short_last_segment_ends_done_with_its_beats(
    client, env, alice, django_capture_on_commit_callbacks, fs, seconds
):
    x = ecg(fs, seconds, beat_times(seconds))
    content = ("\n".join(f"{v:.4f}" for v in x) + "\n").encode()
    client.force_login(alice)
    data = {"files": [SimpleUploadedFile("ecg.csv", content)], "units": "mV", "sampling_rate": fs}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("recordings:upload"), data)
    assert response.status_code == 302, response.content[:500]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE, recording.error
    assert recording.error == ""
    assert recording.beat_count == recording.beats.count() >= len(beat_times(seconds)) - 1
    segments = recording.quality["segments"]
    assert segments[0]["start_s"] == 0.0
    assert segments[-1]["end_s"] == pytest.approx(seconds, abs=1 / fs)
    assert 2.5 <= segments[-1]["end_s"] - segments[-1]["start_s"] < 5.0  # the tail that failed

    page = client.get(recording.get_absolute_url())
    assert page.status_code == 200 and "failed" not in page.content.decode().lower()
    strip = client.get(reverse("recordings:strip", args=[recording.pk]),
                       {"start": seconds - 4, "seconds": 10})  # fmt: skip
    assert strip.status_code == 200 and strip.json()["beats"]
    rows = list(csv.DictReader(io.StringIO(b"".join(
        client.get(reverse("recordings:csv", args=[recording.pk])).streaming_content
    ).decode())))  # fmt: skip
    assert len(rows) == recording.beat_count
    report = client.get(reverse("reports:recording-report", args=[recording.pk]))
    assert report.status_code == 200
    assert np.isfinite(recording.summary["heart_rate"]["mean_bpm"])
