"""A stand-in for detection and the network in analysis tests: the beats are where the test
puts them, and the model calls those in one stretch of time one class, the others N."""

from __future__ import annotations

import numpy as np

import ecg.recording_analysis as recording_analysis
from ecg.recording_analysis import BeatResults


def model_calls_stretch(
    monkeypatch,
    peaks: np.ndarray,
    classes: list[str],
    *,
    stretch_s: tuple[float, float],
    code: str,
    fs: float,
) -> None:
    """Detection returns ``peaks``; the beats in ``stretch_s`` are called ``code`` (0.9), the
    others N (0.9)."""
    monkeypatch.setattr(recording_analysis, "detect_beats", lambda *a, **k: peaks)

    def classify(bundle, signal, rate, at, **kwargs):
        probabilities = np.full((at.size, len(classes)), 0.02, np.float32)
        inside = (at >= stretch_s[0] * fs) & (at < stretch_s[1] * fs)
        probabilities[:, classes.index("N")] = np.where(inside, 0.02, 0.9)
        probabilities[:, classes.index(code)] = np.where(inside, 0.9, 0.02)
        return BeatResults(samples=at, probabilities=probabilities, classes=classes)

    monkeypatch.setattr(recording_analysis, "classify_at", classify)
