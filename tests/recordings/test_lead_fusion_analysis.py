"""Whole-recording analysis reading each beat on a trained second lead too (issue 17)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import ecg.recording_analysis as ra
from ecg.io.recording_base import ParsedRecording
from ecg.models.bundle import ModelBundle
from ecg.recording_analysis import analyse, classify_at

from .synth import lead_pair_recording

FS = 360.0
DURATION = 40.0


def with_metadata(bundle: ModelBundle, **changes) -> ModelBundle:
    """The same network with changed metadata (the session fixture is left as it is)."""
    return ModelBundle(bundle.model, {**bundle.metadata, **changes}, bundle.path)


@pytest.fixture
def fusing(tiny_rr_bundle):
    return with_metadata(
        tiny_rr_bundle, leads=["MLII", "V1"], lead_fusion={"rule": "mean", "uncertain_below": 0.2}
    )


def lead_probabilities(bundle, rec, lead_index, samples):
    """The probabilities the app gives each lead alone at the analysed beats."""
    beats = classify_at(bundle, rec.signals[lead_index], rec.fs, samples)
    assert np.array_equal(beats.samples, samples)
    return beats.probabilities


def test_a_trained_second_lead_is_fused_and_named_in_the_summary(fusing):
    rec = lead_pair_recording(["MLII", "V1"])
    result = analyse(rec, fusing)
    assert result.summary["lead_fusion"] == {"rule": "mean", "second_lead": "V1",
                                             "screened_share": 0.0, "screened_beats": 0,
                                             "screened_reasons": []}  # fmt: skip
    assert result.timings["second_lead_s"] > 0  # the second lead's cost is measured apart
    samples = result.beats.samples
    assert len(samples) > 30
    first = lead_probabilities(fusing, rec, 0, samples)
    second = lead_probabilities(fusing, rec, 1, samples)
    # A beat's probabilities are the mean of its two leads' (same peaks on both leads); the
    # two leads differ, so this is not the primary lead's answer.
    np.testing.assert_allclose(result.beats.probabilities, (first + second) / 2, atol=1e-3)
    assert np.abs(first - second).max() > 1e-3
    np.testing.assert_allclose(result.beats.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_refitted_threshold_of_the_fusion_decides_uncertain_beats(fusing):
    from ecg.features.beat_states import REASON_LOW_CONFIDENCE

    rec = lead_pair_recording(["MLII", "V1"])
    # The tiny model's calibrated threshold is not used: the fusion's own one is.
    everything = with_metadata(fusing, lead_fusion={"rule": "mean", "uncertain_below": 1.01})
    reasons = analyse(rec, everything).state_reasons.tolist()
    assert reasons.count(REASON_LOW_CONFIDENCE) == len(reasons)
    nothing = with_metadata(fusing, lead_fusion={"rule": "mean", "uncertain_below": 0.0})
    assert REASON_LOW_CONFIDENCE not in analyse(rec, nothing).state_reasons.tolist()


@pytest.mark.parametrize(
    ("leads", "flag"),
    [
        (["MLII"], {"rule": "mean"}),  # a single-lead upload
        (["MLII", "V4"], {"rule": "mean"}),  # a second lead the model was not trained on
        (["MLII", "V1"], None),  # a model without the flag: the app as before
        (["MLII", "V1"], {"rule": "primary"}),
    ],
)
def test_primary_lead_only_without_a_usable_second_lead_or_flag(tiny_rr_bundle, leads, flag):
    bundle = with_metadata(tiny_rr_bundle, leads=["MLII", "V1"], lead_fusion=flag)
    rec = lead_pair_recording(leads)
    result = analyse(rec, bundle)
    assert "lead_fusion" not in result.summary
    first = lead_probabilities(bundle, rec, 0, result.beats.samples)
    np.testing.assert_allclose(result.beats.probabilities, first, atol=1e-5)


@pytest.mark.parametrize(
    ("leads", "fused_with"),
    [(["MLII", "V5", "V1"], "V1"), (["MLII", "V2", "V5"], "V5")],
)
def test_v1_is_preferred_and_an_untrained_lead_is_passed_over(fusing, leads, fused_with):
    bundle = with_metadata(fusing, leads=["MLII", "II", "V1", "V5"])
    result = analyse(lead_pair_recording(leads), bundle)
    assert result.summary["lead_fusion"]["second_lead"] == fused_with


def test_the_second_lead_classified_alongside_gives_the_sequential_answer(fusing):
    """``analyse`` classifies the second lead in a helper thread while the primary lead is
    classified (``start_second_lead``): the same probabilities, to the bit, as classifying it
    afterwards (``fuse_second_lead`` without ``second``), and the same states."""
    from ecg.dsp.detection import detect_beats
    from ecg.dsp.quality import beats_readable

    rec = lead_pair_recording(["MLII", "V1"])
    result = analyse(rec, fusing)
    peaks = detect_beats(rec.signal, rec.fs, second_lead=rec.second_lead)
    readable = beats_readable(ra.recording_quality(rec.signal, rec.fs, peaks), peaks)
    primary = classify_at(fusing, rec.signal, rec.fs, peaks, readable=readable)
    sequential, _, entry = ra.fuse_second_lead(fusing, rec, peaks, primary, readable=readable)
    assert entry["rule"] == "mean" and entry["second_lead"] == "V1"
    assert np.array_equal(result.beats.samples, sequential.samples)
    assert np.array_equal(result.beats.probabilities, sequential.probabilities)
    assert result.timings["classify_s"] > 0


def test_no_second_lead_is_started_without_fusion(tiny_rr_bundle):
    from concurrent.futures import ThreadPoolExecutor

    rec = lead_pair_recording(["MLII", "V1"])
    peaks = np.array([720, 1000, 1300])
    with ThreadPoolExecutor(max_workers=1) as helper:
        assert ra.start_second_lead(helper, tiny_rr_bundle, rec, peaks) is None  # no flag
        fusing = with_metadata(tiny_rr_bundle, leads=["MLII"], lead_fusion={"rule": "mean"})
        assert ra.start_second_lead(helper, fusing, rec, peaks) is None  # V1 not trained
        both = with_metadata(fusing, leads=["MLII", "V1"])
        assert ra.second_lead_index(both, rec) == 1
        assert ra.start_second_lead(helper, both, rec, peaks[:0]) is None  # no beat


# -- issue 18: a dead or noisy second lead must not change the answer ----------------------------


def with_second_lead(kind: str, from_s: float = 10.0) -> ParsedRecording:
    """The clean two-lead recording with its V1 made faulty from ``from_s`` on (before it, V1
    stays clean, so fusion still happens there)."""
    rec = lead_pair_recording(["MLII", "V1"])
    signals = rec.signals.copy()
    v1 = signals[1]
    start = int(from_s * FS)
    rng = np.random.default_rng(5)
    if kind == "flat":  # electrode off
        v1[start:] = 0.2 + 0.002 * rng.standard_normal(v1.size - start)
    elif kind == "clipped":  # the amplifier's rails
        v1[start:] = np.clip(v1[start:], -0.05, 0.02)
    else:  # a loose electrode: noise alone, no ECG
        v1[start:] = 0.5 * rng.standard_normal(v1.size - start)
    return replace(rec, signals=signals)


@pytest.mark.parametrize(
    ("kind", "from_s"),
    # clipping is judged against the lead's own extremes (``signal_quality``), so a clipped
    # lead is clipped throughout here: nothing is fused
    [("flat", 10.0), ("clipped", 0.0),
     ("pure noise", 10.0)],
)  # fmt: skip
def test_a_faulty_second_lead_leaves_the_primary_answer(fusing, kind, from_s):
    """Before issue 18 every beat averaged the faulty V1 in (``SECOND_LEAD_SCREEN = None``
    below). Now a beat in a screened segment has its primary-lead probabilities, and beats
    where V1 is clean are still fused."""
    rec = with_second_lead(kind, from_s)
    result = analyse(rec, fusing)
    samples = result.beats.samples
    first = lead_probabilities(fusing, rec, 0, samples)
    second = lead_probabilities(fusing, rec, 1, samples)
    faulty = samples >= from_s * FS
    assert faulty.sum() > 20
    # the fault would have changed the answer: the faulty lead's own reading differs
    assert np.abs(first[faulty] - second[faulty]).max() > 1e-3
    np.testing.assert_allclose(result.beats.probabilities[faulty], first[faulty], atol=1e-5)
    np.testing.assert_allclose(result.beats.probabilities[~faulty],
                               (first[~faulty] + second[~faulty]) / 2, atol=1e-3)  # fmt: skip
    entry = result.summary["lead_fusion"]
    assert entry["second_lead"] == "V1"
    assert entry["screened_share"] == pytest.approx(1 - from_s / DURATION, abs=0.01)
    assert entry["screened_beats"] == int(faulty.sum())
    assert entry["screened_reasons"]


def test_screened_beats_keep_the_models_threshold_and_fused_ones_the_fusions(fusing):
    from ecg.features.beat_states import REASON_LOW_CONFIDENCE

    rec = with_second_lead("flat")
    # fused beats: nothing uncertain (threshold 0); primary-only beats: all (threshold 1.01)
    bundle = with_metadata(fusing, lead_fusion={"rule": "mean", "uncertain_below": 0.0},
                           calibration={"uncertain_below": 1.01})  # fmt: skip
    result = analyse(rec, bundle)
    low = result.state_reasons == REASON_LOW_CONFIDENCE
    faulty = result.beats.samples >= 10 * FS
    assert low[faulty].all() and not low[~faulty].any()


def test_without_the_screen_the_faulty_lead_is_averaged_in(fusing, monkeypatch):
    """The fault itself (issue 17's behaviour, ``SECOND_LEAD_SCREEN = None``)."""
    monkeypatch.setattr(ra, "SECOND_LEAD_SCREEN", None)
    rec = with_second_lead("flat")
    result = analyse(rec, fusing)
    first = lead_probabilities(fusing, rec, 0, result.beats.samples)
    second = lead_probabilities(fusing, rec, 1, result.beats.samples)
    np.testing.assert_allclose(result.beats.probabilities, (first + second) / 2, atol=1e-3)
    assert "screened_share" not in result.summary["lead_fusion"]
