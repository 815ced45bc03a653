"""The recording's conduction finding (issue 17, point 7; ``ecg.features.conduction``): a
bundle branch block called from the mean of the readable beats' probabilities, "not
determined" when the evidence is under the threshold, recounted with the reviewed classes, and
said on the page, the PDF and the API."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features import conduction
from ecg.features.conduction import MAJORITY, ConductionRule, conduction_call, conduction_finding
from recordings import review_services
from recordings.selectors import _probabilities

from .review_data import CLASSES, done_recording

RULE = ConductionRule(lbbb_min=0.4, rbbb_min=0.7)


def probs(**columns: float) -> np.ndarray:
    row = np.zeros(len(CLASSES))
    for code, value in columns.items():
        row[CLASSES.index(code)] = value
    return row


@pytest.mark.parametrize(
    ("means", "call"),
    [
        (probs(R=0.72, N=0.2, V=0.08), "R"),
        (probs(R=0.6, N=0.3, V=0.1), None),  # R most probable, under its threshold
        (probs(L=0.45, R=0.1, N=0.45), "L"),  # a block at its threshold wins over N
        (probs(L=0.5, R=0.75, N=0.0, V=0.0), "R"),  # both reached: the larger
        (probs(N=0.5, V=0.3, R=0.2), "N"),
        (probs(V=0.6, N=0.3, R=0.1), None),  # mostly ectopic: no conduction finding
    ],
)
def test_a_block_is_called_only_at_its_threshold(means, call):
    assert conduction_call(means[None], CLASSES, RULE) == [call]


def test_unreadable_beats_carry_no_evidence_and_none_readable_is_not_determined():
    beats = np.stack([probs(R=0.9, N=0.1)] * 3 + [probs(N=0.95, R=0.05)] * 7)
    assert conduction_finding(beats, CLASSES, rule=RULE)["call"] == "N"
    # the seven N beats' segments unreadable: the three R beats alone decide
    only = conduction_finding(beats, CLASSES, ["classified"] * 3 + ["unreadable"] * 7, rule=RULE)
    assert only["beats"] == 3 and only["call"] == "R"
    nothing = conduction_finding(beats, CLASSES, ["unreadable"] * 10, rule=RULE)
    assert nothing["call"] is None and nothing["beats"] == 0
    assert conduction.finding_text(nothing) == "not determined (no readable beat)"


def test_the_majority_vote_and_the_thresholds_differ_where_the_evidence_is_weak():
    # six beats called R at 0.5 and four N at 0.9: most beats R, mean P(R) 0.32
    beats = np.stack([probs(R=0.5, N=0.4, V=0.1)] * 6 + [probs(N=0.9, R=0.1)] * 4)
    assert conduction_finding(beats, CLASSES, rule=MAJORITY)["call"] == "R"
    finding = conduction_finding(beats, CLASSES, rule=RULE)
    assert finding["call"] == "N"  # N has the larger mean (0.6) and R is under 0.7
    assert finding["mean_probability"] == {"L": 0.0, "R": 0.34, "N": 0.6}
    text = conduction.finding_text(finding)
    assert (
        text
        == "normal conduction (mean probability over 10 readable beats: L 0.00, R 0.34, N 0.60)"
    )


def test_a_model_without_both_blocks_gives_no_finding():
    assert conduction.applies(CLASSES)
    assert not conduction.applies(["N", "S", "V", "F", "Q"])


@pytest.mark.django_db
def test_reviewed_classes_decide_the_finding_and_undoing_them_restores_the_model_s(
    settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    recording = done_recording(users["alice"])
    states = list(recording.beats.order_by("index").values_list("state", flat=True))
    recording.summary["conduction"] = conduction_finding(_probabilities(recording), CLASSES, states)
    recording.save(update_fields=["summary"])
    model_finding = recording.summary["conduction"]
    assert model_finding["call"] == "N"

    every = list(recording.beats.values_list("index", flat=True))
    review_services.beat_correct(
        user=users["alice"], recording=recording, beat_indices=every, label="R"
    )
    recording.refresh_from_db()
    reviewed = recording.summary["conduction"]
    assert reviewed["call"] == "R" and reviewed["mean_probability"]["R"] == 1.0
    assert recording.review["model_summary"]["conduction"] == model_finding

    review_services.review_action_undo(user=users["alice"], recording=recording)
    recording.refresh_from_db()
    assert recording.summary["conduction"] == model_finding


@pytest.mark.django_db
def test_the_page_the_pdf_and_the_api_give_the_finding(
    client, env, alice, django_capture_on_commit_callbacks, monkeypatch, tiny_bundle
):
    from rest_framework.test import APIClient

    import ecg.recording_analysis as recording_analysis
    from ecg.recording_analysis import BeatResults

    from .synth import long_ecg
    from .test_episodes_web import pdf_text
    from .test_unreadable import FS, csv_bytes, upload_csv

    classes = list(tiny_bundle.classes)

    def classify(bundle, signal, fs, at, **kwargs):  # every beat R at 0.8
        p = np.full((at.size, len(classes)), 0.2 / (len(classes) - 1), np.float32)
        p[:, classes.index("R")] = 0.8
        return BeatResults(samples=at, probabilities=p, classes=classes)

    monkeypatch.setattr(recording_analysis, "classify_at", classify)
    signal = long_ecg(FS, 60.0)
    recording = upload_csv(client, alice, csv_bytes(signal), django_capture_on_commit_callbacks)
    finding = recording.summary["conduction"]
    assert finding["call"] == "R" and finding["beats"] == recording.beat_count
    html = client.get(recording.get_absolute_url()).content.decode()
    assert 'id="conduction"' in html and "Right bundle branch block pattern" in html
    _pdf, text = pdf_text(client, recording)
    assert "not a 12-lead reading) Finding Readable beats Mean P(L) Mean P(R) Mean P(N)" in text
    assert f"Right bundle branch block pattern {recording.beat_count} 0.04 0.80 0.04" in text
    api = APIClient()
    api.force_authenticate(alice)
    summary = api.get(f"/api/v1/recordings/{recording.pk}/").json()["summary"]
    assert summary["conduction"]["call"] == "R"
    assert summary["conduction"]["finding"] == "right bundle branch block pattern"
