"""A calls inside a detected AF episode are read as N by the analysis (ecg.features.af_context;
issues 17, 18, 20): atrial premature beats are not defined in AF, and MIT-BIH labels AF's beats
normal."""

from __future__ import annotations

import numpy as np
import pytest

import ecg.recording_analysis as recording_analysis
from ecg.features import af_context
from ecg.io.recording_base import ParsedRecording
from ecg.recording_analysis import BeatResults, analyse
from tests.ml.test_af_atrial import FS, mixed_rhythm


def fake_model(monkeypatch, peaks: np.ndarray, classes: list[str]) -> None:
    """Detection returns ``peaks``; the model calls every beat A (0.6, N 0.3)."""
    monkeypatch.setattr(recording_analysis, "detect_beats", lambda *a, **k: peaks)

    def classify(bundle, signal, fs, at, **kwargs):
        probabilities = np.full((at.size, len(classes)), 0.025, np.float32)
        probabilities[:, classes.index("A")] = 0.6
        probabilities[:, classes.index("N")] = 0.3
        return BeatResults(samples=at, probabilities=probabilities, classes=classes)

    monkeypatch.setattr(recording_analysis, "classify_at", classify)


def analysed(monkeypatch, bundle):
    signal, peaks, af = mixed_rhythm(0)
    fake_model(monkeypatch, peaks, list(bundle.classes))
    recording = ParsedRecording(name="synthetic", format="csv", fs=FS, lead_names=["lead 1"],
                                signals=signal[None].astype(np.float32), lead_index=0,
                                source_files=[])  # fmt: skip
    return analyse(recording, bundle), af


@pytest.mark.parametrize("merge", [True, False])
def test_a_calls_inside_detected_af_are_read_as_n(monkeypatch, tiny_bundle, merge):
    monkeypatch.setattr(af_context, "MERGE_ATRIAL_IN_AF", merge)
    analysis, truth = analysed(monkeypatch, tiny_bundle)
    [found] = [
        (e["start_s"], e["end_s"]) for e in analysis.summary["episodes"] if e["kind"] == "AF"
    ]
    assert found[0] < truth[0] + 20 and found[1] > truth[1] - 20
    t = analysis.beats.samples / FS
    inside = (t >= found[0]) & (t <= found[1])
    labels = analysis.beats.labels
    assert (labels[~inside] == "A").all()
    if merge:
        assert (labels[inside] == "N").all()
        assert np.allclose(analysis.beats.confidence[inside], 0.9)
        assert analysis.summary["atrial_calls_in_af"] == inside.sum() > 100
        # No SVT "run" is made of AF's conducted beats.
        svt = [e for e in analysis.summary["episodes"] if e["kind"] == "SVT"]
        assert all(e["end_s"] < found[0] or e["start_s"] > found[1] for e in svt)
    else:
        assert (labels[inside] == "A").all() and analysis.summary["atrial_calls_in_af"] == 0


@pytest.mark.django_db
def test_the_page_the_pdf_and_the_api_say_how_many_a_calls_were_read_as_n(
    client, env, alice, django_capture_on_commit_callbacks, monkeypatch, tiny_bundle
):
    from rest_framework.test import APIClient

    from .test_episodes_web import pdf_text
    from .test_unreadable import csv_bytes, upload_csv

    signal, peaks, _af = mixed_rhythm(0)
    fake_model(monkeypatch, peaks, list(tiny_bundle.classes))
    recording = upload_csv(client, alice, csv_bytes(signal), django_capture_on_commit_callbacks)
    count = recording.summary["atrial_calls_in_af"]
    assert count > 100
    assert recording.beats.filter(label="N").count() == count  # the A calls inside AF
    note = af_context.merged_note(count)
    assert f"{count} beats the model called atrial premature (A) inside atrial fibrillation" in note
    html = client.get(recording.get_absolute_url()).content.decode()
    assert 'id="atrial-in-af"' in html and note in html
    _pdf, text = pdf_text(client, recording)
    assert "A calls in AF" in text and "inside atrial fibrillation" in " ".join(text.split())
    api = APIClient()
    api.force_authenticate(alice)
    summary = api.get(f"/api/v1/recordings/{recording.pk}/").json()["summary"]
    assert summary["atrial_calls_in_af"] == count
