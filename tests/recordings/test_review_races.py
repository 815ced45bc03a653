"""Review writes racing (issue 20): each relabel, undo, redo and "Undo this action" decides and
writes under one lock of the recording (``review_services._lock``), so two requests for the
same action cannot both apply, and what a write reads is what the write before it left.

The race is simulated deterministically: ``racing`` makes another request run to its end just
before this one opens its transaction, after everything it read before (the page, the
action); then this one decides. On PostgreSQL a test with two real threads runs too (skipped
on SQLite, whose IMMEDIATE transactions serialise writers; CI runs the suite on both)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from recordings import review_action_selectors, review_services
from recordings.errors import ActionNotUndoable, NothingToRedo, NothingToUndo
from recordings.models import BeatCorrection, Recording, ReviewAction

from .review_data import done_recording
from .test_review_undo import counts, shown

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return done_recording(users["alice"])


def racing(monkeypatch, other: Callable[[], object]) -> list:
    """Make ``other`` (a whole request) run and commit just before the next review write opens
    its transaction, after everything that write read before (the page, the action): the
    write must decide anew from what it reads inside. Returns [True, what ``other`` returned]."""
    real = transaction.atomic
    done: list = []

    def atomic(*args, **kwargs):
        if not done:
            done.append(True)
            done.append(other())  # the racer's own transaction ends before this one begins
        return real(*args, **kwargs)

    monkeypatch.setattr(review_services, "transaction", SimpleNamespace(atomic=atomic))
    return done


def written(recording: Recording) -> tuple[int, int]:
    return ReviewAction.objects.filter(recording=recording).count(), BeatCorrection.objects.count()


def two_corrections(rec: Recording, alice) -> tuple[ReviewAction, ReviewAction]:
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1, 2], label="V")
    first = rec.review_actions.order_by("-id").first()
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[10, 11], label="A")
    return first, rec.review_actions.order_by("-id").first()


def test_two_undos_of_one_action_alone_racing_only_one_applies(rec, users, monkeypatch):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    race = racing(
        monkeypatch,
        lambda: review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk),
    )
    # Both requests found the action in effect before either wrote (the page showed it).
    with pytest.raises(ActionNotUndoable, match="already been undone"):
        review_services.review_action_revert(user=alice, recording=rec, action_id=first.pk)
    assert race[1]["beats"] == 3  # the racer undid it
    reverts = ReviewAction.objects.filter(kind=ReviewAction.Kind.REVERT, reverts=first)
    assert reverts.count() == 1
    assert BeatCorrection.objects.filter(action__kind=ReviewAction.Kind.REVERT).count() == 3
    states = review_action_selectors.review_action_states(recording=rec)
    assert states[first.pk] == "undone_alone" and states[second.pk] == "in_effect"


def test_undo_alone_of_the_latest_racing_an_undo_is_refused(rec, users, monkeypatch):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    racing(monkeypatch, lambda: review_services.review_action_undo(user=alice, recording=rec))
    with pytest.raises(ActionNotUndoable, match="already been undone"):
        review_services.review_action_revert(user=alice, recording=rec, action_id=second.pk)
    # One undo (the racer's); the older correction was not undone in its place.
    assert ReviewAction.objects.filter(kind=ReviewAction.Kind.UNDO).count() == 1
    assert review_action_selectors.review_action_undoable(recording=rec).pk == first.pk


def test_two_presses_of_one_undo_button_undo_one_action(rec, users, monkeypatch):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    race = racing(
        monkeypatch,
        lambda: review_services.review_action_undo(user=alice, recording=rec, expected=second.pk),
    )
    before = written(rec)
    with pytest.raises(NothingToUndo, match="just been undone"):
        review_services.review_action_undo(user=alice, recording=rec, expected=second.pk)
    assert race[1].pk == second.pk
    assert written(rec) == (before[0] + 1, before[1] + 2)  # the racer's undo only
    assert review_action_selectors.review_action_undoable(recording=rec).pk == first.pk
    assert dict((i, r) for i, r, _b, _s in shown(rec))[0] == "V"  # the first still in effect


def test_two_presses_of_one_redo_button_redo_one_action(rec, users, monkeypatch):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    review_services.review_action_undo(user=alice, recording=rec)
    review_services.review_action_undo(user=alice, recording=rec)
    assert review_action_selectors.review_action_to_redo(recording=rec).pk == first.pk
    racing(
        monkeypatch,
        lambda: review_services.review_action_redo(user=alice, recording=rec, expected=first.pk),
    )
    before = written(rec)
    with pytest.raises(NothingToRedo, match="just been redone"):
        review_services.review_action_redo(user=alice, recording=rec, expected=first.pk)
    assert written(rec) == (before[0] + 1, before[1] + 3)  # the racer's redo of 3 beats only
    # The second correction was not redone in its place: it is what Redo names now.
    assert review_action_selectors.review_action_to_redo(recording=rec).pk == second.pk


def test_two_relabels_racing_each_keeps_what_the_other_wrote(rec, users, monkeypatch):
    alice = users["alice"]
    racing(
        monkeypatch,
        lambda: review_services.beat_correct(
            user=alice, recording=rec, beat_indices=[0, 1], label="A"
        ),
    )
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1], label="V")
    latest = rec.review_actions.order_by("-id").first()
    # What the later write stored as "before" is the racer's A, read under the lock...
    rows = latest.corrections.values_list("previous_reviewed_label", "previous_label")
    assert sorted(rows) == [("A", "A"), ("A", "A")]
    assert rec.review["beats_reviewed"] == 2 and counts(rec)["V"] >= 2
    # ... so its undo shows the racer's correction again, not the model's answer.
    review_services.review_action_undo(user=alice, recording=rec)
    now = {i: (r, b) for i, r, b, _s in shown(rec)}
    assert now[0] == now[1] == ("A", alice.pk)
    rec.refresh_from_db()
    assert rec.review["beats_reviewed"] == 2


def test_suggestions_computed_while_a_correction_landed_are_computed_again(rec, users, monkeypatch):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1], label="N")
    racing(
        monkeypatch,
        lambda: review_services.beat_correct(
            user=alice, recording=rec, beat_indices=[6], label="V"
        ),
    )
    result = review_services.beats_suggest(user=alice, recording=rec)
    # Learned from all three reviewed beats, the racer's included (computed again).
    assert result["learned_from"] == 3
    rec.refresh_from_db()
    assert rec.review["suggestions"]["learned_from"] == 3
    assert rec.review_actions.filter(kind=ReviewAction.Kind.SUGGEST).count() == 1


def test_the_undo_form_names_its_action_and_a_second_post_is_refused(client, rec, users):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    client.force_login(alice)
    page = client.get(rec.get_absolute_url()).content.decode()
    assert f'name="action" value="{second.pk}"' in page
    url = reverse("recordings:undo", args=[rec.pk])
    client.post(url, {"back": "strip", "action": second.pk})
    before = written(rec)
    response = client.post(url, {"back": "strip", "action": second.pk}, follow=True)
    assert "just been undone" in response.content.decode()
    assert written(rec) == before  # nothing written: the older correction is still in effect
    assert review_action_selectors.review_action_undoable(recording=rec).pk == first.pk


def test_api_undo_and_redo_refuse_a_stale_action(rec, users):
    alice = users["alice"]
    first, second = two_corrections(rec, alice)
    api = APIClient()
    api.force_authenticate(alice)
    base = f"/api/v1/recordings/{rec.pk}/corrections"
    assert api.post(f"{base}/undo/", {"action": second.pk}, format="json").status_code == 200
    before = written(rec)
    stale = api.post(f"{base}/undo/", {"action": second.pk}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "nothing_to_undo"
    assert written(rec) == before
    assert api.post(f"{base}/redo/", {"action": first.pk}, format="json").status_code == 409
    assert api.post(f"{base}/redo/", {"action": second.pk}, format="json").status_code == 200
    bad = api.post(f"{base}/undo/", {"action": "x"}, format="json")
    assert bad.status_code == 400
    assert written(rec) == (before[0] + 1, before[1] + 2)  # the redo only


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency: PostgreSQL row locks only"
)
def test_two_threads_undoing_one_action_alone_on_postgresql(settings, tmp_path, users):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = users["alice"]
    rec = done_recording(alice)
    first, _second = two_corrections(rec, alice)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press() -> None:
        from django.db import connection as thread_connection

        try:
            mine = Recording.objects.get(pk=rec.pk)
            barrier.wait(timeout=30)
            review_services.review_action_revert(user=alice, recording=mine, action_id=first.pk)
            outcomes.append("undone")
        except ActionNotUndoable:
            outcomes.append("refused")
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["refused", "undone"]
    assert ReviewAction.objects.filter(kind=ReviewAction.Kind.REVERT, reverts=first).count() == 1
