"""Undo of one older review action alone ("Undo this action", issue 20): exactly the beats it
changed that no later action changed again go back; the others keep their later label; the
revert is an action of its own (undone by Undo, redone by Redo); the owner only."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from recordings import review_action_selectors, review_services
from recordings.errors import ActionNotUndoable
from recordings.models import BeatCorrection, Recording, ReviewAction

from .review_data import done_recording
from .test_review_undo import counts, shown, wide_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return done_recording(users["alice"])


def latest(recording: Recording) -> ReviewAction:
    return recording.review_actions.order_by("-id").first()


def history_of(recording: Recording) -> dict[int, dict]:
    return {
        row["id"]: row for row in review_action_selectors.review_action_history(recording=recording)
    }


def test_undo_an_older_action_without_overlap(rec, users):
    alice = users["alice"]
    model = shown(rec)
    model_output = list(rec.beats.order_by("index").values_list("label", "state", "runner_up"))
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1, 2], label="V")
    first = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10, 11], label="A")
    second = latest(rec)
    rows = BeatCorrection.objects.count()

    result = review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    assert (result["beats"], result["kept"], result["total"]) == (3, 0, 3)
    # Beats 0-2 show the model's answer again; 10 and 11 keep the later correction.
    now = {i: (label, by) for i, label, by, _s in shown(rec)}
    assert [now[i] for i in (0, 1, 2)] == [("", None)] * 3
    assert now[10] == now[11] == ("A", alice.pk)
    assert [row for row in shown(rec) if row[0] not in (10, 11)] == [
        row for row in model if row[0] not in (10, 11)
    ]
    # Counts as if only the second correction had been made.
    rec.refresh_from_db()
    assert rec.review["beats_reviewed"] == 2 and counts(rec)["A"] == 2
    # Audit trail: nothing deleted, the revert is an action with a row per beat put back.
    revert = result["by"]
    assert (revert.kind, revert.reverts_id, revert.created_by) == ("revert", first.pk, alice)
    assert BeatCorrection.objects.count() == rows + 3
    assert BeatCorrection.objects.filter(action=first).count() == 3
    assert ReviewAction.objects.count() == 3  # both corrections kept beside the revert
    # The model's own output is never written.
    assert list(rec.beats.order_by("index").values_list("label", "state", "runner_up")) == (
        model_output
    )
    states = review_action_selectors.review_action_states(recording=rec)
    assert states[first.pk] == "undone_alone" and states[second.pk] == "in_effect"
    history = history_of(rec)
    assert history[first.pk]["refusal"] == "This action has already been undone."
    assert history[second.pk]["refusal"] == ""
    assert history[revert.pk]["description"] == ("undo of “3 beats → V” alone: 3 beats put back")
    # Undone alone already: refused, nothing written.
    with pytest.raises(ActionNotUndoable, match="already been undone"):
        review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    assert BeatCorrection.objects.count() == rows + 3


def test_undo_an_older_group_relabel_keeps_beats_changed_later(rec, users):
    alice = users["alice"]
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[:1], label="R")
    before_relabel = shown(rec)
    group = wide_group(rec, alice)
    n = review_services.template_group_relabel(user=alice, recording=rec, group=group, label="A")
    relabel = latest(rec)
    # Later: two beats of the group reviewed again, one beat elsewhere confirmed.
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[1:3], label="L")
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0], label="N")
    after_later = shown(rec)
    assert history_of(rec)[relabel.pk]["description"] == (
        f"relabelled group {group + 1} ({n} beats) V, R → A"
    )
    assert history_of(rec)[latest(rec).pk]["description"] == "confirmed beat 0 as N"

    result = review_services.review_action_revert(user=alice, recording=rec, action_id=relabel.pk)
    assert (result["beats"], result["kept"], result["total"]) == (n - 2, 2, n)
    now = {i: (label, by) for i, label, by, _s in shown(rec)}
    old = {i: (label, by) for i, label, by, _s in before_relabel}
    assert now[wide[0]] == ("R", alice.pk) == old[wide[0]]  # its earlier review is back
    assert now[wide[1]] == now[wide[2]] == ("L", alice.pk)  # changed later: kept
    assert all(now[i] == old[i] for i in wide[3:])  # the model's answer again
    assert now[0] == ("N", alice.pk)
    assert counts(rec)["A"] == 0 and counts(rec)["L"] == 2
    revert = result["by"]
    assert revert.detail == {"kept": 2, "of": n}
    assert history_of(rec)[revert.pk]["description"].endswith(
        f"{n - 2} beats put back, 2 kept their later label"
    )

    # The revert is the latest action: Undo undoes it, exactly, and Redo redoes it.
    assert review_action_selectors.review_action_undoable(recording=rec).pk == revert.pk
    review_services.review_action_undo(user=alice, recording=rec)
    assert shown(rec) == after_later
    assert review_action_selectors.review_action_states(recording=rec)[relabel.pk] == "in_effect"
    assert review_action_selectors.review_action_to_redo(recording=rec).pk == revert.pk
    reverted = {i: (label, by) for i, label, by, _s in shown(rec)} | now
    review_services.review_action_redo(user=alice, recording=rec)
    assert {i: (label, by) for i, label, by, _s in shown(rec)} == reverted
    assert review_action_selectors.review_action_states(recording=rec)[relabel.pk] == "undone_alone"


def test_undo_alone_of_an_undo_alone(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[1, 2], label="V")
    first = latest(rec)
    after_first = shown(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[20], label="A")
    revert = review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[30], label="L")
    # The revert undone alone (a later action came after it): the first correction is back.
    again = review_services.review_action_revert(
        user=alice, recording=rec, action_id=revert["by"].pk
    )
    assert (again["beats"], again["kept"]) == (2, 0)
    now = {i: (label, by) for i, label, by, _s in shown(rec)}
    assert now[1] == now[2] == ("V", alice.pk) and now[20][0] == "A" and now[30][0] == "L"
    assert all(now[i] == (label, by) for i, label, by, _s in after_first if i not in (20, 30))
    states = review_action_selectors.review_action_states(recording=rec)
    assert states[first.pk] == "in_effect" and states[revert["by"].pk] == "undone_alone"
    # ... so the first correction can be undone alone once more.
    third = review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    assert third["beats"] == 2 and rec.beats.get(index=1).reviewed_label == ""


def test_undo_alone_of_the_latest_action_is_undo(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[5], label="A")
    action = latest(rec)
    result = review_services.review_action_revert(user=alice, recording=rec, action_id=action.pk)
    assert result["by"].kind == "undo" and result["by"].undoes_id == action.pk
    assert rec.beats.get(index=5).reviewed_label == ""
    assert review_action_selectors.review_action_to_redo(recording=rec).pk == action.pk


def test_what_cannot_be_undone_alone(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10], label="N")
    review_services.beats_suggest(user=alice, recording=rec)
    suggest = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[4, 5], label="A")
    covered = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[4, 5], label="L")
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[6], label="R")
    review_services.review_action_undo(user=alice, recording=rec)
    undo = latest(rec)
    before, rows = shown(rec), BeatCorrection.objects.count()
    cases = [
        (suggest.pk, "re-classification can be undone only while it is the latest"),
        (covered.pk, "All 2 beats of this action were changed again later"),
        (undo.pk, "taken back with Redo"),
        (undo.undoes_id, "already been undone"),
    ]
    for pk, message in cases:
        with pytest.raises(ActionNotUndoable, match=message):
            review_services.review_action_revert(user=alice, recording=rec, action_id=pk)
    other = done_recording(alice)
    review_services.beat_correct(user=alice, recording=other, beat_indices=[1], label="V")
    for pk in (latest(other).pk, 10**6, "x"):  # another recording's action, none, not a number
        with pytest.raises(Http404):
            review_services.review_action_revert(user=alice, recording=rec, action_id=pk)
    assert shown(rec) == before and BeatCorrection.objects.count() == rows + 1


def test_only_the_owner_undoes_an_action_alone(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[1], label="V")
    first = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[2], label="V")
    before, rows, actions = shown(rec), BeatCorrection.objects.count(), ReviewAction.objects.count()
    for intruder in ("bob", "staff"):
        with pytest.raises(Http404):
            review_services.review_action_revert(
                user=users[intruder], recording=rec, action_id=first.pk
            )
    assert shown(rec) == before
    assert (BeatCorrection.objects.count(), ReviewAction.objects.count()) == (rows, actions)


def test_page_lists_the_actions_and_undoes_one_alone(rec, users, client):
    alice = users["alice"]
    client.force_login(alice)
    group = wide_group(rec, alice)
    wide = [b.index for b in rec.beats.all() if b.index % 7 == 6]
    n = review_services.template_group_relabel(user=alice, recording=rec, group=group, label="A")
    relabel = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=wide[:3], label="L")
    templates = reverse("recordings:templates", args=[rec.pk])
    page = client.get(templates).content.decode()
    assert 'id="review-history"' in page
    assert f"relabelled group {group + 1} ({n} beats) V → A" in page
    assert "corrected 3 beats A → L" in page
    url = reverse("recordings:action_undo", args=[rec.pk, relabel.pk])
    assert page.count("Undo this action</button>") == 2 and f'action="{url}"' in page

    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == f"{templates}#review-history"
    page = response.content.decode()
    assert (
        f"Undone: {n} beats of group {group + 1} → A. 3 of {n} beats were changed again later "
        "and kept their later label." in page
    )
    assert "undone alone" in page and "(undo of an older action)" in page
    assert counts(rec)["A"] == 0 and counts(rec)["L"] == 3
    # Pressed again (a second tab): a message, nothing written.
    rows = BeatCorrection.objects.count()
    again = client.post(url, follow=True).content.decode()
    assert "This action has already been undone." in again
    assert BeatCorrection.objects.count() == rows
    # Anyone else: 404, nothing written; staff see no history on the recording.
    for intruder in ("bob", "staff"):
        client.force_login(users[intruder])
        other = reverse("recordings:action_undo", args=[rec.pk, latest(rec).pk])
        assert client.post(other).status_code == 404
        assert client.get(templates).status_code == 404
    assert BeatCorrection.objects.count() == rows


def test_api_lists_actions_and_undoes_one_alone(rec, users, client):
    alice = users["alice"]
    api = APIClient()
    api.force_authenticate(alice)
    model_counts = counts(rec)
    corrections = reverse("api:recording-corrections", args=[rec.pk])
    api.post(corrections, {"beats": [1, 2, 3], "label": "A"}, format="json")
    api.post(corrections, {"beats": [3, 4], "label": "L"}, format="json")
    listed = api.get(reverse("api:recording-correction-actions", args=[rec.pk]))
    assert listed.status_code == 200, listed.content
    newest, oldest = listed.json()["results"]
    assert (newest["kind"], newest["state"], newest["can_undo"]) == ("correct", "in_effect", True)
    assert oldest["description"].startswith("corrected 3 beats") and oldest["can_undo"]
    assert newest["created_by"] == "alice"

    url = reverse("api:recording-correction-action-undo", args=[rec.pk, oldest["id"]])
    for intruder in ("bob", "staff"):  # 404 for anyone else, nothing written
        other = APIClient()
        other.force_authenticate(users[intruder])
        assert other.post(url).status_code == 404
        actions_url = reverse("api:recording-correction-actions", args=[rec.pk])
        assert other.get(actions_url).status_code == 404
    assert ReviewAction.objects.count() == 2

    response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["beats_put_back"], body["beats_kept"]) == (2, 1)
    assert body["by"]["kind"] == "revert" and body["next_undo"]["id"] == body["by"]["id"]
    assert "1 of 3 beats was changed again later" in body["message"]
    summary_counts = {r["code"]: r["count"] for r in body["summary"]["classes"]}
    assert summary_counts == counts(rec) and counts(rec)["A"] == 0 and counts(rec)["L"] == 2
    assert summary_counts["N"] == model_counts["N"] - 1  # beat 4 was N (3 uncertain): now L
    assert body["beats_reviewed"] == 2
    # The CSV follows: beats 1 and 2 not reviewed any more, 3 and 4 still L.
    client.force_login(alice)
    export = client.get(reverse("recordings:csv", args=[rec.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    col = rows[0].index("reviewed_class")
    assert [rows[i + 1][col] for i in (1, 2, 3, 4)] == ["", "", "L", "L"]
    # Errors: already undone (409), an undo (409), another recording's action or none (404).
    again = api.post(url)
    assert again.status_code == 409 and again.json()["code"] == "action_not_undoable"
    api.post(reverse("api:recording-corrections-undo", args=[rec.pk]))
    undo = latest(rec)
    step = api.post(reverse("api:recording-correction-action-undo", args=[rec.pk, undo.pk]))
    assert step.status_code == 409 and "Redo" in step.json()["message"]
    other_rec = done_recording(alice)
    review_services.beat_correct(user=alice, recording=other_rec, beat_indices=[1], label="V")
    for pk in (latest(other_rec).pk, 10**6):
        missing = reverse("api:recording-correction-action-undo", args=[rec.pk, pk])
        assert api.post(missing).status_code == 404


def test_the_action_endpoints_are_in_the_schema(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listed = schema["paths"]["/api/v1/recordings/{id}/corrections/actions/"]
    undo = schema["paths"]["/api/v1/recordings/{id}/corrections/actions/{action_id}/undo/"]
    assert "get" in listed and "post" in undo
    assert {"200", "404", "409"} <= set(undo["post"]["responses"])


def test_a_later_change_that_was_undone_does_not_keep_a_beat(rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[1, 2], label="V")
    first = latest(rec)
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[2], label="L")
    review_services.review_action_undo(user=alice, recording=rec)  # beat 2 back to V
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[2], label="V")
    confirmed = latest(rec)  # a later action giving the same class: it counts as a change
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[1], label="A")
    review_services.review_action_undo(user=alice, recording=rec)  # beat 1 back to V
    result = review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    assert (result["beats"], result["kept"]) == (1, 1)
    assert rec.beats.get(index=1).reviewed_label == ""  # the undone later change: put back
    assert rec.beats.get(index=2).reviewed_label == "V"  # the confirmation: kept
    assert review_action_selectors.review_action_states(recording=rec)[confirmed.pk] == "in_effect"
