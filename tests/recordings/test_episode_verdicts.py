"""The owner's verdicts on rhythm episodes (issue 20): confirm, reject, add one the detector
missed, withdraw; kept as rows (audit trail), the summary's episodes never changed, a verdict
following its episode through a beat review's recount, and listed when its episode is gone."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from recordings import episode_selectors, episode_services, review_services
from recordings.errors import EpisodeNotFound, EpisodeVerdictRefused
from recordings.models import EpisodeVerdict, Recording

from .review_data import done_recording

pytestmark = pytest.mark.django_db

AF = {"kind": "AF", "label": "Atrial fibrillation / flutter", "start_s": 5.0, "end_s": 25.0,
      "duration_s": 20.0, "beats": 25}  # fmt: skip
PAUSE = {"kind": "pause", "label": "Pause (RR > 2 s)", "start_s": 40.1, "end_s": 42.5,
         "duration_s": 2.4, "beats": 2}  # fmt: skip


def with_episodes(owner) -> Recording:
    """The review tests' synthetic recording with two stored episodes (the media folder set)."""
    recording = done_recording(owner)
    Recording.objects.filter(pk=recording.pk).update(
        summary=recording.summary | {"episodes": [AF, PAUSE]}
    )
    recording.refresh_from_db()
    return recording


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return with_episodes(users["alice"])


def give(rec, user, verdict, episode, **extra):
    return episode_services.episode_verdict_give(
        user=user, recording=rec, verdict=verdict, kind=episode["kind"],
        start_s=episode["start_s"], end_s=episode["end_s"], **extra,
    )  # fmt: skip


def states(rec) -> list[tuple[str, float, str]]:
    rec.refresh_from_db()
    return [
        (r["kind"], r["start_s"], r["state_text"])
        for r in episode_selectors.episodes_reviewed(recording=rec)["rows"]
    ]


def test_confirm_reject_and_add_are_rows_and_leave_the_summary_alone(rec, users):
    alice = users["alice"]
    give(rec, alice, "confirmed", AF, note="clear on the strip")
    give(rec, alice, "rejected", PAUSE)
    episode_services.episode_verdict_give(
        user=alice, recording=rec, verdict="added", kind="VT", start_s=50.0, end_s=52.5
    )
    assert states(rec) == [
        ("AF", 5.0, "confirmed by alice"),
        ("pause", 40.1, "rejected by alice"),
        ("VT", 50.0, "added by alice"),
    ]
    assert rec.summary["episodes"] == [AF, PAUSE]  # the model's episodes as they were
    reviewed = episode_selectors.episodes_reviewed(recording=rec)
    # counts leave the rejected pause out and count the added VT run
    assert {c["kind"]: c["count"] for c in reviewed["counts"]} == {"AF": 1, "VT": 1}
    assert reviewed["rejected"] == 1
    assert reviewed["rows"][0]["verdict"]["note"] == "clear on the strip"
    assert EpisodeVerdict.objects.filter(recording=rec, created_by=alice).count() == 3


def test_a_new_verdict_replaces_the_old_and_undo_keeps_the_row(rec, users):
    alice = users["alice"]
    first = give(rec, alice, "confirmed", AF)
    second = give(rec, alice, "rejected", AF)
    first.refresh_from_db()
    assert first.withdrawn_at is not None and first.replaced_by_id == second.pk
    assert states(rec)[0] == ("AF", 5.0, "rejected by alice")

    episode_services.episode_verdict_withdraw(user=alice, recording=rec, verdict_id=second.pk)
    assert states(rec)[0] == ("AF", 5.0, "not reviewed")
    assert EpisodeVerdict.objects.filter(recording=rec).count() == 2  # the audit keeps both
    with pytest.raises(EpisodeVerdictRefused, match="already withdrawn"):
        episode_services.episode_verdict_withdraw(user=alice, recording=rec, verdict_id=second.pk)
    history = episode_selectors.episode_verdict_history(recording=rec)
    assert [v.pk for v in history] == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"verdict": "added", "kind": "AF", "start_s": 10, "end_s": 5}, "after the start"),
        ({"verdict": "added", "kind": "AF", "start_s": -1, "end_s": 5}, "within the recording"),
        ({"verdict": "added", "kind": "AF", "start_s": 10, "end_s": 1e6}, "within the recording"),
        ({"verdict": "added", "kind": "AF", "start_s": "x", "end_s": 5}, "number of seconds"),
        ({"verdict": "added", "kind": "AF", "start_s": "nan", "end_s": 5}, "number of seconds"),
        ({"verdict": "added", "kind": "asystole", "start_s": 1, "end_s": 5}, "Unknown kind"),
        ({"verdict": "maybe", "kind": "AF", "start_s": 5, "end_s": 25}, "Unknown verdict"),
        ({"verdict": "added", "kind": "AF", "start_s": 1, "end_s": 5, "note": "x" * 201},
         "at most 200"),
    ],
)  # fmt: skip
def test_invalid_verdicts_are_refused_with_nothing_written(rec, users, fields, message):
    with pytest.raises(EpisodeVerdictRefused, match=message):
        episode_services.episode_verdict_give(user=users["alice"], recording=rec, **fields)
    assert not EpisodeVerdict.objects.exists()


def test_a_verdict_on_an_episode_not_there_is_refused(rec, users):
    with pytest.raises(EpisodeNotFound):
        give(rec, users["alice"], "confirmed", AF | {"start_s": 6.0})
    with pytest.raises(EpisodeNotFound):  # right span, other kind
        give(rec, users["alice"], "confirmed", AF | {"kind": "VT"})
    assert not EpisodeVerdict.objects.exists()


def test_only_the_owner_writes(rec, users):
    for user in (users["bob"], users["staff"]):
        with pytest.raises(Http404):
            give(rec, user, "rejected", AF)
    verdict = give(rec, users["alice"], "rejected", AF)
    with pytest.raises(Http404):
        episode_services.episode_verdict_withdraw(
            user=users["bob"], recording=rec, verdict_id=verdict.pk
        )
    verdict.refresh_from_db()
    assert verdict.withdrawn_at is None and EpisodeVerdict.objects.count() == 1


def bigeminy_by_review(owner) -> tuple[Recording, dict]:
    """The review tests' recording with no episode stored, then a beat review that makes one:
    beats 32 and 34 are V already, 36 and 38 corrected to V make a bigeminy of four cycles
    (recounted: its episode is the summary's one). Beat 30 corrected to V later moves its
    start earlier."""
    rec = done_recording(owner)
    Recording.objects.filter(pk=rec.pk).update(summary=rec.summary | {"episodes": []})
    rec.refresh_from_db()
    review_services.beat_correct(user=owner, recording=rec, beat_indices=[36, 38], label="V")
    (episode,) = rec.summary["episodes"]
    assert episode["kind"] == "bigeminy"
    return rec, episode


def test_the_verdict_follows_its_episode_through_a_recount_and_is_listed_when_gone(
    client, settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = users["alice"]
    rec, before = bigeminy_by_review(alice)
    give(rec, alice, "confirmed", before, note="seen")

    # beat 30 too: the recount moves the start earlier; the verdict follows the episode
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[30], label="V")
    (after,) = rec.summary["episodes"]
    assert after["start_s"] < before["start_s"]
    assert states(rec) == [("bigeminy", after["start_s"], "confirmed by alice")]

    # both corrections undone: no bigeminy left; the verdict is listed, not dropped
    review_services.review_action_undo(user=alice, recording=rec)
    review_services.review_action_undo(user=alice, recording=rec)
    rec.refresh_from_db()
    reviewed = episode_selectors.episodes_reviewed(recording=rec)
    assert reviewed["rows"] == []
    (gone,) = reviewed["unmatched"]
    assert gone["reason"] == episode_selectors.GONE
    assert gone["state_text"] == "confirmed by alice" and gone["start_s"] == before["start_s"]
    client.force_login(alice)
    html = client.get(rec.get_absolute_url()).content.decode()
    assert 'id="events-unmatched"' in html and "confirmed by alice: episode gone" in html

    # redone: the episode comes back and so does the verdict
    review_services.review_action_redo(user=alice, recording=rec)
    assert states(rec) == [("bigeminy", before["start_s"], "confirmed by alice")]


def test_matching_picks_the_largest_overlap_of_the_same_kind():
    def verdict(pk, kind, start, end):
        return EpisodeVerdict(pk=pk, verdict="rejected", kind=kind, start_s=start, end_s=end)

    episodes = [
        {"kind": "AF", "start_s": 0.0, "end_s": 12.0},
        {"kind": "VT", "start_s": 10.0, "end_s": 30.0},
        {"kind": "AF", "start_s": 14.0, "end_s": 40.0},
    ]
    newer, older = verdict(2, "AF", 10.0, 30.0), verdict(1, "AF", 16.0, 20.0)
    applied, unmatched = episode_selectors.verdicts_match(
        episodes=episodes, verdicts=[newer, older]
    )
    # the newer verdict overlaps the first AF 2 s, the second 16 s; the older one also picks
    # the second and loses it to the newer
    assert applied == {2: newer}
    assert unmatched == [(older, episode_selectors.SUPERSEDED)]


# -- the recording page ---------------------------------------------------------------------


def test_the_page_has_the_controls_and_shows_each_state(client, rec, users):
    client.force_login(users["alice"])
    html = client.get(rec.get_absolute_url()).content.decode()
    assert html.count('name="verdict" value="rejected"') == 2
    assert 'id="event-add"' in html and '<th scope="col">State</th>' in html
    assert html.count('<td class="event-state" data-label="State">not reviewed</td>') == 2

    url = reverse("recordings:episode_verdict", args=[rec.pk])
    form = {"kind": "pause", "start_s": "40.1", "end_s": "42.5", "note": "artefact"}
    response = client.post(url, form | {"verdict": "rejected"}, follow=True)
    html = response.content.decode()
    assert "Saved: Pause (RR &gt; 2 s) at 40.1-42.5 s rejected." in html
    assert "rejected by alice <span" in html and "(artefact)" in html
    assert 'data-kind="pause" data-state="rejected"' in html
    assert "1 rejected event left out of these counts." in html
    assert 'data-kind="pause">' not in html.split('id="events-counts"')[1].split("</p>")[0]

    add = {"verdict": "added", "kind": "VT", "start_s": "50", "end_s": "52.5"}
    html = client.post(url, add, follow=True).content.decode()
    assert "added by alice" in html and "Remove</button>" in html
    bad = client.post(url, add | {"start_s": "55"}, follow=True).content.decode()
    assert "The end must come after the start." in bad
    assert EpisodeVerdict.objects.count() == 2

    verdict = EpisodeVerdict.objects.get(verdict="rejected")
    undo = reverse("recordings:episode_verdict_withdraw", args=[rec.pk, verdict.pk])
    html = client.post(undo, follow=True).content.decode()
    assert "Withdrawn: Pause (RR &gt; 2 s) at 40.1-42.5 s rejected." in html
    assert 'data-kind="pause" data-state="not reviewed"' in html


def test_another_user_gets_404_and_writes_nothing(client, rec, users):
    verdict = give(rec, users["alice"], "confirmed", AF)
    client.force_login(users["bob"])
    url = reverse("recordings:episode_verdict", args=[rec.pk])
    form = {"verdict": "rejected", "kind": "AF", "start_s": "5.0", "end_s": "25.0"}
    assert client.post(url, form).status_code == 404
    assert client.post(url, form | {"verdict": "added"}).status_code == 404
    undo = reverse("recordings:episode_verdict_withdraw", args=[rec.pk, verdict.pk])
    assert client.post(undo).status_code == 404
    assert client.get(rec.get_absolute_url()).status_code == 404
    verdict.refresh_from_db()
    assert verdict.withdrawn_at is None and EpisodeVerdict.objects.count() == 1


def test_the_strip_marks_each_episode_with_its_state(client, rec, users):
    give(rec, users["alice"], "rejected", PAUSE)
    client.force_login(users["alice"])
    strip = client.get(reverse("recordings:strip", args=[rec.pk]), {"start": 0, "seconds": 60})
    assert [(e["kind"], e["state"]) for e in strip.json()["episodes"]] == [
        ("AF", "not reviewed"),
        ("pause", "rejected"),
    ]


def test_the_pdf_states_each_verdict_and_leaves_rejected_out_of_the_counts(client, rec, users):
    from tests.api.pdf_layout import overlapping_text

    from .test_episodes_web import pdf_text

    alice = users["alice"]
    give(rec, alice, "confirmed", AF)
    give(rec, alice, "rejected", PAUSE, note="lead off <V1>")
    episode_services.episode_verdict_give(
        user=alice, recording=rec, verdict="added", kind="VT", start_s=50.0, end_s=52.5
    )
    client.force_login(alice)
    pdf, text = pdf_text(client, rec)
    assert "Atrial fibrillation / flutter 5.00 s 25.00 s 20.00 s 25 confirmed by alice" in text
    # the rejection's note, shown on the page and in the CSV, is in the PDF too (escaped)
    assert "Pause (RR > 2 s) 40.10 s 42.50 s 2.40 s 2 rejected by alice (lead off <V1>)" in text
    added = rec.beats.filter(time_s__gte=50.0 - 0.005, time_s__lte=52.5 + 0.005).count()
    assert f"Ventricular tachycardia run 50.00 s 52.50 s 2.50 s {added} added by alice" in text
    assert "Per kind: Atrial fibrillation / flutter 1, Ventricular tachycardia run 1." in text
    assert "1 event rejected by the reviewer, left out of these counts." in text
    assert overlapping_text(pdf) == []
