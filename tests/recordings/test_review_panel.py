"""The review actions under the strip (issue 20): the recording page lists the owner's 10
latest review actions with "Undo this action", the same rows as the templates page; and the
PDF, the runs and the WFDB export follow an undo of one action alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from recordings import review_services
from recordings.models import Recording, ReviewAction

from .review_data import done_recording
from .test_episodes_web import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return done_recording(users["alice"])


def rows_of(html: str, section_id: str) -> list[str]:
    """The action ids listed in the section ``section_id`` of a page, in order."""
    start = html.index(f'id="{section_id}"')
    end = html.index("</table>", start)
    return re.findall(r'data-action="(\d+)"', html[start:end])


def test_the_recording_page_lists_the_latest_ten_actions_newest_first(client, rec, users):
    alice = users["alice"]
    for i in range(12):
        review_services.beat_correct(user=alice, recording=rec, beat_indices=[i], label="A")
    ids = list(rec.review_actions.order_by("-id").values_list("id", flat=True))
    client.force_login(alice)
    html = client.get(rec.get_absolute_url()).content.decode()
    assert rows_of(html, "review-actions") == [str(i) for i in ids[:10]]
    # Same wording as the templates page, and a link to its full list.
    assert "corrected beat 11 N → A" in html
    assert f"{reverse('recordings:templates', args=[rec.pk])}#review-history" in html
    templates = client.get(reverse("recordings:templates", args=[rec.pk])).content.decode()
    assert rows_of(templates, "review-history")[:10] == rows_of(html, "review-actions")
    # The latest is undone by Undo itself; each row in effect has its button.
    assert html.count(">Undo this action</button>") == 10


def test_undo_this_action_from_the_recording_page_returns_there(client, rec, users):
    alice = users["alice"]
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[0, 1, 2], label="V")
    first = rec.review_actions.order_by("-id").first()
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[2, 10], label="A")
    client.force_login(alice)
    url = reverse("recordings:action_undo", args=[rec.pk, first.pk])
    response = client.post(url, {"back": "strip"})
    assert response.status_code == 302
    assert response["Location"] == f"{rec.get_absolute_url()}#review-actions"
    html = client.get(response["Location"]).content.decode()
    assert "Undone: 3 beats → V. 1 of 3 beats was changed again later" in html
    assert "undone alone" in html
    # Pressed again (a page left open): refused with a message, nothing written.
    count = ReviewAction.objects.count()
    html = client.post(url, {"back": "strip"}, follow=True).content.decode()
    assert "This action has already been undone." in html
    assert ReviewAction.objects.count() == count


def test_the_panel_is_for_the_owner_only(client, rec, users):
    review_services.beat_correct(user=users["alice"], recording=rec, beat_indices=[0], label="A")
    client.force_login(users["bob"])
    assert client.get(rec.get_absolute_url()).status_code == 404
    client.force_login(users["staff"])  # staff may see the recording, not its review panel
    response = client.get(rec.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="review-actions"' not in html and "Undo this action" not in html
    assert "corrected beat 0" not in html
    client.force_login(users["alice"])
    assert 'id="review-actions"' in client.get(rec.get_absolute_url()).content.decode()
    # Nobody reviewed: no panel.
    other = done_recording(users["alice"])
    assert 'id="review-actions"' not in client.get(other.get_absolute_url()).content.decode()


# -- exports after an undo of one action alone ---------------------------------------------


def run_then_revert(rec: Recording, alice) -> None:
    """Beats 0-5 relabelled V (a run of 7 with the model's V at 6), beat 22 (N) A, then the
    relabel undone alone: only beat 22 stays reviewed."""
    review_services.beat_correct(user=alice, recording=rec, beat_indices=range(6), label="V")
    relabel = rec.review_actions.order_by("-id").first()
    review_services.beat_correct(user=alice, recording=rec, beat_indices=[22], label="A")
    run = {row["code"]: row for row in Recording.objects.get(pk=rec.pk).summary["ectopy"]}["V"]
    assert run["runs_4_plus"] == 1 and run["longest_run"] == 7  # the relabel made a run
    review_services.review_action_revert(user=alice, recording=rec, action_id=relabel.pk)


def test_the_pdf_and_the_runs_follow_an_undo_alone(client, rec, users):
    alice = users["alice"]
    client.force_login(alice)
    _pdf, model_text = pdf_text(client, rec)
    model = {row["code"]: row for row in rec.summary["ectopy"]}
    run_then_revert(rec, alice)
    rec.refresh_from_db()
    ectopy = {row["code"]: row for row in rec.summary["ectopy"]}
    assert ectopy["V"] == model["V"]  # the run is gone: the model's own V beats again
    assert ectopy["A"]["beats"] == model["A"]["beats"] + 1
    _pdf, text = pdf_text(client, rec)
    assert "Clinician review 1 beat reviewed by alice" in text
    assert "Premature Atrial Contraction (A) 1 " in text
    v_model = re.search(r"Premature Ventricular Contraction \(V\) \d+ [\d.]+%", model_text)
    assert v_model and v_model.group(0) in text  # the V count is the model's again
    assert "7 at 0.5 s" not in text


def test_the_wfdb_export_follows_an_undo_alone(client, rec, users, tmp_path):
    import wfdb

    alice = users["alice"]
    run_then_revert(rec, alice)
    client.force_login(alice)
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    assert response.status_code == 200
    Path(tmp_path / "rec.atr").write_bytes(response.content)
    ann = wfdb.rdann(str(tmp_path / "rec"), "atr")
    beats = list(rec.beats.order_by("index"))
    expected = [b.label if b.state == "classified" else "Q" for b in beats]  # the model's
    expected[22] = "A"  # still reviewed
    assert ann.symbol == expected
    assert ann.symbol[:6] != ["V"] * 6
