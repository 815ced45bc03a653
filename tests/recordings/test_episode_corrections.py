"""Correcting an episode's edges (issue 20): a "corrected" verdict keeps the model's episode in
the summary and its own span beside the owner's; from then on the page, the strip, the PDF,
the events CSV, the ``.atr`` and the API show the owner's span; refused with a message and
nothing written on bad input; undone like any verdict; matched through a recount like any
verdict. And a verdict whose episode a recount took away reaches the events CSV and the
``.atr``, marked as such."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import Http404
from django.urls import reverse

from ecg.features.episodes import reference_rhythm_intervals
from recordings import episode_selectors, episode_services, review_services
from recordings.errors import EpisodeNotFound, EpisodeVerdictRefused
from recordings.models import EpisodeVerdict, Recording

from .test_episode_exports import _rdann
from .test_episode_verdicts import AF, PAUSE, bigeminy_by_review, give, with_episodes

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return with_episodes(users["alice"])


def correct(rec, user, episode, start, end, **extra):
    return give(
        rec, user, "corrected", episode, corrected_start_s=start, corrected_end_s=end, **extra
    )


def rows(rec) -> list[dict]:
    rec.refresh_from_db()
    return episode_selectors.episodes_reviewed(recording=rec)["rows"]


def test_a_correction_shows_the_owners_span_and_keeps_the_models(rec, users):
    alice = users["alice"]
    verdict = correct(rec, alice, AF, "3.5", "27", note="onset earlier on the strip")
    assert (verdict.start_s, verdict.end_s) == (5.0, 25.0)  # what a recount is matched on
    assert (verdict.corrected_start_s, verdict.corrected_end_s) == (3.5, 27.0)
    af = rows(rec)[0]
    assert (af["start_s"], af["end_s"], af["duration_s"]) == (3.5, 27.0, 23.5)
    assert (af["model_start_s"], af["model_end_s"]) == (5.0, 25.0)
    assert af["state"] == "corrected" and af["state_text"] == "corrected by alice"
    assert af["beats"] == 30  # the beats at 3.7, 4.5 ... 26.9 s, not the model's 25
    assert af["verdict"]["note"] == "onset earlier on the strip"
    assert rec.summary["episodes"] == [AF, PAUSE]  # the model's episodes as they were
    reviewed = episode_selectors.episodes_reviewed(recording=rec)
    assert reviewed["counts"][0] == {
        "kind": "AF", "label": AF["label"], "count": 1, "total_s": 23.5,
    }  # fmt: skip
    assert episode_services.episode_verdict_describe(verdict) == (
        "Atrial fibrillation / flutter at 5.0-25.0 s corrected to 3.5-27.0 s"
    )
    # the strip draws it over the owner's span
    strip = episode_selectors_strip(rec, 0, 4)
    assert [(e["kind"], e["start_s"], e["state"]) for e in strip] == [("AF", 3.5, "corrected")]


def episode_selectors_strip(rec, start, end):
    from recordings.selectors import recording_episodes

    return recording_episodes(recording=rec, start_s=start, end_s=end)


def test_minutes_and_seconds_are_read_as_the_clock_shows_them(rec, users):
    verdict = correct(rec, users["alice"], AF, "0:03.5", "00:27")
    assert (verdict.corrected_start_s, verdict.corrected_end_s) == (3.5, 27.0)


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ((None, 27.0), "new start and end"),
        (("", 27.0), "new start and end"),
        ((27.0, 3.5), "after the start"),
        ((10.0, 10.0), "after the start"),
        ((-1.0, 27.0), "within the recording"),
        ((3.5, 61.0), "within the recording"),
        (("three", 27.0), "minutes and seconds"),
        (("1:75", 27.0), "minutes and seconds"),
        (("inf", 27.0), "number of seconds"),
        ((5.0, 25.0), "confirm the event instead"),
        ((5.001, 25.0), "confirm the event instead"),
    ],
)
def test_bad_corrections_are_refused_with_nothing_written(rec, users, span, message):
    with pytest.raises(EpisodeVerdictRefused, match=message):
        correct(rec, users["alice"], AF, *span)
    assert not EpisodeVerdict.objects.exists()
    with pytest.raises(EpisodeVerdictRefused, match="at most 200"):
        correct(rec, users["alice"], AF, 3.5, 27.0, note="x" * 201)
    with pytest.raises(EpisodeNotFound):
        correct(rec, users["alice"], AF | {"start_s": 7.0}, 3.5, 27.0)
    assert not EpisodeVerdict.objects.exists()


def test_correct_again_replaces_and_undo_brings_back_the_detected_span(rec, users):
    alice = users["alice"]
    first = correct(rec, alice, AF, 3.5, 27.0)
    # the page lists it at 3.5-27.0: a client may name it so
    second = correct(rec, alice, AF | {"start_s": 3.5, "end_s": 27.0}, 4.0, 26.0)
    first.refresh_from_db()
    assert first.withdrawn_at is not None and first.replaced_by_id == second.pk
    assert (second.start_s, second.end_s) == (5.0, 25.0)  # still the model's span
    assert (rows(rec)[0]["start_s"], rows(rec)[0]["end_s"]) == (4.0, 26.0)
    # a confirm of the corrected episode, named by its listed span, replaces the correction
    with pytest.raises(EpisodeVerdictRefused, match="undo the correction to go back"):
        correct(rec, alice, AF, 5.0, 25.0)
    confirm = give(rec, alice, "confirmed", AF | {"start_s": 4.0, "end_s": 26.0})
    assert (rows(rec)[0]["start_s"], rows(rec)[0]["state"]) == (5.0, "confirmed")
    episode_services.episode_verdict_withdraw(user=alice, recording=rec, verdict_id=confirm.pk)
    af = rows(rec)[0]
    assert (af["start_s"], af["end_s"], af["state"], af["beats"]) == (5.0, 25.0, "not reviewed", 25)
    assert EpisodeVerdict.objects.count() == 3  # the audit trail keeps every row


def test_only_the_owner_corrects(rec, users):
    for user in (users["bob"], users["staff"]):
        with pytest.raises(Http404):
            correct(rec, user, AF, 3.5, 27.0)
    assert not EpisodeVerdict.objects.exists()


def test_a_recount_keeps_the_correction_matched_and_a_gone_one_is_exported(
    client, settings, tmp_path, users
):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = users["alice"]
    rec, before = bigeminy_by_review(alice)
    span = (round(before["start_s"] - 1.0, 2), round(before["end_s"] + 1.5, 2))
    correct(rec, alice, before, *span, note="wider")

    # beat 30 too: the recount moves the model's start earlier; the correction stays matched
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[30], label="V")
    (after,) = rec.summary["episodes"]
    assert after["start_s"] < before["start_s"]
    (row,) = rows(rec)
    assert (row["state"], row["start_s"], row["end_s"]) == ("corrected", *span)
    assert row["model_start_s"] == after["start_s"]

    # both corrections undone: no bigeminy left; the correction is listed as gone ...
    review_services.review_action_undo(user=alice, recording=rec)
    review_services.review_action_undo(user=alice, recording=rec)
    rec.refresh_from_db()
    reviewed = episode_selectors.episodes_reviewed(recording=rec)
    (gone,) = reviewed["unmatched"]
    assert (gone["start_s"], gone["end_s"], gone["reason"]) == (*span, episode_selectors.GONE)
    # ... and it is in the events CSV, marked, and in the .atr over the owner's span
    client.force_login(alice)
    text = client.get(reverse("recordings:episodes_csv", args=[rec.pk])).content.decode()
    (line,) = list(csv.DictReader(io.StringIO(text)))
    assert line["state"] == "corrected; episode gone" and line["note"] == "wider"
    assert (float(line["start_s"]), float(line["end_s"])) == span
    assert float(line["model_start_s"]) == before["start_s"]
    ann = _rdann(client.get(reverse("recordings:atr", args=[rec.pk])).content, tmp_path)
    aux = [a or "" for a in ann.aux_note]
    fs = rec.sampling_rate
    got = reference_rhythm_intervals(ann.sample, ann.symbol, aux, fs, rec.n_samples, ("(B",))
    assert got == [(round(span[0] * fs) / fs, round(span[1] * fs) / fs)]
    comments = [n for s, n in zip(ann.symbol, aux, strict=True) if s == '"']
    assert comments == ["Ventricular bigeminy corrected by alice, episode gone after a recount"]


def test_gone_verdicts_reach_the_csv_and_only_findings_the_atr(client, rec, users, tmp_path):
    """A recount took both episodes away: the confirmed AF is still the clinician's finding (in
    the .atr over its stored span, with a comment saying it is gone); the rejected pause is
    listed in the CSV as such and written nowhere in the .atr."""
    alice = users["alice"]
    give(rec, alice, "confirmed", AF, note="clear")
    give(rec, alice, "rejected", PAUSE)
    Recording.objects.filter(pk=rec.pk).update(summary=rec.summary | {"episodes": []})
    client.force_login(alice)
    text = client.get(reverse("recordings:episodes_csv", args=[rec.pk])).content.decode()
    got = [
        (r["kind"], r["start_s"], r["end_s"], r["state"], r["by"], r["model_start_s"])
        for r in csv.DictReader(io.StringIO(text))
    ]
    assert got == [
        ("AF", "5.000", "25.000", "confirmed; episode gone", "alice", "5.000"),
        ("pause", "40.100", "42.500", "rejected; episode gone", "alice", "40.100"),
    ]
    ann = _rdann(client.get(reverse("recordings:atr", args=[rec.pk])).content, tmp_path)
    fs = rec.sampling_rate
    rhythm = [(int(s), n) for s, sym, n in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
              if sym == "+"]  # fmt: skip
    assert rhythm == [(round(5.0 * fs), "(AFIB"), (round(25.0 * fs), "(N")]
    comments = [(int(s), n) for s, sym, n in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
                if sym == '"']  # fmt: skip
    assert comments == [
        (round(5.0 * fs), "Atrial fibrillation / flutter confirmed by alice, episode gone after "
         "a recount"),
    ]  # fmt: skip
    # the beats are all still there
    assert sum(s not in ("+", '"') for s in ann.symbol) == rec.beats.count()


def test_corrected_episode_in_the_csv_and_the_atr(client, rec, users, tmp_path):
    correct(rec, users["alice"], AF, 3.5, 27.0)
    client.force_login(users["alice"])
    text = client.get(reverse("recordings:episodes_csv", args=[rec.pk])).content.decode()
    first = next(csv.DictReader(io.StringIO(text)))
    assert (first["start_s"], first["end_s"], first["duration_s"], first["state"]) == (
        "3.500", "27.000", "23.50", "corrected",
    )  # fmt: skip
    assert (first["model_start_s"], first["model_end_s"]) == ("5.000", "25.000")
    assert first["beats"] == "30"  # counted in the corrected span
    ann = _rdann(client.get(reverse("recordings:atr", args=[rec.pk])).content, tmp_path)
    aux = [a or "" for a in ann.aux_note]
    got = reference_rhythm_intervals(
        ann.sample, ann.symbol, aux, rec.sampling_rate, rec.n_samples, ("(AFIB",)
    )
    assert got == [(3.5, 27.0)]
    assert not any("gone" in note for note in aux)  # nothing is gone here


# -- the recording page and the PDF ----------------------------------------------------------


def test_the_page_corrects_a_span_and_refuses_bad_input(client, rec, users):
    client.force_login(users["alice"])
    html = client.get(rec.get_absolute_url()).content.decode()
    assert html.count("<summary>Correct the span</summary>") == 2
    url = reverse("recordings:episode_verdict", args=[rec.pk])
    form = {"verdict": "corrected", "kind": "AF", "start_s": "5.0", "end_s": "25.0"}
    bad = client.post(url, form | {"corrected_start_s": "0:30", "corrected_end_s": "0:27"},
                      follow=True).content.decode()  # fmt: skip
    assert "The end must come after the start." in bad
    bad = client.post(url, form | {"corrected_start_s": "3.5"}, follow=True).content.decode()
    assert "A correction needs the event&#x27;s new start and end." in bad
    assert not EpisodeVerdict.objects.exists()

    good = form | {"corrected_start_s": "0:03.5", "corrected_end_s": "27", "note": "P waves"}
    html = client.post(url, good, follow=True).content.decode()
    assert "Saved: Atrial fibrillation / flutter at 5.0-25.0 s corrected to 3.5-27.0 s." in html
    assert 'data-kind="AF" data-state="corrected"' in html
    assert "corrected by alice" in html and "(detected 5.0–25.0 s)" in html
    assert '<a href="#strip" class="jump" data-time="3.5">3.5 s</a>' in html
    assert "Undo correction</button>" in html
    row = html.split('data-kind="AF" data-state="corrected"')[1].split("</tr>")[0]
    # no Confirm (it would replace the correction); Reject and Correct stay
    assert 'value="confirmed"' not in row and 'value="rejected"' in row
    # the row's forms still name the episode by the model's span
    assert 'name="start_s" value="5.0"' in row and 'name="corrected_start_s" value="3.5"' in row

    verdict = EpisodeVerdict.objects.get()
    undo = reverse("recordings:episode_verdict_withdraw", args=[rec.pk, verdict.pk])
    html = client.post(undo, follow=True).content.decode()
    assert "Withdrawn: Atrial fibrillation / flutter at 5.0-25.0 s corrected to 3.5-27.0 s." in html
    assert 'data-kind="AF" data-state="not reviewed"' in html
    # the audit trail keeps both spans, who, the note, and who withdrew it
    history = html.split('id="events-history"')[1].split("</details>")[0]
    assert "alice: corrected AF 5.0–25.0 s → 3.5–27.0 s “P waves”; withdrawn by alice" in history


def test_another_user_cannot_correct(client, rec, users):
    client.force_login(users["bob"])
    url = reverse("recordings:episode_verdict", args=[rec.pk])
    form = {"verdict": "corrected", "kind": "AF", "start_s": "5.0", "end_s": "25.0",
            "corrected_start_s": "3.5", "corrected_end_s": "27"}  # fmt: skip
    assert client.post(url, form).status_code == 404
    assert not EpisodeVerdict.objects.exists()


def test_the_pdf_shows_the_corrected_span_and_the_detected_one(client, rec, users):
    from tests.api.pdf_layout import overlapping_text

    from .test_episodes_web import pdf_text

    correct(rec, users["alice"], AF, 3.5, 27.0)
    client.force_login(users["alice"])
    pdf, text = pdf_text(client, rec)
    # its beats counted in the corrected span (the beats at 3.7 ... 26.9 s)
    assert "Atrial fibrillation / flutter 3.50 s 27.00 s 23.50 s 30 corrected by alice" in text
    assert "detected 5.00-25.00 s" in text
    assert "1 with the span the reviewer corrected" in text
    assert "the beats counted in the corrected span" in text
    assert overlapping_text(pdf) == []
