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
    with pytest.raises(ValueError, match="needs the beats"):  # the means cannot say it
        conduction.finding_from_leads([conduction.lead_evidence("II", beats)], CLASSES,
                                      rule=MAJORITY)  # fmt: skip
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


def with_finding(recording, *others: dict):
    """The recording with the finding the analysis would store: its analysed lead's evidence
    (the stored probabilities and states), then ``others``."""
    states = list(recording.beats.order_by("index").values_list("state", flat=True))
    own = conduction.lead_evidence(recording.lead, _probabilities(recording), states)
    recording.summary["conduction"] = conduction.finding_from_leads([own, *others], CLASSES)
    recording.save(update_fields=["summary"])
    return recording


@pytest.mark.django_db
def test_reviewed_classes_decide_the_finding_and_undoing_them_restores_the_model_s(
    settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    recording = with_finding(done_recording(users["alice"]))
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
    assert "Finding Leads read (readable beats) Mean P(L) Mean P(R) Mean P(N)" in text
    assert (
        f"Right bundle branch block pattern lead 1 ({recording.beat_count}) 0.04 0.80 0.04" in text
    )
    api = APIClient()
    api.force_authenticate(alice)
    summary = api.get(f"/api/v1/recordings/{recording.pk}/").json()["summary"]
    assert summary["conduction"]["call"] == "R"
    assert summary["conduction"]["finding"] == "right bundle branch block pattern"


@pytest.fixture(scope="module")
def four_lead_bundle(tmp_path_factory):
    from ecg.models.bundle import load_bundle
    from tests.factories import build_tiny_bundle

    folder = tmp_path_factory.mktemp("four-lead-model")
    return load_bundle(build_tiny_bundle(folder, "tiny_four_lead", task="recording",
                                         leads=["MLII", "II", "III", "V1", "V5"]))  # fmt: skip


def analysed_with(monkeypatch, bundle, leads: list[str], flat: tuple[int, ...] = ()):
    """``analyse`` on a synthetic recording with ``leads``, the model calling every beat of
    every lead R at 0.6: over several leads that reaches ALL_LEADS_RULE's 0.5, over one lead
    it is under SHIPPED_RULE's 0.7. Returns the analysis and the signals classified."""
    import ecg.recording_analysis as ra

    from .synth import lead_pair_recording

    classes = list(bundle.classes)
    read: list[np.ndarray] = []
    real = ra.classify_at

    def classify(bundle, signal, fs, at, **kwargs):
        read.append(np.asarray(signal))
        result = real(bundle, signal, fs, at, **kwargs)
        p = np.full_like(result.probabilities, 0.4 / (len(classes) - 1))
        p[:, classes.index("R")] = 0.6
        return ra.BeatResults(samples=result.samples, probabilities=p, classes=classes)

    monkeypatch.setattr(ra, "classify_at", classify)
    rec = lead_pair_recording(leads)
    for index in flat:
        rec.signals[index] = 0.0  # an electrode off
    return ra.analyse(rec, bundle), rec, read


def test_every_trained_lead_of_the_recording_is_read_and_the_all_leads_rule_decides(
    monkeypatch, four_lead_bundle
):
    analysis, rec, read = analysed_with(monkeypatch, four_lead_bundle, ["MLII", "V1", "aVR"])
    finding = analysis.summary["conduction"]
    assert [e["lead"] for e in finding["leads"]] == ["MLII", "V1"]  # aVR: not a trained lead
    assert all(e["beats"] > 30 for e in finding["leads"])
    assert finding["call"] == "R" and finding["mean_probability"]["R"] == pytest.approx(0.6)
    # V1 was classified on its own signal (the lead_pair recording's V1 is inverted)
    assert any(np.array_equal(signal, rec.signals[1]) for signal in read)
    assert not any(np.array_equal(signal, rec.signals[2]) for signal in read)
    assert "mean over leads MLII, V1 of each one's readable beats" in conduction.finding_text(
        finding
    )


def test_a_recording_longer_than_five_minutes_is_read_on_its_analysed_lead_alone(
    monkeypatch, four_lead_bundle
):
    import ecg.recording_analysis as ra

    monkeypatch.setattr(ra, "CONDUCTION_ALL_LEADS_MAX_S", 30.0)  # the 40-s recording is "long"
    analysis, rec, read = analysed_with(monkeypatch, four_lead_bundle, ["MLII", "V1"])
    assert [e["lead"] for e in analysis.summary["conduction"]["leads"]] == ["MLII"]
    assert not any(np.array_equal(signal, rec.signals[1]) for signal in read)


def test_one_lead_or_a_flat_second_lead_leaves_the_single_lead_rule(monkeypatch, four_lead_bundle):
    alone, _rec, _read = analysed_with(monkeypatch, four_lead_bundle, ["MLII", "aVR"])
    assert [e["lead"] for e in alone.summary["conduction"]["leads"]] == ["MLII"]
    assert alone.summary["conduction"]["call"] is None  # R 0.6 under the one-lead 0.7
    off, _rec, _read = analysed_with(monkeypatch, four_lead_bundle, ["MLII", "V1"], flat=(1,))
    finding = off.summary["conduction"]
    assert [(e["lead"], e["beats"]) for e in finding["leads"]][1] == ("V1", 0)
    assert finding["call"] is None
    assert "mean probability over" in conduction.finding_text(finding)


@pytest.mark.django_db
def test_a_review_recounts_the_analysed_lead_and_keeps_the_other_leads_evidence(
    settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    v1 = {"lead": "V1", "beats": 40, "mean": probs(R=0.9, N=0.1).tolist()}
    recording = with_finding(done_recording(users["alice"]), v1)
    # the mean of the two leads: R 0.46 the most probable, under the all-leads 0.5
    assert recording.summary["conduction"]["call"] is None

    every = list(recording.beats.values_list("index", flat=True))
    review_services.beat_correct(
        user=users["alice"], recording=recording, beat_indices=every, label="R"
    )
    recording.refresh_from_db()
    finding = recording.summary["conduction"]
    assert finding["call"] == "R" and finding["leads"][1] == v1
    assert finding["mean_probability"]["R"] == pytest.approx(0.95)


def test_the_text_keeps_l_r_n_order_whatever_order_the_stored_json_has():
    # PostgreSQL's jsonb gives an object's keys back sorted (L, N, R), not as written
    stored = {"finding": "normal conduction", "beats": 5, "leads": [{"lead": "II", "beats": 5}],
              "mean_probability": {"L": 0.1, "N": 0.8, "R": 0.1}}  # fmt: skip
    assert conduction.shown_means(stored) == [("L", 0.1), ("R", 0.1), ("N", 0.8)]
    assert conduction.finding_text(stored).endswith(": L 0.10, R 0.10, N 0.80)")
