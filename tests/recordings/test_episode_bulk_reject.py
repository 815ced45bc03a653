"""Reject every episode of one kind that has no verdict in one action (issue 20), the mirror of
confirm-all through the same service (``episode_verdicts_give_kind``): one batch, undone as
one action, the optional note on every row, episodes with a verdict left alone; refused with
nothing written on bad input; another user's recording 404."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from recordings import episode_selectors, episode_services
from recordings.errors import EpisodeVerdictRefused
from recordings.models import EpisodeVerdict, Recording

from .test_episode_bulk_confirm import B1, B2, B3, states, with_bigeminy
from .test_episode_verdicts import give

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return with_bigeminy(users["alice"])


def reject_all(rec, user, **fields):
    return episode_services.episode_verdicts_give_kind(
        user=user, recording=rec, verdict="rejected", **fields
    )


def test_reject_all_of_a_kind_skips_reviewed_ones_and_undoes_as_one(rec, users):
    alice = users["alice"]
    give(rec, alice, "confirmed", B2)
    rejected = reject_all(rec, alice, kind="bigeminy", expected="2", note="muscle noise")
    assert [(v.start_s, v.verdict, v.note) for v in rejected] == [
        (B1["start_s"], "rejected", "muscle noise"),
        (B3["start_s"], "rejected", "muscle noise"),
    ]
    assert len({v.batch for v in rejected}) == 1 and rejected[0].batch is not None
    # B2 had a verdict: left alone
    assert [s for _k, _t, s in states(rec)] == [
        "not reviewed", "rejected", "confirmed", "rejected", "not reviewed",
    ]  # fmt: skip
    reviewed = episode_selectors.episodes_reviewed(recording=rec)
    assert {c["kind"]: c["count"] for c in reviewed["counts"]}["bigeminy"] == 1
    assert reviewed["rejected"] == 2
    (batch,) = episode_selectors.episode_batches_active(recording=rec)
    assert (batch["verdict"], batch["kind"], batch["count"]) == ("rejected", "bigeminy", 2)

    withdrawn = episode_services.episode_verdicts_withdraw_batch(
        user=alice, recording=rec, batch=batch["batch"]
    )
    assert sorted(v.pk for v in withdrawn) == sorted(v.pk for v in rejected)
    assert [s for _k, _t, s in states(rec)] == [
        "not reviewed", "not reviewed", "confirmed", "not reviewed", "not reviewed",
    ]  # fmt: skip
    assert EpisodeVerdict.objects.count() == 3  # the audit trail keeps every row


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "asystole"}, "Unknown kind"),
        (
            {"kind": "VT"},
            "No Ventricular tachycardia run event without a verdict; nothing rejected",
        ),
        ({"kind": "bigeminy", "expected": 2}, "3 Ventricular bigeminy events have no verdict now"),
        ({"kind": "bigeminy", "note": "x" * 201}, "at most 200"),
        ({"kind": "bigeminy", "verdict": "corrected"}, "use confirmed or rejected"),
        ({"kind": "bigeminy", "verdict": "added"}, "use confirmed or rejected"),
    ],
)
def test_bad_bulk_rejects_are_refused_with_nothing_written(rec, users, fields, message):
    arguments = {"verdict": "rejected"} | fields
    with pytest.raises(EpisodeVerdictRefused, match=message):
        episode_services.episode_verdicts_give_kind(user=users["alice"], recording=rec, **arguments)
    assert not EpisodeVerdict.objects.exists()


def test_the_page_rejects_all_after_a_second_step_and_undoes_all(client, rec, users):
    client.force_login(users["alice"])
    html = client.get(rec.get_absolute_url()).content.decode()
    # the button only opens the form (with its note): the second click sends it
    step = html.split('class="event-reject-kind" data-kind="bigeminy"')[1].split("</details>")[0]
    assert "Reject all 3 Ventricular bigeminy events not reviewed…</summary>" in step
    assert 'name="expected" value="3"' in step and 'name="note"' in step
    assert '<button type="submit" class="btn btn-sm btn-danger">Reject all 3</button>' in step
    assert 'class="event-reject-kind" data-kind="AF"' not in html  # one: its own Reject does it

    url = reverse("recordings:episode_reject_kind", args=[rec.pk])
    bad = client.post(url, {"kind": "asystole", "expected": "3"}, follow=True).content.decode()
    assert "Unknown kind of event &#x27;asystole&#x27;" in bad
    stale = client.post(url, {"kind": "bigeminy", "expected": "2"}, follow=True)
    assert "were recounted since this page was shown" in stale.content.decode()
    assert not EpisodeVerdict.objects.exists()

    form = {"kind": "bigeminy", "expected": "3", "note": "electrode motion"}
    html = client.post(url, form, follow=True).content.decode()
    assert "Rejected 3 Ventricular bigeminy events." in html
    assert html.count('data-kind="bigeminy" data-state="rejected"') == 3
    assert "3 rejected events left out of these counts." in html
    assert "Reject all 3 Ventricular bigeminy" not in html
    assert "3 Ventricular bigeminy events rejected together by alice" in html
    history = html.split('id="events-history"')[1].split("</details>")[0]
    assert history.count("(reject all) “electrode motion”") == 3
    text = client.get(reverse("recordings:episodes_csv", args=[rec.pk])).content.decode()
    got = {(r["kind"], r["state"], r["note"]) for r in csv.DictReader(io.StringIO(text))}
    assert ("bigeminy", "rejected", "electrode motion") in got  # listed, not hidden

    batch = EpisodeVerdict.objects.first().batch
    undo = reverse("recordings:episode_batch_withdraw", args=[rec.pk, batch])
    html = client.post(undo, follow=True).content.decode()
    assert "Withdrawn: 3 Ventricular bigeminy rejections." in html
    assert html.count('data-kind="bigeminy" data-state="not reviewed"') == 3
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 0


def test_another_user_gets_404_and_nothing_is_written(client, rec, users):
    for user in ("bob", "staff"):
        client.force_login(users[user])
        url = reverse("recordings:episode_reject_kind", args=[rec.pk])
        assert client.post(url, {"kind": "bigeminy", "expected": "3"}).status_code == 404
    assert not EpisodeVerdict.objects.exists()
