"""A slow run of ventricular beats is an event (issue 20): idioventricular rhythm (``IVR``), on
the page, in the PDF, the API and the WFDB annotation file, where before the class table showed
the run and the events said "no rhythm event found"."""

from __future__ import annotations

import numpy as np
import pytest

from .fake_model import model_calls_stretch
from .synth import beat_times, ecg

FS = 360.0
DURATION_S = 90.0
RUN_S = (40.0, 60.0)  # where the fake model calls every beat "V", at 60 bpm


@pytest.mark.django_db
def test_a_slow_ventricular_run_is_listed_on_every_surface(
    client, env, alice, django_capture_on_commit_callbacks, monkeypatch, tiny_bundle, tmp_path
):
    import wfdb
    from django.urls import reverse
    from rest_framework.test import APIClient

    from .test_episodes_web import pdf_text
    from .test_unreadable import csv_bytes, upload_csv

    times = beat_times(DURATION_S, rr_s=1.0)
    peaks = np.round(times * FS).astype(np.int64)
    model_calls_stretch(monkeypatch, peaks, list(tiny_bundle.classes), stretch_s=RUN_S, code="V",
                        fs=FS)  # fmt: skip
    recording = upload_csv(client, alice, csv_bytes(ecg(FS, DURATION_S, times)),
                           django_capture_on_commit_callbacks)  # fmt: skip
    run = recording.beats.filter(label="V", state="classified").order_by("index")
    assert run.count() >= 19
    [event] = recording.summary["episodes"]
    assert event["kind"] == "IVR" and event["beats"] == run.count()
    assert event["start_s"] == pytest.approx(run.first().sample / FS, abs=0.01)

    html = client.get(recording.get_absolute_url()).content.decode()
    assert "Idioventricular rhythm" in html and "No rhythm event found" not in html
    assert html.count('class="small text-body-secondary mb-1 events-caveat"') == 1
    assert "a ventricular paced rhythm shows as one" in html
    _pdf, text = pdf_text(client, recording)
    assert "Idioventricular rhythm" in text and "paced rhythm shows as one" in text
    api = APIClient()
    api.force_authenticate(alice)
    episodes = api.get(f"/api/v1/recordings/{recording.pk}/").json()["summary"]["episodes"]
    assert [e["kind"] for e in episodes] == ["IVR"]

    response = client.get(reverse("recordings:atr", args=[recording.pk]))
    (tmp_path / "rec.atr").write_bytes(response.content)
    ann = wfdb.rdann(str(tmp_path / "rec"), "atr")
    rhythm = [note for sym, note in zip(ann.symbol, ann.aux_note, strict=True) if sym == "+"]
    assert rhythm[:2] == ["(IVR", "(N"]
