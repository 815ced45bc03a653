"""Whole-recording analysis with a two-channel (two-lead) model (issue 17).

A tiny two-channel network is built here (not the shipped file): each beat is one network call
whose image holds the primary lead and the second lead; the fallback without a usable second
lead is the primary in both channels.
"""

from __future__ import annotations

import numpy as np
import pytest

import ecg.recording_analysis as ra
from ecg.models.bundle import load_bundle
from ecg.models.two_lead_inputs import two_lead_windows
from ecg.recording_analysis import analyse
from tests.factories import build_tiny_bundle

from .synth import lead_pair_recording

FS = 360.0
DURATION = 40.0
CHANNEL_LEADS = [["MLII", "II"], ["V1", "V5"]]


@pytest.fixture(scope="module")
def two_lead(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-lead-model")
    path = build_tiny_bundle(folder, "tiny_two_lead", task="recording", with_rr=True,
                             channels=2, channel_leads=CHANNEL_LEADS, leads=["MLII", "II"],
                             calibration={"uncertain_below": 0.2})  # fmt: skip
    return load_bundle(path)


def expected(bundle, rec, samples, second_index, use_second=None):
    """The network on the two-lead inputs built directly at the analysed beats."""
    second = None if second_index is None else rec.signals[second_index]
    kept, windows, rr = two_lead_windows(bundle, rec.signal, second, rec.fs, samples,
                                         use_second=use_second)  # fmt: skip
    assert np.array_equal(samples[kept], samples)
    return bundle.predict_proba(bundle.render_channels(windows), rr)


def test_a_two_lead_model_reads_both_leads_in_one_image_and_names_them(two_lead):
    rec = lead_pair_recording(["MLII", "V1"])
    result = analyse(rec, two_lead)
    nothing_screened = {"screened_share": 0.0, "screened_beats": 0, "screened_reasons": []}
    entry = {"rule": "two_lead", "second_lead": "V1", **nothing_screened}
    assert result.summary["lead_fusion"] == entry
    samples = result.beats.samples
    assert len(samples) > 30
    both = expected(two_lead, rec, samples, 1)
    alone = expected(two_lead, rec, samples, None)
    # The analysis's probabilities are the network's on (primary, V1) images, not on the
    # primary twice: the second channel is really read.
    np.testing.assert_allclose(result.beats.probabilities, both, atol=1e-4)
    assert np.abs(both - alone).max() > 1e-3
    np.testing.assert_allclose(result.beats.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_one_lead_recording_gets_the_primary_in_both_channels(two_lead):
    rec = lead_pair_recording(["MLII"])
    result = analyse(rec, two_lead)
    assert "lead_fusion" not in result.summary  # one lead read: nothing to name
    alone = expected(two_lead, rec, result.beats.samples, None)
    np.testing.assert_allclose(result.beats.probabilities, alone, atol=1e-4)


@pytest.mark.parametrize("leads", [["MLII", "V4"], ["MLII", "II"]])
def test_a_second_lead_the_second_channel_was_not_trained_on_is_not_read(two_lead, leads):
    rec = lead_pair_recording(leads)
    result = analyse(rec, two_lead)
    assert "lead_fusion" not in result.summary
    alone = expected(two_lead, rec, result.beats.samples, None)
    np.testing.assert_allclose(result.beats.probabilities, alone, atol=1e-4)


def test_beats_where_the_second_lead_fails_its_screen_get_the_primary_twice(two_lead):
    rec = lead_pair_recording(["MLII", "V1"])
    half = rec.signals.shape[1] // 2
    rec.signals[1, half:] = 0.0  # electrode off for the second half of V1
    result = analyse(rec, two_lead)
    entry = result.summary["lead_fusion"]
    assert entry["rule"] == "two_lead" and entry["second_lead"] == "V1"
    assert 0.3 < entry["screened_share"] < 0.7 and "flat line" in " ".join(
        entry["screened_reasons"]
    )
    samples = result.beats.samples
    passed, quality, _ = ra.screen_second_lead(rec.signals[1], rec.fs, samples)
    use = ra.beats_pass(passed, quality, samples)
    assert entry["screened_beats"] == int((~use).sum()) > 5 and use.sum() > 5
    probs = result.beats.probabilities
    np.testing.assert_allclose(probs[~use], expected(two_lead, rec, samples, None)[~use],
                               atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(probs[use], expected(two_lead, rec, samples, 1)[use], atol=1e-4)


def test_the_model_s_calibrated_threshold_decides_uncertain_beats(two_lead):
    from ecg.features.beat_states import REASON_LOW_CONFIDENCE
    from ecg.models.bundle import ModelBundle

    rec = lead_pair_recording(["MLII", "V1"])
    meta = {**two_lead.metadata, "calibration": {"uncertain_below": 1.01}}
    reasons = analyse(rec, ModelBundle(two_lead.model, meta, two_lead.path)).state_reasons
    assert reasons.tolist().count(REASON_LOW_CONFIDENCE) == len(reasons)


def test_the_page_says_both_leads_were_read_together():
    from recordings.models import Recording

    entry = {"rule": "two_lead", "second_lead": "V1", "screened_share": 0.12,
             "screened_reasons": ["flat line"]}  # fmt: skip
    rec = Recording(lead="MLII", summary={"lead_fusion": entry})
    assert rec.leads_read_text == (
        "classes read on lead MLII and lead V1 together (two-lead model)"
    )
    assert rec.second_lead_screened_text == (
        "lead V1 unreadable in 12 % of the recording (flat line): those beats were read on "
        "MLII alone"
    )


@pytest.mark.django_db
def test_the_page_api_and_pdf_name_both_leads_and_offer_no_heat_map(
    client, env, users, tmp_path, django_capture_on_commit_callbacks, monkeypatch
):
    """``RECORDING_MODEL`` naming a two-lead model: the upload is read with both leads, the
    page, API and PDF say so, and heat maps are declined with a reason (one lead's image)."""
    from django.urls import reverse

    from tests.recordings import test_web
    from tests.recordings.test_episodes_web import pdf_text
    from tests.recordings.test_web import done_recording

    # the upload helpers run on_commit hooks as a real commit would (test_web's own fixture)
    monkeypatch.setattr(test_web, "_capture", django_capture_on_commit_callbacks)

    folder = tmp_path / "two-lead-model"
    folder.mkdir()
    build_tiny_bundle(folder, "aaa_one_lead", task="recording", with_rr=True)
    build_tiny_bundle(folder, "two", task="recording", with_rr=True, channels=2,
                      channel_leads=CHANNEL_LEADS, leads=["MLII", "II"])  # fmt: skip
    env.MODELS_DIR = folder
    env.RECORDING_MODEL = "two"  # opt-in: the other model comes first by name
    recording, _, _ = done_recording(client, users, tmp_path)
    assert recording.model_name == "two"
    assert recording.summary["lead_fusion"]["rule"] == "two_lead"
    html = " ".join(client.get(recording.get_absolute_url()).content.decode().split())
    assert "classes read on lead MLII and lead V1 together (two-lead model)" in html
    api = client.get(reverse("api:recording-detail", args=[recording.pk])).json()
    assert api["summary"]["lead_fusion"]["second_lead"] == "V1"
    _, text = pdf_text(client, recording)
    assert "lead MLII and lead V1 together" in " ".join(text.split())
    from reports.selectors import recording_heatmap_unavailable_reason

    reason = recording_heatmap_unavailable_reason(recording=recording)
    assert reason == "heat maps are not available for the two-lead model yet."
