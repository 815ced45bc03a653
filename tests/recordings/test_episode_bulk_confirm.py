"""Confirm every episode of one kind that has no verdict in one action (issue 20), and undo
that action in one: the rows share a batch; episodes with a verdict are left alone; refused
with nothing written when none is left or a recount changed the count the page showed."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from recordings import episode_selectors, episode_services
from recordings.errors import EpisodeVerdictRefused
from recordings.models import EpisodeVerdict, Recording

from .review_data import done_recording
from .test_episode_verdicts import AF, PAUSE, give

pytestmark = pytest.mark.django_db


def bigeminy(start: float, end: float) -> dict:
    return {"kind": "bigeminy", "label": "Ventricular bigeminy", "start_s": start, "end_s": end,
            "duration_s": round(end - start, 2), "beats": 6}  # fmt: skip


B1, B2, B3 = bigeminy(27.0, 30.0), bigeminy(31.0, 34.0), bigeminy(35.0, 38.5)


def with_bigeminy(owner) -> Recording:
    """The synthetic recording with AF, three bigeminy episodes and a pause stored."""
    recording = done_recording(owner)
    Recording.objects.filter(pk=recording.pk).update(
        summary=recording.summary | {"episodes": [AF, B1, B2, B3, PAUSE]}
    )
    recording.refresh_from_db()
    return recording


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return with_bigeminy(users["alice"])


def states(rec) -> list[tuple[str, float, str]]:
    rec.refresh_from_db()
    return [
        (r["kind"], r["start_s"], r["state"])
        for r in episode_selectors.episodes_reviewed(recording=rec)["rows"]
    ]


def test_confirm_all_of_a_kind_skips_reviewed_ones_and_undoes_as_one(rec, users):
    alice = users["alice"]
    give(rec, alice, "rejected", B2, note="noise")
    assert episode_selectors.episodes_unreviewed_counts(recording=rec) == [
        {"kind": "AF", "label": AF["label"], "count": 1},
        {"kind": "bigeminy", "label": "Ventricular bigeminy", "count": 2},
        {"kind": "pause", "label": PAUSE["label"], "count": 1},
    ]
    confirmed = episode_services.episode_verdicts_give_kind(
        user=alice, recording=rec, verdict="confirmed", kind="bigeminy", expected=" 02", note="seen"
    )
    assert [(v.start_s, v.verdict, v.note) for v in confirmed] == [
        (27.0, "confirmed", "seen"),
        (35.0, "confirmed", "seen"),
    ]
    assert len({v.batch for v in confirmed}) == 1 and confirmed[0].batch is not None
    assert states(rec) == [
        ("AF", 5.0, "not reviewed"),
        ("bigeminy", 27.0, "confirmed"),
        ("bigeminy", 31.0, "rejected"),  # had a verdict: left alone
        ("bigeminy", 35.0, "confirmed"),
        ("pause", 40.1, "not reviewed"),
    ]
    (batch,) = episode_selectors.episode_batches_active(recording=rec)
    assert (batch["kind"], batch["count"], batch["by"]) == ("bigeminy", 2, "alice")
    with pytest.raises(EpisodeVerdictRefused, match="No Ventricular bigeminy event without"):
        episode_services.episode_verdicts_give_kind(
            user=alice, recording=rec, verdict="confirmed", kind="bigeminy"
        )

    # one undone alone, then the rest of the batch in one action
    episode_services.episode_verdict_withdraw(user=alice, recording=rec, verdict_id=confirmed[0].pk)
    withdrawn = episode_services.episode_verdicts_withdraw_batch(
        user=alice, recording=rec, batch=batch["batch"]
    )
    assert [v.pk for v in withdrawn] == [confirmed[1].pk]
    assert [s for _k, _t, s in states(rec)] == [
        "not reviewed", "not reviewed", "rejected", "not reviewed", "not reviewed",
    ]  # fmt: skip
    assert episode_selectors.episode_batches_active(recording=rec) == []
    with pytest.raises(EpisodeVerdictRefused, match="already withdrawn"):
        episode_services.episode_verdicts_withdraw_batch(
            user=alice, recording=rec, batch=batch["batch"]
        )
    assert EpisodeVerdict.objects.count() == 3  # the audit trail keeps every row


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "asystole"}, "Unknown kind"),
        ({"kind": "VT"}, "No Ventricular tachycardia run event without a verdict"),
        ({"kind": "bigeminy", "expected": 4}, "3 Ventricular bigeminy events have no verdict now"),
        ({"kind": "bigeminy", "expected": "three"}, "have no verdict now, not three"),
        ({"kind": "bigeminy", "note": "x" * 201}, "at most 200"),
    ],
)
def test_bad_bulk_confirms_are_refused_with_nothing_written(rec, users, fields, message):
    with pytest.raises(EpisodeVerdictRefused, match=message):
        episode_services.episode_verdicts_give_kind(
            user=users["alice"], recording=rec, verdict="confirmed", **fields
        )
    assert not EpisodeVerdict.objects.exists()


def test_only_the_owner_confirms_or_undoes_a_batch(rec, users):
    for user in (users["bob"], users["staff"]):
        with pytest.raises(Http404):
            episode_services.episode_verdicts_give_kind(
                user=user, recording=rec, verdict="confirmed", kind="bigeminy"
            )
    rows = episode_services.episode_verdicts_give_kind(
        user=users["alice"], recording=rec, verdict="confirmed", kind="bigeminy"
    )
    with pytest.raises(Http404):
        episode_services.episode_verdicts_withdraw_batch(
            user=users["bob"], recording=rec, batch=rows[0].batch
        )
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(Http404):
            episode_services.episode_verdicts_withdraw_batch(
                user=users["alice"], recording=rec, batch=bad
            )
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 3


def test_the_page_confirms_all_and_undoes_all(client, rec, users):
    client.force_login(users["alice"])
    html = client.get(rec.get_absolute_url()).content.decode()
    assert "Confirm all 3 Ventricular bigeminy events not reviewed</button>" in html
    # one event of a kind: its own Confirm button does it
    assert 'class="d-inline event-confirm-kind" data-kind="AF"' not in html
    url = reverse("recordings:episode_confirm_kind", args=[rec.pk])
    stale = client.post(url, {"kind": "bigeminy", "expected": "2"}, follow=True)
    assert "were recounted since this page was shown" in stale.content.decode()
    assert not EpisodeVerdict.objects.exists()

    html = client.post(url, {"kind": "bigeminy", "expected": "3"}, follow=True).content.decode()
    assert "Confirmed 3 Ventricular bigeminy events." in html
    assert html.count('data-kind="bigeminy" data-state="confirmed"') == 3
    assert "Confirm all 3 Ventricular bigeminy" not in html
    assert "3 Ventricular bigeminy events confirmed together by alice" in html
    batch = EpisodeVerdict.objects.first().batch
    undo = reverse("recordings:episode_batch_withdraw", args=[rec.pk, batch])
    assert f'action="{undo}"' in html
    html = client.post(undo, follow=True).content.decode()
    assert "Withdrawn: 3 Ventricular bigeminy confirmations." in html
    assert html.count('data-kind="bigeminy" data-state="not reviewed"') == 3
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 0


def test_another_user_gets_404_on_the_bulk_forms(client, rec, users):
    rows = episode_services.episode_verdicts_give_kind(
        user=users["alice"], recording=rec, verdict="confirmed", kind="bigeminy"
    )
    client.force_login(users["bob"])
    url = reverse("recordings:episode_confirm_kind", args=[rec.pk])
    assert client.post(url, {"kind": "AF"}).status_code == 404
    undo = reverse("recordings:episode_batch_withdraw", args=[rec.pk, rows[0].batch])
    assert client.post(undo).status_code == 404
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 3
