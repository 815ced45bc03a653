"""Undo of the clinician's review actions (issue 20): one action -- a correction, a group
relabel, a re-classification -- undone in one go, restoring exactly what each beat showed
before, recorded in the audit trail, for the recording's owner only."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from recordings import review_action_selectors, review_services
from recordings.errors import NothingToUndo
from recordings.models import Beat, BeatCorrection, Recording, ReviewAction

from .review_data import done_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return done_recording(users["alice"])


def counts(recording: Recording) -> dict[str, int]:
    recording.refresh_from_db()
    return {row["code"]: row["count"] for row in recording.summary["classes"]}


def shown(recording: Recording) -> list[tuple[int, str, int | None, str]]:
    """What every beat shows: index, reviewed label, reviewer, suggestion."""
    return list(
        recording.beats.order_by("index").values_list(
            "index", "reviewed_label", "reviewed_by_id", "suggested_label"
        )
    )


def wide_group(recording: Recording, user) -> int:
    """The template group of the wide beats (the model calls them V)."""
    grouping = review_services.template_grouping_get_or_create(user=user, recording=recording)
    return max(range(len(grouping.groups)), key=lambda g: grouping.groups[g]["indices"][0] % 7)


def test_undo_a_group_relabel_restores_earlier_corrections_and_suggestions(rec, users):
    alice = users["alice"]
    model_counts = counts(rec)
    mistaken = [b.index for b in rec.beats.all() if b.index % 11 == 10 and b.index % 7 != 6]
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    # Earlier work: one mistaken V reviewed as N, one wide beat as L; suggestions asked for.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=mistaken[:1], label="N")
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[2:3], label="L")
    review_services.beats_suggest(user=alice, recording=rec)
    before = shown(rec)
    before_counts, before_suggestions = counts(rec), rec.review["suggestions"]["learned_from"]
    assert any(s == "L" for *_, s in before) and any(s == "N" for *_, s in before)
    # The mistake: the whole wide group relabelled as A.
    group = wide_group(rec, alice)
    n = review_services.template_group_relabel(user=alice, recording=rec, group=group, label="A")
    assert n >= 5 and counts(rec)["A"] == n
    action = review_action_selectors.review_action_undoable(recording=rec)
    assert (
        review_action_selectors.review_action_describe(action)
        == f"{n} beats of group {group + 1} → A"
    )

    undone = review_services.review_action_undo(user=alice, recording=rec)
    assert undone.pk == action.pk
    # Exactly what was shown before: wide[2] reviewed L again, the others unreviewed, and the
    # suggestions recomputed from the same corrections as before.
    assert shown(rec) == before
    assert counts(rec) == before_counts != model_counts
    rec.refresh_from_db()
    assert rec.review["beats_reviewed"] == 2
    assert rec.review["suggestions"]["learned_from"] == before_suggestions
    # The audit trail keeps the relabel and records the undo: who, when, what was undone.
    undo = ReviewAction.objects.get(kind="undo")
    assert undo.undoes_id == action.pk and undo.created_by == alice and undo.beat_count == n
    rows = BeatCorrection.objects.filter(action=undo)
    assert rows.count() == n == BeatCorrection.objects.filter(action=action).count()
    restored = dict(rows.values_list("beat__index", "label"))
    assert restored[wide[2]] == "L" and {restored[i] for i in restored if i != wide[2]} == {""}
    assert {r.previous_label for r in rows} == {"A"}
    assert set(rows.values_list("created_by", flat=True)) == {alice.pk}


def test_undo_twice_then_nothing_left(rec, users):
    alice = users["alice"]
    model_summary = dict(rec.summary)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0], label="V")
    after_first = shown(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1], label="A")
    assert review_services.review_action_undo(user=alice, recording=rec).label == "A"
    assert shown(rec) == after_first
    assert review_services.review_action_undo(user=alice, recording=rec).label == "V"
    rec.refresh_from_db()
    # Every review undone: no beat reviewed, the model's own summary back as it was written.
    assert not rec.beats.exclude(reviewed_label="").exists()
    assert rec.review["beats_reviewed"] == 0 and rec.review["reviewers"] == []
    assert rec.summary["classes"] == model_summary["classes"]
    assert rec.summary["states"] == model_summary["states"]
    actions, rows = ReviewAction.objects.count(), BeatCorrection.objects.count()
    with pytest.raises(NothingToUndo, match="Nothing to undo"):
        review_services.review_action_undo(user=alice, recording=rec)
    assert (ReviewAction.objects.count(), BeatCorrection.objects.count()) == (actions, rows)
    # A new correction after the undos can be undone in its turn.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[5], label="R")
    review_services.review_action_undo(user=alice, recording=rec)
    assert rec.beats.get(index=5).reviewed_label == ""


def test_undo_a_reclassification_puts_back_the_suggestions_before_it(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10], label="N")
    review_services.beats_suggest(user=alice, recording=rec)
    assert rec.beats.exclude(suggested_label="").exists()
    action = review_action_selectors.review_action_undoable(recording=rec)
    assert action.kind == "suggest"
    assert review_action_selectors.review_action_describe(action).startswith("re-classification")
    review_services.review_action_undo(user=alice, recording=rec)
    rec.refresh_from_db()
    assert not rec.beats.exclude(suggested_label="").exists()
    assert "suggestions" not in rec.review
    assert rec.beats.get(index=10).reviewed_label == "N"  # the correction stays
    # No longer asked for: the next correction computes none.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[21], label="N")
    assert not rec.beats.exclude(suggested_label="").exists()


def test_only_the_owner_undoes(rec, users, client):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1], label="V")
    before, rows = shown(rec), BeatCorrection.objects.count()
    api_url = reverse("api:recording-corrections-undo", args=[rec.pk])
    for intruder in ("bob", "staff"):
        with pytest.raises(Http404):
            review_services.review_action_undo(user=users[intruder], recording=rec)
        client.force_login(users[intruder])
        assert client.post(reverse("recordings:undo", args=[rec.pk])).status_code == 404
        api = APIClient()
        api.force_authenticate(users[intruder])
        assert api.post(api_url).status_code == 404 and api.get(api_url).status_code == 404
    assert shown(rec) == before and BeatCorrection.objects.count() == rows
    assert not ReviewAction.objects.filter(kind="undo").exists()
    client.force_login(users["staff"])  # staff see the recording, without the Undo button
    assert 'id="review-undo"' not in client.get(rec.get_absolute_url()).content.decode()


def test_undo_buttons_on_the_templates_page_and_the_strip(rec, users, client):
    alice = users["alice"]
    client.force_login(alice)
    templates = reverse("recordings:templates", args=[rec.pk])
    undo = reverse("recordings:undo", args=[rec.pk])
    assert 'id="review-undo"' not in client.get(templates).content.decode()
    # Nothing to undo: a message, no error page.
    nothing = client.post(undo, follow=True)
    assert nothing.status_code == 200 and "Nothing to undo" in nothing.content.decode()
    group = wide_group(rec, alice)
    client.post(reverse("recordings:template_relabel", args=[rec.pk, group]), {"label": "V"})
    n = rec.beats.filter(reviewed_label="V").count()
    html = client.get(templates).content.decode()
    assert f"Undo: {n:,} beats of group {group + 1} → V" in html
    response = client.post(undo, {"back": "templates"}, follow=True)
    assert response.redirect_chain[-1][0] == templates
    page = response.content.decode()
    assert f"Undone: {n:,} beats of group {group + 1} → V" in page
    assert "No beat reviewed yet." in page and 'id="review-undo"' not in page
    assert "the model's class (undo)" in page  # the undo's rows in the latest corrections
    # The strip's beat panel: one beat corrected there, undone from there.
    client.post(reverse("recordings:correct", args=[rec.pk]), {"beats": "12", "label": "A"})
    detail = client.get(rec.get_absolute_url()).content.decode()
    assert 'id="review-undo"' in detail and "Undo: beat 12 → A" in detail
    back = client.post(undo, {"back": "strip"})
    assert back.url == f"{rec.get_absolute_url()}#strip"
    assert rec.beats.get(index=12).reviewed_label == ""


def test_api_undo_counts_csv_and_trail(rec, users, client):
    alice = users["alice"]
    api = APIClient()
    api.force_authenticate(alice)
    url = reverse("api:recording-corrections-undo", args=[rec.pk])
    model_counts = counts(rec)
    assert api.get(url).json() == {"undo": None}
    nothing = api.post(url)
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_undo"
    corrections = reverse("api:recording-corrections", args=[rec.pk])
    api.post(corrections, {"beats": [1, 2], "label": "V"}, format="json")
    pending = api.get(url).json()["undo"]
    assert (pending["kind"], pending["description"], pending["beat_count"]) == (
        "correct",
        "2 beats → V",
        2,
    )
    response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["undone"]["id"] == pending["id"] and body["next_undo"] is None
    assert body["beats_reviewed"] == 0
    assert {r["code"]: r["count"] for r in body["summary"]["classes"]} == model_counts
    assert counts(rec) == model_counts
    # The audit trail: the correction's rows and the undo's rows, each with its action.
    trail = api.get(corrections).json()["results"]
    assert len(trail) == 4 and len({row["action"] for row in trail}) == 2
    assert sorted(row["label"] for row in trail) == ["", "", "V", "V"]
    assert api.post(url).status_code == 409  # undone already: nothing left
    # The CSV follows the undone state: no reviewed class on beats 1 and 2.
    client.force_login(alice)
    export = client.get(reverse("recordings:csv", args=[rec.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    col = rows[0].index("reviewed_class")
    assert [rows[i][col] for i in (2, 3)] == ["", ""]
    assert not Beat.objects.filter(recording=rec).exclude(reviewed_label="").exists()


def test_the_undo_endpoint_is_in_the_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    path = schema["paths"]["/api/v1/recordings/{id}/corrections/undo/"]
    assert {"get", "post"} <= set(path)
    assert "409" in path["post"]["responses"]
