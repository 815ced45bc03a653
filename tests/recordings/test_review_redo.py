"""Redo of the clinician's review actions (issue 20): after undos, "Redo" re-applies the latest
undone action exactly, as an action of its own; a new action clears what can be redone; the
recording's owner only."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from recordings import review_action_selectors, review_services
from recordings.errors import NothingToRedo
from recordings.models import BeatCorrection, Recording, ReviewAction

from .review_data import done_recording
from .test_review_undo import counts, shown, wide_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return done_recording(users["alice"])


def redo_is(recording: Recording) -> ReviewAction | None:
    return review_action_selectors.review_action_to_redo(recording=recording)


def test_redo_reapplies_a_group_relabel_exactly_and_is_recorded(rec, users):
    alice = users["alice"]
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[2:3], label="L")
    group = wide_group(rec, alice)
    n = review_services.template_group_relabel(user=alice, recording=rec, group=group, label="A")
    after, after_counts = shown(rec), counts(rec)
    relabel = review_action_selectors.review_action_undoable(recording=rec)
    assert redo_is(rec) is None
    review_services.review_action_undo(user=alice, recording=rec)
    assert shown(rec) != after
    assert redo_is(rec).pk == relabel.pk

    redone = review_services.review_action_redo(user=alice, recording=rec)
    assert redone.pk == relabel.pk
    # Exactly what the relabel showed: labels, reviewer, counts.
    assert shown(rec) == after and counts(rec) == after_counts
    rec.refresh_from_db()
    assert rec.review["beats_reviewed"] == n
    redo = ReviewAction.objects.get(kind="redo")
    assert redo.redoes.undoes_id == relabel.pk and redo.created_by == alice
    assert (redo.label, redo.group, redo.beat_count) == ("A", group, n)
    rows = BeatCorrection.objects.filter(action=redo)
    assert rows.count() == n and set(rows.values_list("label", flat=True)) == {"A"}
    assert dict(rows.values_list("beat__index", "previous_label"))[wide[2]] == "L"
    assert (
        review_action_selectors.review_action_describe(redo)
        == f"{n} beats of group {group + 1} → A"
    )
    assert redo_is(rec) is None  # the redo stack is empty again
    with pytest.raises(NothingToRedo):
        review_services.review_action_redo(user=alice, recording=rec)


def test_undo_redo_undo_round_trips_in_stack_order(rec, users):
    alice = users["alice"]
    start = shown(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0], label="V")
    one = shown(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1], label="A")
    two, two_counts = shown(rec), counts(rec)
    review_services.review_action_undo(user=alice, recording=rec)
    review_services.review_action_undo(user=alice, recording=rec)
    assert shown(rec) == start
    # Redo re-applies the most recently undone first: V, then A.
    assert review_services.review_action_redo(user=alice, recording=rec).label == "V"
    assert shown(rec) == one
    assert review_services.review_action_redo(user=alice, recording=rec).label == "A"
    assert shown(rec) == two and counts(rec) == two_counts
    # Undo undoes the redo, and that undo can be redone again.
    for _ in range(2):
        assert review_services.review_action_undo(user=alice, recording=rec).kind == "redo"
        assert shown(rec) == one
        assert review_services.review_action_redo(user=alice, recording=rec).label == "A"
        assert shown(rec) == two
    review_services.review_action_undo(user=alice, recording=rec)
    review_services.review_action_undo(user=alice, recording=rec)
    assert shown(rec) == start
    assert not rec.beats.exclude(reviewed_label="").exists()
    # The audit trail only grew: 2 corrections, 6 undos, 4 redos... each with its rows.
    kinds = list(ReviewAction.objects.order_by("id").values_list("kind", flat=True))
    assert kinds.count("undo") == 6 and kinds.count("redo") == 4


def test_a_new_correction_clears_the_redo_stack(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[3], label="V")
    review_services.review_action_undo(user=alice, recording=rec)
    assert redo_is(rec) is not None
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[4], label="A")
    assert redo_is(rec) is None
    actions, rows = ReviewAction.objects.count(), BeatCorrection.objects.count()
    with pytest.raises(NothingToRedo, match="Nothing to redo"):
        review_services.review_action_redo(user=alice, recording=rec)
    assert (ReviewAction.objects.count(), BeatCorrection.objects.count()) == (actions, rows)
    assert rec.beats.get(index=3).reviewed_label == ""
    # Undoing the new correction does not bring the old undo back to the redo stack's top:
    # the redo is of the new correction.
    review_services.review_action_undo(user=alice, recording=rec)
    assert redo_is(rec).label == "A"


def test_redo_of_a_reclassification_puts_its_suggestions_back(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10], label="N")
    review_services.beats_suggest(user=alice, recording=rec)
    suggested = shown(rec)
    rec.refresh_from_db()
    marker = rec.review["suggestions"]
    assert any(s for *_, s in suggested)
    review_services.review_action_undo(user=alice, recording=rec)
    assert not rec.beats.exclude(suggested_label="").exists()
    assert review_services.review_action_redo(user=alice, recording=rec).kind == "suggest"
    rec.refresh_from_db()
    assert shown(rec) == suggested and rec.review["suggestions"] == marker
    review_services.review_action_undo(user=alice, recording=rec)  # the redo, undone
    rec.refresh_from_db()
    assert not rec.beats.exclude(suggested_label="").exists()
    assert "suggestions" not in rec.review


def test_only_the_owner_redoes(rec, users, client):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[1], label="V")
    review_services.review_action_undo(user=users["alice"], recording=rec)
    before, rows = shown(rec), BeatCorrection.objects.count()
    api_url = reverse("api:recording-corrections-redo", args=[rec.pk])
    for intruder in ("bob", "staff"):
        with pytest.raises(Http404):
            review_services.review_action_redo(user=users[intruder], recording=rec)
        client.force_login(users[intruder])
        assert client.post(reverse("recordings:redo", args=[rec.pk])).status_code == 404
        api = APIClient()
        api.force_authenticate(users[intruder])
        assert api.post(api_url).status_code == 404 and api.get(api_url).status_code == 404
    assert shown(rec) == before and BeatCorrection.objects.count() == rows
    assert not ReviewAction.objects.filter(kind="redo").exists()
    client.force_login(users["staff"])
    assert 'id="review-redo"' not in client.get(rec.get_absolute_url()).content.decode()


def test_redo_buttons_on_the_templates_page_and_the_strip(rec, users, client):
    alice = users["alice"]
    client.force_login(alice)
    templates = reverse("recordings:templates", args=[rec.pk])
    redo = reverse("recordings:redo", args=[rec.pk])
    nothing = client.post(redo, follow=True)
    assert nothing.status_code == 200 and "Nothing to redo" in nothing.content.decode()
    group = wide_group(rec, alice)
    client.post(reverse("recordings:template_relabel", args=[rec.pk, group]), {"label": "V"})
    n = rec.beats.filter(reviewed_label="V").count()
    assert 'id="review-redo"' not in client.get(templates).content.decode()
    client.post(reverse("recordings:undo", args=[rec.pk]), {"back": "templates"})
    html = client.get(templates).content.decode()
    assert f"Redo: {n:,} beats of group {group + 1} → V" in html
    response = client.post(redo, {"back": "templates"}, follow=True)
    assert response.redirect_chain[-1][0] == templates
    page = response.content.decode()
    assert f"Redone: {n:,} beats of group {group + 1} → V" in page
    assert 'id="review-redo"' not in page and "V (redo)" in page
    assert rec.beats.filter(reviewed_label="V").count() == n
    # The strip: a beat corrected, undone and redone from under the strip.
    client.post(reverse("recordings:correct", args=[rec.pk]), {"beats": "12", "label": "A"})
    client.post(reverse("recordings:undo", args=[rec.pk]), {"back": "strip"})
    detail = client.get(rec.get_absolute_url()).content.decode()
    assert 'id="review-redo"' in detail and "Redo: beat 12 → A" in detail
    assert "Ctrl+Shift+Z" in detail  # the shortcut is announced on the strip
    back = client.post(redo, {"back": "strip"})
    assert back.url == f"{rec.get_absolute_url()}#strip"
    assert rec.beats.get(index=12).reviewed_label == "A"


def test_api_redo_counts_csv_and_trail(rec, users, client):
    alice = users["alice"]
    api = APIClient()
    api.force_authenticate(alice)
    url = reverse("api:recording-corrections-redo", args=[rec.pk])
    assert api.get(url).json() == {"redo": None}
    nothing = api.post(url)
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_redo"
    corrections = reverse("api:recording-corrections", args=[rec.pk])
    api.post(corrections, {"beats": [1, 2], "label": "V"}, format="json")
    corrected_counts = counts(rec)
    api.post(reverse("api:recording-corrections-undo", args=[rec.pk]))
    pending = api.get(url).json()["redo"]
    assert (pending["kind"], pending["description"]) == ("correct", "2 beats → V")
    response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["redone"]["id"] == pending["id"] and body["next_redo"] is None
    assert body["next_undo"]["kind"] == "redo" and body["next_undo"]["description"] == "2 beats → V"
    assert body["beats_reviewed"] == 2 and body["reviewers"] == ["alice"]
    assert {r["code"]: r["count"] for r in body["summary"]["classes"]} == corrected_counts
    assert counts(rec) == corrected_counts
    trail = api.get(corrections).json()["results"]
    assert len(trail) == 6 and len({row["action"] for row in trail}) == 3
    assert api.post(url).status_code == 409
    client.force_login(alice)
    export = client.get(reverse("recordings:csv", args=[rec.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    col = rows[0].index("reviewed_class")
    assert [rows[i][col] for i in (2, 3)] == ["V", "V"]


def test_the_redo_endpoint_is_in_the_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    path = schema["paths"]["/api/v1/recordings/{id}/corrections/redo/"]
    assert {"get", "post"} <= set(path)
    assert "409" in path["post"]["responses"]


def test_redo_credits_each_beat_to_the_reviewer_the_redone_action_gave_it(rec, users):
    """A redo re-applies exactly: an undone revert that had put back labels of two reviewers
    gives each beat its own reviewer again, not the one who pressed Redo (the redo action and
    its rows record who pressed it). Two reviewers: the recording changed hands."""
    alice, bob = users["alice"], users["bob"]
    Recording.objects.filter(pk=rec.pk).update(owner=bob)
    rec.refresh_from_db()
    review_services.beat_correct(user=bob, recording=rec, beat_indices=[0], label="V")
    Recording.objects.filter(pk=rec.pk).update(owner=alice)
    rec.refresh_from_db()
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1], label="A")
    relabel = rec.review_actions.order_by("-id").first()
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[5], label="N")
    review_services.review_action_revert(user=alice, recording=rec, action_id=relabel.pk)
    put_back = {i: (r, b) for i, r, b, _s in shown(rec)}
    assert put_back[0] == ("V", bob.pk) and put_back[1] == ("", None)
    review_services.review_action_undo(user=alice, recording=rec)
    now = {i: (r, b) for i, r, b, _s in shown(rec)}
    assert now[0] == now[1] == ("A", alice.pk)
    review_services.review_action_redo(user=alice, recording=rec)
    assert {i: (r, b) for i, r, b, _s in shown(rec)} == put_back
    redo = rec.review_actions.order_by("-id").first()
    assert redo.kind == ReviewAction.Kind.REDO and redo.created_by == alice
    assert set(redo.corrections.values_list("created_by", flat=True)) == {alice.pk}
    rec.refresh_from_db()
    assert rec.review["reviewers"] == ["alice", "bob"]
