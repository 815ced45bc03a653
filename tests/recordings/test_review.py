"""The clinician's review (issue 20): corrections with an audit trail, the templates page, labels
suggested from corrections, the WFDB annotation export and the corrections API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.http import Http404
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ecg.features import confirm_first
from recordings import review_selectors, review_services
from recordings.errors import AnalysisNotDone, CorrectionRefused
from recordings.models import Beat, BeatCorrection, Recording, TemplateGrouping

from .review_data import done_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def rec(media, users) -> Recording:
    return done_recording(users["alice"])


def counts(recording: Recording) -> dict[str, int]:
    recording.refresh_from_db()
    return {row["code"]: row["count"] for row in recording.summary["classes"]}


def nothing_written(recording: Recording, before: dict[str, int]) -> None:
    assert not BeatCorrection.objects.exists()
    assert not recording.beats.exclude(reviewed_label="").exists()
    assert counts(recording) == before and recording.review == {}


# -- services and selectors -------------------------------------------------------------------


def test_correction_keeps_model_label_recounts_and_says_who(rec, users):
    before = counts(rec)
    mistaken = [b.index for b in rec.beats.all() if b.index % 11 == 10 and b.index % 7 != 6]
    assert rec.beats.filter(index__in=mistaken, label="V").count() == len(mistaken) > 2
    n = review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=mistaken + mistaken[:1], label="N"
    )
    assert n == len(mistaken)  # a repeated index is one beat
    # The model's answer stays; the clinician's is beside it, with the audit trail.
    assert set(rec.beats.filter(index__in=mistaken).values_list("label", flat=True)) == {"V"}
    assert set(rec.beats.filter(index__in=mistaken).values_list("reviewed_label", flat=True)) == {
        "N"
    }
    trail = BeatCorrection.objects.filter(recording=rec)
    assert trail.count() == len(mistaken)
    assert {(c.label, c.previous_label, c.created_by_id) for c in trail} == {
        ("N", "V", users["alice"].pk)
    }
    after = counts(rec)
    assert after["V"] == before["V"] - len(mistaken) and after["N"] == before["N"] + len(mistaken)
    assert rec.review["beats_reviewed"] == len(mistaken)
    assert rec.review["reviewers"] == ["alice"]
    assert {r["code"]: r["count"] for r in rec.review["model_summary"]["classes"]} == before
    labels = review_selectors.beat_reviewed_labels(recording=rec)
    assert labels == {i: {"label": "N", "by": "alice"} for i in mistaken}


def test_latest_correction_counts_and_the_trail_keeps_both(rec, users):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0], label="V")
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0], label="A")
    beat = rec.beats.get(index=0)
    assert beat.label == "N" and beat.reviewed_label == "A" and beat.shown_label == "A"
    trail = list(BeatCorrection.objects.filter(beat=beat).order_by("id"))
    assert [(c.previous_label, c.label) for c in trail] == [("N", "V"), ("V", "A")]
    assert counts(rec)["A"] == 1 and rec.review["beats_reviewed"] == 1


def test_reviewed_uncertain_beat_is_counted_with_the_clinicians_class(rec, users):
    before = counts(rec)
    assert rec.beats.get(index=3).state == "uncertain"  # not counted before
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[3], label="N")
    assert counts(rec)["N"] == before["N"] + 1
    assert rec.summary["states"]["uncertain"] == 0


@pytest.mark.parametrize(
    ("indices", "label", "message"),
    [
        ([1, 2], "Z", "Unknown class"),
        ([], "N", "at least one beat"),
        ([1, 99999], "N", "not in this recording"),
        (["one"], "N", "whole numbers"),
    ],
)
def test_bad_corrections_are_refused_and_write_nothing(rec, users, indices, label, message):
    before = counts(rec)
    with pytest.raises(CorrectionRefused, match=message):
        review_services.beat_correct(
            user=users["alice"], recording=rec, beat_indices=indices, label=label
        )
    nothing_written(rec, before)


def test_only_the_owner_corrects(rec, users):
    before = counts(rec)
    for intruder in (users["bob"], users["staff"]):
        with pytest.raises(Http404):
            review_services.beat_correct(user=intruder, recording=rec, beat_indices=[1], label="V")
    nothing_written(rec, before)


def test_unfinished_recording_cannot_be_reviewed(rec, users):
    Recording.objects.filter(pk=rec.pk).update(status=Recording.Status.RUNNING)
    rec.refresh_from_db()
    with pytest.raises(AnalysisNotDone):
        review_services.beat_correct(
            user=users["alice"], recording=rec, beat_indices=[1], label="V"
        )


def test_thousands_of_beats_in_one_correction(media, users):
    big = done_recording(users["alice"], duration_s=1200.0)  # ~1,500 beats
    indices = list(range(big.beat_count))
    assert len(indices) > 1000  # over INDEX_CHUNK: the IN queries are chunked
    review_services.beat_correct(
        user=users["alice"], recording=big, beat_indices=indices, label="R"
    )
    assert counts(big)["R"] == big.beat_count
    assert BeatCorrection.objects.filter(recording=big).count() == big.beat_count


# -- templates --------------------------------------------------------------------------------


def test_grouping_separates_the_wide_beats_and_is_cached(rec, users, monkeypatch):
    grouping = review_services.template_grouping_get_or_create(user=users["alice"], recording=rec)
    wide = {b.index for b in rec.beats.all() if b.index % 7 == 6}
    groups = [set(g["indices"]) for g in grouping.groups]
    # Beats too close to an end have no window and no group; every other beat has one.
    grouped = set().union(*groups)
    assert len(grouped) >= rec.beat_count - 2
    assert sum(len(g) for g in groups) == len(grouped)
    wide_group = max(groups, key=lambda g: len(g & wide))
    assert wide_group == wide & grouped  # the taller, wider beats form their own group
    assert grouping.groups[0]["count"] >= grouping.groups[-1]["count"]  # largest first
    assert all(len(g["overlay_mv"]) <= review_services.OVERLAY_BEATS for g in grouping.groups)
    # Median beat in mV: the synthetic R wave is 1.2 mV (1.56 mV for the wide beats).
    assert 0.8 < max(grouping.groups[0]["median_mv"]) < 1.8

    def fail(*args, **kwargs):
        raise AssertionError("reclustered")

    monkeypatch.setattr(review_services, "group_beats", fail)
    again = review_services.template_grouping_get_or_create(user=users["alice"], recording=rec)
    assert again.pk == grouping.pk and TemplateGrouping.objects.count() == 1


def test_templates_page_cards_and_group_relabel(client, rec, users):
    client.force_login(users["alice"])
    detail = client.get(rec.get_absolute_url()).content.decode()
    url = reverse("recordings:templates", args=[rec.pk])
    assert url in detail and reverse("recordings:atr", args=[rec.pk]) in detail
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    grouping = TemplateGrouping.objects.get(recording=rec)
    assert html.count("<svg") == len(grouping.groups) >= 2
    assert html.count("<polyline") == sum(len(g["overlay_mv"]) + 1 for g in grouping.groups)
    assert "csrfmiddlewaretoken" in html and "No beat reviewed yet." in html
    # Relabel the wide beats' group as V: one correction per beat, in one request.
    wide = max(range(len(grouping.groups)), key=lambda g: grouping.groups[g]["indices"][0] % 7)
    members = grouping.groups[wide]["indices"]
    response = client.post(
        reverse("recordings:template_relabel", args=[rec.pk, wide]), {"label": "V"}
    )
    assert response.status_code == 302 and response.url == url
    assert rec.beats.filter(reviewed_label="V").count() == len(members)
    page = client.get(url).content.decode()
    assert f"{len(members)} beats reviewed by alice" in page
    detail = client.get(rec.get_absolute_url()).content.decode()
    assert "reviewed by alice" in detail


def test_group_relabel_bad_label_or_group_shows_a_message_and_writes_nothing(client, rec, users):
    client.force_login(users["alice"])
    before = counts(rec)
    bad = client.post(
        reverse("recordings:template_relabel", args=[rec.pk, 0]), {"label": "Z"}, follow=True
    )
    assert "Unknown class" in bad.content.decode()
    missing = client.post(
        reverse("recordings:template_relabel", args=[rec.pk, 999]), {"label": "N"}, follow=True
    )
    assert "No such group" in missing.content.decode()
    nothing_written(rec, before)


def test_templates_page_and_relabel_are_the_owners_only(client, rec, users):
    before = counts(rec)
    for intruder in ("bob", "staff"):
        client.force_login(users[intruder])
        assert client.get(reverse("recordings:templates", args=[rec.pk])).status_code == 404
        post = client.post(reverse("recordings:template_relabel", args=[rec.pk, 0]), {"label": "V"})
        assert post.status_code == 404
        assert client.post(reverse("recordings:suggest", args=[rec.pk])).status_code == 404
    nothing_written(rec, before)
    assert not TemplateGrouping.objects.exists()
    assert not rec.beats.exclude(suggested_label="").exists()


def test_relabel_needs_post(client, rec, users):
    client.force_login(users["alice"])
    url = reverse("recordings:template_relabel", args=[rec.pk, 0])
    assert client.get(url, {"label": "V"}).status_code == 405


# -- suggestions from corrections ------------------------------------------------------------


def test_suggestions_learn_from_corrections_and_are_not_reviews(rec, users):
    with pytest.raises(CorrectionRefused, match="Correct or confirm"):
        review_services.beats_suggest(user=users["alice"], recording=rec)
    mistaken = [b.index for b in rec.beats.all() if b.index % 11 == 10 and b.index % 7 != 6]
    Beat.objects.filter(recording=rec, index=mistaken[-1]).update(state="unreadable")
    review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=mistaken[:1], label="N"
    )
    before = counts(rec)
    result = review_services.beats_suggest(user=users["alice"], recording=rec)
    beats = {b.index: b for b in rec.beats.all()}
    # The other beats the model called V but that look and beat like normal ones: N suggested.
    same = mistaken[1:-1]
    assert same and all(beats[i].suggested_label == "N" for i in same)
    assert beats[mistaken[-1]].suggested_label == ""  # unreadable: no suggestion
    assert beats[mistaken[0]].suggested_label == ""  # reviewed: nothing to suggest
    # The wide beats keep the model's V: nothing suggested for them.
    assert all(beats[i].suggested_label == "" for i in beats if i % 7 == 6)
    assert result["suggested"] == len(same) and result["learned_from"] == 1
    # A suggestion is not a review: counts and reviewed labels unchanged.
    assert counts(rec) == before and rec.review["beats_reviewed"] == 1
    assert all(beats[i].reviewed_label == "" for i in same)


def test_a_fusion_label_is_counted_and_exported_and_teaches_nothing(client, rec, users, media):
    # F (fusion) is no model class: a reviewer's label, counted in a row of its own, exported
    # with WFDB's own symbol, offered on the strip and the templates page; it teaches nothing
    # (corrections.FUSION_TEACHES, chosen on DS1), so alone it gives nothing to suggest from
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    before = counts(rec)
    assert "F" not in before
    review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=wide[:1], label="F"
    )
    after = counts(rec)
    assert after["F"] == 1 and after["V"] == before["V"] - 1
    assert list(after)[: len(before)] == list(before)  # the model's classes first, F after
    from reports.recording_services import _class_rows

    assert ("Fusion beat (review label) (F)", "1") in [row[:2] for row in _class_rows(rec)]
    with pytest.raises(CorrectionRefused, match="suggestions learn from them"):
        review_services.beats_suggest(user=users["alice"], recording=rec)
    suggested = rec.beats.filter(index__in=wide[1:]).values_list("suggested_label", flat=True)
    assert set(suggested) == {""}  # nothing suggested, F least of all
    assert counts(rec) == after
    client.force_login(users["alice"])
    for name in ("recordings:detail", "recordings:templates"):
        html = client.get(reverse(name, args=[rec.pk])).content.decode()
        assert '<option value="F"' in html and "Fusion beat" in html
        # listed apart from the model's classes, in the menu that relabels
        assert (
            '<optgroup label="Review labels (the model never gives them)"><option value="F"' in html
        )
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    Path(media.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    path = Path(media.MEDIA_ROOT) / "fusion.atr"
    path.write_bytes(response.content)
    import wfdb

    ann = wfdb.rdann(str(path.with_suffix("")), "atr")
    assert ann.symbol[wide[0]] == "F"


def test_suggest_button(client, rec, users):
    client.force_login(users["alice"])
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[10], label="N")
    page = client.post(reverse("recordings:suggest", args=[rec.pk]), follow=True)
    html = page.content.decode()
    assert "suggested from your corrections" in html and "they are not reviewed" in html


# -- exports ---------------------------------------------------------------------------------


def test_wfdb_annotations_round_trip(client, rec, users, tmp_path):
    import wfdb

    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0], label="A")
    Beat.objects.filter(recording=rec, index=5).update(state="unreadable")
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="recording-{rec.pk}.atr"'
    Path(tmp_path / "rec.atr").write_bytes(response.content)
    ann = wfdb.rdann(str(tmp_path / "rec"), "atr")
    beats = list(rec.beats.order_by("index"))
    assert ann.sample.tolist() == [b.sample for b in beats]
    expected = [b.label for b in beats]
    expected[0] = "A"  # reviewed
    expected[3] = "Q"  # uncertain, not reviewed
    expected[5] = "Q"  # unreadable
    assert ann.symbol == expected
    assert ann.fs == rec.sampling_rate
    client.force_login(users["bob"])
    assert client.get(reverse("recordings:atr", args=[rec.pk])).status_code == 404


def test_csv_states_reviewed_label_and_reviewer(client, rec, users):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[2], label="V")
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:csv", args=[rec.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = rows[0]
    col = {name: header.index(name) for name in ("class", "reviewed_class", "reviewed_by")}
    assert rows[3][col["class"]] == "N"
    assert rows[3][col["reviewed_class"]] == "V" and rows[3][col["reviewed_by"]] == "alice"
    assert rows[2][col["reviewed_class"]] == "" and rows[2][col["reviewed_by"]] == ""


def test_pdf_says_how_many_beats_were_reviewed_and_by_whom(rec, users):
    from reports.recording_services import _review_detail

    assert "none" in _review_detail(rec)[1]
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1, 2], label="V")
    rec.refresh_from_db()
    assert _review_detail(rec)[1].startswith("2 beats reviewed by alice")


# -- API -------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_corrections_post_get_and_beats(rec, users):
    url = reverse("api:recording-corrections", args=[rec.pk])
    client = api(users["alice"])
    response = client.post(url, {"beats": [1, 2], "label": "V"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["corrected"] == 2 and body["beats_reviewed"] == 2 and body["reviewers"] == ["alice"]
    assert {r["code"]: r["count"] for r in body["summary"]["classes"]} == counts(rec)
    listed = client.get(url).json()
    assert {(c["beat"], c["label"], c["created_by"]) for c in listed["results"]} == {
        (1, "V", "alice"),
        (2, "V", "alice"),
    }
    beats = client.get(reverse("api:recording-beats", args=[rec.pk])).json()["results"]
    assert beats[1]["label"] == "N" and beats[1]["reviewed_label"] == "V"
    assert beats[1]["reviewed_by"] == "alice" and beats[0]["reviewed_label"] == ""
    detail = client.get(reverse("api:recording-detail", args=[rec.pk])).json()
    assert detail["review"]["beats_reviewed"] == 2
    assert detail["links"]["corrections"].endswith(url)
    one = client.get(reverse("api:recording-beat", args=[rec.pk, 1])).json()
    assert (one["label"], one["reviewed_label"], one["reviewed_by"]) == ("N", "V", "alice")
    assert one["shown_label"] == "N"  # the model's answer, beside the clinician's


def test_a_paced_label_is_counted_exported_as_wfdb_paced_and_taught(client, rec, users, media):
    # a paced recording the model reads as N and V: the reviewer labels one beat of each shape
    # P (paced), and the suggestions carry it to the look-alikes
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0, 6], label="P")
    assert counts(rec)["P"] == 2
    review_services.beats_suggest(user=users["alice"], recording=rec)
    suggested = dict(rec.beats.filter(index__in=wide[1:]).values_list("index", "suggested_label"))
    assert set(suggested.values()) == {"P"}
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    Path(media.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    path = Path(media.MEDIA_ROOT) / "paced.atr"
    path.write_bytes(response.content)
    import wfdb

    ann = wfdb.rdann(str(path.with_suffix("")), "atr")
    assert ann.symbol[0] == ann.symbol[6] == "/"  # WFDB's paced beat


def test_an_artefact_is_no_beat_in_any_count_interval_or_event(client, rec, users, media):
    rec.summary = dict(rec.summary) | {"episodes": []}  # the model found no event
    rec.save(update_fields=["summary"])
    before = rec.summary
    # two beats in a row (RR 0.8 s) marked artefacts: one 2.4-s interval is left, a pause
    review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=[40, 41], label="X"
    )
    rec.refresh_from_db()
    assert rec.summary["beats"] == before["beats"] - 2 and rec.review["not_beats"] == 2
    assert "X" not in counts(rec)  # no class row: not a beat
    assert sum(counts(rec).values()) == sum(r["count"] for r in before["classes"]) - 2
    pauses = [e for e in rec.summary["episodes"] if e["kind"] == "pause"]
    assert [round(e["end_s"] - e["start_s"], 1) for e in pauses] == [2.4]
    assert rec.review["beats_reviewed"] == 2  # still reviewed beats, with who and when
    client.force_login(users["alice"])
    html = client.get(rec.get_absolute_url()).content.decode()
    assert "2 of them are artefacts, not beats" in html
    from reports.recording_services import _review_detail

    assert "2 of them marked artefacts" in _review_detail(rec)[1]
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    Path(media.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    path = Path(media.MEDIA_ROOT) / "artefact.atr"
    path.write_bytes(response.content)
    import wfdb

    ann = wfdb.rdann(str(path.with_suffix("")), "atr")
    at = {int(t): sym for t, sym in zip(ann.sample, ann.symbol, strict=True) if sym != "+"}
    beats = dict(rec.beats.values_list("index", "sample"))
    assert at[beats[40]] == at[beats[41]] == "|"  # WFDB's isolated QRS-like artifact
    # no suggestion learns from an artefact
    with pytest.raises(CorrectionRefused, match="Correct or confirm"):
        review_services.beats_suggest(user=users["alice"], recording=rec)
    # undone, the beats count again
    review_services.review_action_undo(user=users["alice"], recording=rec)
    rec.refresh_from_db()
    assert rec.summary["beats"] == before["beats"] and "pause" not in {
        e["kind"] for e in rec.summary["episodes"] or []
    }


def test_api_takes_a_fusion_label_and_lists_its_beats(rec, users):
    url = reverse("api:recording-corrections", args=[rec.pk])
    client = api(users["alice"])
    response = client.post(url, {"beats": [6, 13], "label": "F"}, format="json")
    assert response.status_code == 201, response.content
    assert {r["code"]: r["count"] for r in response.json()["summary"]["classes"]}["F"] == 2
    beats = client.get(reverse("api:recording-beats", args=[rec.pk]), {"label": "F"}).json()
    assert [b["index"] for b in beats["results"]] == [6, 13]
    refused = client.post(url, {"beats": [1], "label": "Q"}, format="json")
    assert refused.status_code == 400 and "F" in refused.json()["message"]


def test_api_corrections_errors_are_json_and_write_nothing(rec, users):
    url = reverse("api:recording-corrections", args=[rec.pk])
    before = counts(rec)
    bad_label = api(users["alice"]).post(url, {"beats": [1], "label": "Z"}, format="json")
    assert bad_label.status_code == 400
    assert bad_label.json()["code"] == "invalid_correction"
    assert "Unknown class" in bad_label.json()["message"]
    no_beats = api(users["alice"]).post(url, {"beats": [], "label": "N"}, format="json")
    assert no_beats.status_code == 400 and no_beats["Content-Type"] == "application/json"
    for intruder in ("bob", "staff"):
        assert api(users[intruder]).post(url, {"beats": [1], "label": "V"}).status_code == 404
        assert api(users[intruder]).get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    nothing_written(rec, before)


def test_deleting_the_recording_removes_its_review(rec, users):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1], label="V")
    review_services.template_grouping_get_or_create(user=users["alice"], recording=rec)
    rec.delete()
    assert not BeatCorrection.objects.exists() and not TemplateGrouping.objects.exists()


def test_class_zip_and_find_follow_the_reviewed_class(client, rec, users):
    """A beat reviewed as A is in the A images and found as A; no longer as its model class."""
    client.force_login(users["alice"])
    assert client.get(reverse("recordings:zip", args=[rec.pk, "A"])).status_code == 404
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[4], label="A")
    response = client.get(reverse("recordings:zip", args=[rec.pk, "A"]))
    assert response.status_code == 200 and response["X-Beat-Count"] == "1"
    found = client.get(reverse("recordings:find", args=[rec.pk]), {"after": 0, "label": "A"})
    assert found.json()["time_s"] == rec.beats.get(index=4).time_s
    n_zip = client.get(reverse("recordings:zip", args=[rec.pk, "N"]))
    assert n_zip["X-Beat-Count"] == str(counts(rec)["N"])


def test_a_failed_analysis_leaves_no_review_behind(rec, users):
    from recordings.services import recording_mark_failed

    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1], label="V")
    review_services.template_grouping_get_or_create(user=users["alice"], recording=rec)
    recording_mark_failed(recording_id=rec.pk, reason="test")
    rec.refresh_from_db()
    assert rec.review == {} and rec.summary == {}
    assert not BeatCorrection.objects.exists() and not TemplateGrouping.objects.exists()


def test_strip_form_corrects_one_beat_for_the_owner_only(client, rec, users):
    url = reverse("recordings:correct", args=[rec.pk])
    client.force_login(users["bob"])
    assert client.post(url, {"beats": "12", "label": "A"}).status_code == 404
    assert not BeatCorrection.objects.exists()
    client.force_login(users["alice"])
    assert 'id="beat-correct"' in client.get(rec.get_absolute_url()).content.decode()
    response = client.post(url, {"beats": "12", "label": "A"})
    beat = rec.beats.get(index=12)
    assert response.status_code == 302
    assert response.url == f"{rec.get_absolute_url()}?start={int(beat.time_s)}#strip"
    assert beat.reviewed_label == "A" and beat.reviewed_by == users["alice"]
    bad = client.post(url, {"beats": "x", "label": "A"}, follow=True)
    assert "whole numbers" in bad.content.decode()
    assert BeatCorrection.objects.count() == 1
    client.force_login(users["staff"])  # staff see the page, without the form
    page = client.get(rec.get_absolute_url()).content.decode()
    assert 'id="beat-correct"' not in page


def test_a_review_recounts_the_rhythm_episodes_and_keeps_the_models(rec, users):
    rec.summary = dict(rec.summary) | {"episodes": []}  # the model found no event
    rec.save(update_fields=["summary"])
    span = range(20, 32)  # V every second beat for 12 beats: ventricular bigeminy
    for label, parity in (("V", 0), ("N", 1)):
        indices = [i for i in span if i % 2 == parity]
        review_services.beat_correct(
            user=users["alice"], recording=rec, beat_indices=indices, label=label
        )
    rec.refresh_from_db()
    kinds = {e["kind"] for e in rec.summary["episodes"]}
    assert "bigeminy" in kinds
    assert rec.review["model_summary"]["episodes"] == []
    page = Client()
    page.force_login(users["alice"])
    html = page.get(rec.get_absolute_url()).content.decode()
    assert "Recounted with the reviewed classes" in html


# -- the label the user sees, everywhere (history filter, API ?label=) -----------------------


def test_history_class_filter_follows_the_reviewed_label_and_skips_uncertain(client, rec, users):
    history = reverse("pages:history")
    url = rec.get_absolute_url()
    client.force_login(users["alice"])

    def listed(code: str) -> bool:
        return url in client.get(history, {"predicted_class": code}).content.decode()

    # Beat 3 is uncertain: called R by the model, it must not list the recording under R.
    Beat.objects.filter(recording=rec, index=3).update(label="R", runner_up="N")
    assert not listed("R") and not listed("A") and listed("V")
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[4], label="A")
    assert listed("A")
    # Every beat the model called V reviewed as N: no longer a recording "with V beats".
    model_v = list(rec.beats.filter(label="V").values_list("index", flat=True))
    review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=model_v, label="N"
    )
    assert not listed("V") and listed("N")
    # A reviewed uncertain beat counts with the clinician's class.
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[3], label="R")
    assert listed("R")
    # Someone else's recording is never listed, whatever the class.
    client.force_login(users["bob"])
    assert not listed("A") and not listed("R")


def test_api_beats_label_filter_is_the_shown_class(rec, users):
    url = reverse("api:recording-beats", args=[rec.pk])
    client = api(users["alice"])

    def indices(code: str) -> set[int]:
        found, page = set(), client.get(url, {"label": code})
        while True:
            assert page.status_code == 200, page.content
            body = page.json()
            found |= {b["index"] for b in body["results"]}
            if not body.get("next"):
                return found
            page = client.get(body["next"])

    uncertain = rec.beats.get(index=3)
    assert uncertain.state == "uncertain" and 3 not in indices(uncertain.label)
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1], label="V")
    assert 1 in indices("V") and 1 not in indices("N")  # model said N, the clinician V
    assert rec.beats.get(index=1).label == "N"
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[3], label="A")
    assert indices("A") == {3}
    assert api(users["bob"]).get(url, {"label": "A"}).status_code == 404


# -- suggestions follow later corrections -------------------------------------------------------


def test_suggestions_are_recomputed_after_a_later_correction(client, rec, users):
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6 and b.index % 11 != 10]
    mistaken = [b.index for b in rec.beats.all() if b.index % 11 == 10 and b.index % 7 != 6]
    alice = users["alice"]
    # No suggestion asked for: a correction computes none.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=mistaken[:1], label="N")
    assert not rec.beats.exclude(suggested_label="").exists()
    review_services.beats_suggest(user=alice, recording=rec)
    rec.refresh_from_db()
    assert rec.review["suggestions"]["learned_from"] == 1
    assert all(rec.beats.get(index=i).suggested_label == "" for i in wide)
    # The clinician says one wide beat is an L: the other wide beats follow without a new press.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[:1], label="L")
    beats = {b.index: b for b in rec.beats.all()}
    assert all(beats[i].suggested_label == "L" for i in wide[1:])
    assert all(beats[i].suggested_label == "N" for i in mistaken[1:])
    assert beats[wide[0]].suggested_label == "" and beats[wide[0]].reviewed_label == "L"
    rec.refresh_from_db()
    assert rec.review["suggestions"]["learned_from"] == 2
    client.force_login(alice)
    html = client.get(reverse("recordings:templates", args=[rec.pk])).content.decode()
    assert "learned from 2 reviewed beats, recomputed after each correction" in html
    before = list(rec.beats.order_by("index").values_list("suggested_label", flat=True))
    # Someone else cannot correct, so nothing is recomputed or written.
    with pytest.raises(Http404):
        review_services.beat_correct(
            user=users["bob"], recording=rec, beat_indices=wide[1:2], label="N"
        )
    assert list(rec.beats.order_by("index").values_list("suggested_label", flat=True)) == before
    assert BeatCorrection.objects.count() == 2


def test_suggestions_that_cannot_be_recomputed_are_cleared_not_left_stale(
    client, rec, users, monkeypatch
):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10], label="N")
    review_services.beats_suggest(user=alice, recording=rec)
    assert rec.beats.exclude(suggested_label="").exists()

    def unreadable(*args, **kwargs):
        raise OSError("lead gone")

    monkeypatch.setattr(review_services, "beat_windows", unreadable)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[6], label="L")
    rec.refresh_from_db()
    assert rec.beats.get(index=6).reviewed_label == "L"  # the correction is kept
    assert not rec.beats.exclude(suggested_label="").exists()
    assert "suggestions" not in rec.review
    monkeypatch.undo()  # (the templates page reads the lead to group the beats)
    client.force_login(alice)
    html = client.get(reverse("recordings:templates", args=[rec.pk])).content.decode()
    assert "suggested from your corrections" not in html


def test_templates_page_lists_the_beats_to_confirm_first(client, rec, users):
    client.force_login(users["alice"])
    html = client.get(reverse("recordings:templates", args=[rec.pk])).content.decode()
    grouping = TemplateGrouping.objects.get(recording=rec)
    listed = review_selectors.beats_to_confirm_first(recording=rec, grouping=grouping)
    n = min(review_selectors.CONFIRM_FIRST, rec.beat_count)
    assert len(listed) == n == len({b["index"] for b in listed})  # no beat twice
    # Each group's typical beat comes first, largest group first, then the other reasons.
    medoids = [g["medoid"] for g in grouping.groups][:10]
    assert [b["index"] for b in listed[: len(medoids)]] == medoids
    assert listed[0]["why"] == "typical beat of group 1"
    assert {b["why"] for b in listed[len(medoids) :]} <= {
        review_selectors.CONFIRM_WHY["premature"], review_selectors.CONFIRM_WHY["uncertain"]
    }  # fmt: skip
    assert f"Confirm these {n} beats first" in html
    assert review_selectors.confirm_first_reasons().replace("'", "&#x27;") in html
    if not confirm_first.PREMATURE_BEATS:  # the page names only the reasons it lists
        assert "early beats" not in html
        assert review_selectors.CONFIRM_WHY["premature"] not in {b["why"] for b in listed}
    for b in listed:
        assert f"beat {b['index']} at" in html
    # a confirmed beat says so on the list
    review_services.beat_correct(
        user=users["alice"], recording=rec, beat_indices=[listed[0]["index"]], label="N"
    )
    html = client.get(reverse("recordings:templates", args=[rec.pk])).content.decode()
    assert "reviewed N ✓" in html


def test_no_a_is_suggested_inside_an_af_episode(rec, users, monkeypatch):
    # Atrial premature beats are not defined in AF (ecg.features.af_context): the suggestions
    # read A inside the summary's AF episodes as N, as the analysis reads the model.
    def every_beat_atrial(morphology, rr, probs, confirmed, confirmed_labels, classes, **_):
        out = np.zeros(np.asarray(probs).shape)
        out[:, classes.index("A")], out[:, classes.index("N")] = 0.7, 0.3
        return out

    monkeypatch.setattr(review_services, "teach", every_beat_atrial)
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0], label="N")
    af = {"kind": "AF", "label": "AF", "start_s": 0.0, "end_s": 30.0, "duration_s": 30.0}
    rec.summary = rec.summary | {"episodes": [af | {"beats": 30}]}
    rec.save(update_fields=["summary"])
    review_services.beats_suggest(user=users["alice"], recording=rec)
    normal = [b for b in rec.beats.order_by("index") if b.label == "N" and b.index != 0]
    normal = [b for b in normal if b.state != "unreadable"]
    inside = [b for b in normal if b.time_s <= 30.0]
    outside = [b for b in normal if b.time_s > 30.0]
    assert inside and all(b.suggested_label == "" for b in inside)  # N stays N: no suggestion
    assert outside and all(b.suggested_label == "A" for b in outside)
