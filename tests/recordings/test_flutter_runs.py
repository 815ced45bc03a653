"""Issue 18 point 4: a run of flutter calls is reported only when its signal is flutter-like
(ecg.dsp.flutter); a "run" the model reads into other signal becomes uncertain, with its reason,
and is left out of the class counts and the rhythm episodes."""

from __future__ import annotations

import numpy as np
import pytest

import ecg.recording_analysis as recording_analysis
from ecg.features.beat_states import (
    CLASSIFIED,
    REASON_FLUTTER_UNCONFIRMED,
    UNCERTAIN,
)
from ecg.io.recording_base import ParsedRecording
from ecg.recording_analysis import BeatResults, analyse

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
    monkeypatch.setattr(recording_analysis, "detect_beats", lambda *a, **k: peaks)

    def classify(bundle, signal, fs, at, **kwargs):
        probabilities = np.full((at.size, len(classes)), 0.02, np.float32)
        in_stretch = (at >= STRETCH_S[0] * FS) & (at < STRETCH_S[1] * FS)
        probabilities[:, classes.index("N")] = np.where(in_stretch, 0.02, 0.9)
        probabilities[:, classes.index("!")] = np.where(in_stretch, 0.9, 0.02)
        return BeatResults(samples=at, probabilities=probabilities, classes=classes)

    monkeypatch.setattr(recording_analysis, "classify_at", classify)


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
