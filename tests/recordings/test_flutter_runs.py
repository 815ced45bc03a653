"""Issue 18 point 4: a run of flutter calls is reported only when its signal is flutter-like
(ecg.dsp.flutter); a "run" the model reads into other signal becomes uncertain, with its reason,
and is left out of the class counts and the rhythm episodes."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.beat_states import (
    CLASSIFIED,
    REASON_FLUTTER_UNCONFIRMED,
    UNCERTAIN,
)
from ecg.io.recording_base import ParsedRecording
from ecg.recording_analysis import analyse

from .fake_model import model_calls_stretch
from .synth import beat_times, ecg

FS = 360.0
DURATION_S = 90.0
STRETCH_S = (40.0, 55.0)  # where the fake model calls every beat "!"


def recording(signal: np.ndarray) -> ParsedRecording:
    return ParsedRecording(name="synthetic", format="csv", fs=FS, lead_names=["lead 1"],
                           signals=signal[None].astype(np.float32), lead_index=0,
                           source_files=[])  # fmt: skip


def fake_model(monkeypatch, peaks: np.ndarray, classes: list[str]) -> None:
    """Detection returns ``peaks``; the model calls the beats in STRETCH_S "!", others "N"."""
    model_calls_stretch(monkeypatch, peaks, classes, stretch_s=STRETCH_S, code="!", fs=FS)


def in_stretch(samples: np.ndarray) -> np.ndarray:
    return (samples >= STRETCH_S[0] * FS) & (samples < STRETCH_S[1] * FS)


def count_of(summary: dict, code: str) -> int:
    return next(c["count"] for c in summary["classes"] if c["code"] == code)


def test_a_run_of_flutter_calls_on_ordinary_beats_is_uncertain_and_not_reported(
    monkeypatch, tiny_bundle
):
    times = beat_times(DURATION_S, rr_s=0.8)
    peaks = np.round(times * FS).astype(np.int64)
    fake_model(monkeypatch, peaks, list(tiny_bundle.classes))
    analysis = analyse(recording(ecg(FS, DURATION_S, times)), tiny_bundle)
    stretch = in_stretch(analysis.beats.samples)
    assert stretch.sum() >= 15 and (analysis.beats.labels[stretch] == "!").all()
    assert set(analysis.states[stretch]) == {UNCERTAIN}
    assert set(analysis.state_reasons[stretch]) == {REASON_FLUTTER_UNCONFIRMED}
    assert set(analysis.states[~stretch]) == {CLASSIFIED}
    assert set(analysis.state_reasons[~stretch]) == {""}
    assert count_of(analysis.summary, "!") == 0
    assert not [e for e in analysis.summary["episodes"] if e["kind"] == "VFL"]
    [check] = analysis.summary["flutter_checks"]
    assert check["confirmed"] is False and check["beats"] == stretch.sum()
    assert check["start_s"] == pytest.approx(analysis.beats.samples[stretch][0] / FS, abs=0.01)


def test_a_run_of_flutter_calls_on_a_flutter_wave_is_reported(monkeypatch, tiny_bundle):
    times = beat_times(DURATION_S, rr_s=0.8)
    times = times[(times < STRETCH_S[0] - 0.5) | (times >= STRETCH_S[1] + 0.3)]
    signal = ecg(FS, DURATION_S, times)
    t = np.arange(signal.size) / FS
    wave = (t >= STRETCH_S[0]) & (t < STRETCH_S[1])
    signal[wave] = 0.8 * np.sin(2 * np.pi * 4.5 * (t[wave] - STRETCH_S[0]))  # 270 bpm
    crests = STRETCH_S[0] + (0.25 + np.arange(int(4.5 * (STRETCH_S[1] - STRETCH_S[0])))) / 4.5
    peaks = np.round(np.sort(np.concatenate([times, crests])) * FS).astype(np.int64)
    fake_model(monkeypatch, peaks, list(tiny_bundle.classes))
    analysis = analyse(recording(signal), tiny_bundle)
    stretch = in_stretch(analysis.beats.samples)
    assert set(analysis.states[stretch]) == {CLASSIFIED}
    assert count_of(analysis.summary, "!") == stretch.sum()
    assert [e["kind"] for e in analysis.summary["episodes"]].count("VFL") == 1
    [check] = analysis.summary["flutter_checks"]
    assert check["confirmed"] is True and check["dominant_hz"] == pytest.approx(4.5, abs=0.3)


@pytest.mark.django_db
def test_every_surface_says_why_the_beats_of_an_unconfirmed_run_are_uncertain(
    client, env, alice, other_user, django_capture_on_commit_callbacks, monkeypatch, tiny_bundle
):
    import csv
    import io

    from django.urls import reverse
    from rest_framework.test import APIClient

    from .test_episodes_web import pdf_text
    from .test_unreadable import csv_bytes, upload_csv

    times = beat_times(DURATION_S, rr_s=0.8)
    peaks = np.round(times * FS).astype(np.int64)
    fake_model(monkeypatch, peaks, list(tiny_bundle.classes))
    recording = upload_csv(client, alice, csv_bytes(ecg(FS, DURATION_S, times)),
                           django_capture_on_commit_callbacks)  # fmt: skip
    run = list(recording.beats.filter(label="!").order_by("index"))
    assert len(run) >= 15
    assert {(b.state, b.state_reason) for b in run} == {(UNCERTAIN, REASON_FLUTTER_UNCONFIRMED)}
    assert set(recording.beats.exclude(label="!").values_list("state_reason", flat=True)) == {""}
    assert next(c for c in recording.summary["classes"] if c["code"] == "!")["count"] == 0

    html = client.get(recording.get_absolute_url()).content.decode()
    assert 'id="flutter-unconfirmed"' in html and f"({len(run)} beats)" in html
    strip = client.get(reverse("recordings:strip", args=[recording.pk]),
                       {"start": STRETCH_S[0], "seconds": 10}).json()  # fmt: skip
    assert {b["state_reason"] for b in strip["beats"]} == {REASON_FLUTTER_UNCONFIRMED}
    response = client.get(reverse("recordings:csv", args=[recording.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["state_reason"] for r in rows if r["class"] == "!"} == {REASON_FLUTTER_UNCONFIRMED}
    _pdf, text = pdf_text(client, recording)
    assert "Flutter not confirmed" in text and f"({len(run)} beats)" in text

    api = APIClient()
    api.force_authenticate(alice)
    detail = api.get(f"/api/v1/recordings/{recording.pk}/beats/{run[0].index}/").json()
    assert detail["state_reason"] == REASON_FLUTTER_UNCONFIRMED
    assert detail["shown_label"].startswith("uncertain (!?")
    page = api.get(f"/api/v1/recordings/{recording.pk}/beats/", {"page_size": 200}).json()
    assert {i["state_reason"] for i in page["results"] if i["label"] == "!"} == {
        REASON_FLUTTER_UNCONFIRMED
    }
    # Another user sees none of it.
    api.force_authenticate(other_user)
    assert api.get(f"/api/v1/recordings/{recording.pk}/beats/{run[0].index}/").status_code == 404
