"""Input sanity checks (issue 18, point 3) on hand-made signals: each warning fires on the input
it names and stays quiet on an ordinary lead."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.sanity import (
    median_heart_rate,
    qrs_points_down_share,
    recording_warnings,
    suggested_sampling_rate,
)
from tests.recordings.synth import beat_times, ecg

FS = 360.0


def lead(duration_s: float = 60.0, rr_s: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    times = beat_times(duration_s, rr_s=rr_s)
    return ecg(FS, duration_s, times), np.round(times * FS).astype(np.int64)


def warnings_of(x, peaks, *, fs=FS, labels=None, states=None, name="MLII", trained=("MLII",)):
    labels = labels if labels is not None else ["N"] * peaks.size
    states = states if states is not None else ["classified"] * peaks.size
    found = recording_warnings(
        signal=x, fs=fs, peaks=peaks, labels=labels, states=states, lead=name, trained_leads=trained
    )
    return {w.code: w.message for w in found}


def test_an_ordinary_lead_gives_no_warning():
    x, peaks = lead()
    assert warnings_of(x, peaks) == {}


def test_mostly_ventricular_beats_are_an_implausible_mix():
    x, peaks = lead()
    labels = ["V" if i % 4 else "N" for i in range(peaks.size)]  # 3 in 4 ventricular
    share = labels.count("V") / len(labels)
    found = warnings_of(x, peaks, labels=labels)
    assert set(found) == {"class_mix"} and f"{share:.0%}" in found["class_mix"]
    labels = ["V" if i % 4 == 0 else "N" for i in range(peaks.size)]  # 1 in 4: bigeminy-like
    assert warnings_of(x, peaks, labels=labels) == {}


def test_uncertain_beats_do_not_count_in_the_mix():
    x, peaks = lead()
    labels = ["V"] * peaks.size
    states = ["uncertain" if i % 4 else "classified" for i in range(peaks.size)]
    # Only the classified quarter counts: 18 beats, under the 20 a mix needs.
    assert "class_mix" not in warnings_of(x, peaks, labels=labels, states=states)


def test_a_wrong_sampling_rate_is_named_with_the_rate_that_fits():
    x, peaks = lead()  # 75 bpm at 360 Hz, declared as 100 Hz: 21 bpm
    found = warnings_of(x, peaks, fs=100.0)
    assert "sampling_rate" in found and "360 Hz" in found["sampling_rate"]
    assert suggested_sampling_rate(peaks, FS) is None


def test_a_heart_rate_outside_20_to_300_bpm_is_flagged():
    x, peaks = lead()
    assert median_heart_rate(peaks, FS) == pytest.approx(75.0, abs=1.0)
    assert "heart_rate" in warnings_of(x, peaks, fs=90.0)  # 288 samples apart: 19 bpm
    assert "heart_rate" in warnings_of(x, peaks, fs=2000.0)  # 417 bpm
    assert "heart_rate" not in warnings_of(x, peaks, fs=1000.0)  # 208 bpm: fast, possible


def test_an_inverted_upright_lead_is_flagged_and_v1_is_not():
    x, peaks = lead()
    assert qrs_points_down_share(x, FS, peaks) < 0.1
    found = warnings_of(-x, peaks)
    assert set(found) == {"inverted"}
    assert warnings_of(-x, peaks, name="V1", trained="V1") == {}  # V1's QRS points down anyway


def test_a_lead_other_than_the_trained_one_is_named():
    x, peaks = lead()
    assert "lead V5" in warnings_of(x, peaks, name="V5")["lead"]
    assert "unnamed column" in warnings_of(x, peaks, name="lead 1")["lead"]
    assert "an image whose lead is not known" in warnings_of(x, peaks, name="image")["lead"]
    assert warnings_of(x, peaks, name="mlii") == {}
    assert warnings_of(x, peaks, name="II") == {}  # MIT-BIH's MLII is a modified lead II
    mixed = ("MLII", "II", "V1", "V5")  # a model trained on several leads
    assert warnings_of(x, peaks, name="V1", trained=mixed) == {}
    assert "leads MLII, II, V1, V5" in warnings_of(x, peaks, name="aVL", trained=mixed)["lead"]


def test_a_model_s_trained_leads_are_named_once_each_in_the_metadata_order():
    from ecg.models.bundle import trained_leads

    # V1 is both a PTB-XL lead and a MIT-BIH second lead of the mixed model
    assert trained_leads({"leads": ["MLII", "II", "V1", "V1", "V5"]}) == ["MLII", "II", "V1", "V5"]
    assert trained_leads({"lead": "MLII"}) == ["MLII"]
    assert trained_leads({}) == []


def test_every_preferred_lead_is_a_trained_lead_of_the_shipped_recording_model():
    """An upload that names no lead is read on the first of ``PREFERRED_LEADS`` it has; each must
    be one the shipped model was trained on, or the app would warn about its own choice."""
    import json
    from pathlib import Path

    from ecg.io.records import PREFERRED_LEADS
    from ecg.models.bundle import trained_leads

    path = Path(__file__).resolve().parents[2] / "models" / "recording_mixed.json"
    trained = {lead.upper() for lead in trained_leads(json.loads(path.read_text()))}
    assert set(PREFERRED_LEADS) <= trained
    assert "III" in trained  # the four-lead ensemble (benchmarks/results/ptbxl_leads_study.json)
