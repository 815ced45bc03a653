"""The clinician's review in a real browser: the templates page draws its SVG cards and
relabels a group; the strip opens at a card's beat (?start=) and corrects one beat from its
detail card, which the strip then marks as reviewed."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from recordings.models import BeatCorrection
from tests.recordings.review_data import done_recording

from .test_journeys import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_templates_page_relabel_and_strip_correction(page, screenshot, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("review-user", password=PASSWORD)
    recording = done_recording(user)
    log_in(page, "review-user")

    page.goto(f"/recordings/{recording.pk}/")
    page.get_by_role("link", name="Review beat templates").click()
    page.wait_for_url(f"**/recordings/{recording.pk}/templates/")
    cards = page.locator("article.card")
    assert cards.count() >= 2
    assert page.locator("article.card svg polyline").count() > 2 * cards.count()
    screenshot(page, "recording-templates")

    # relabel the second group (the wide beats) as V in one action
    second = cards.nth(1)
    count = int(re.search(r": (\d+) beats", second.locator("h2").inner_text()).group(1))
    second.locator("select").select_option("V")
    with page.expect_navigation():
        second.get_by_role("button", name="Relabel group").click()
    page.get_by_text(f"{count} beats of group 2 reviewed as").wait_for()
    assert page.locator("#review-status").inner_text().startswith(f"{count} beats reviewed by")

    # the card's link opens the strip around its typical beat
    link = cards.nth(0).get_by_role("link", name=re.compile("on the strip"))
    start = int(re.search(r"start=(\d+)", link.get_attribute("href")).group(1))
    link.click()
    page.locator("#strip-caption").filter(
        has_text=re.compile(rf"^{max(start - 1, 0)}\.0–")
    ).wait_for()

    # open the first beat of the page and save a class for it
    strip = page.evaluate(
        "s => fetch(document.getElementById('strip').dataset.stripUrl + '?start=' + s"
        " + '&seconds=10').then(r => r.json())",
        max(start - 1, 0),
    )
    first = strip["beats"][0]
    page.locator("#strip-canvas").scroll_into_view_if_needed()
    box = page.locator("#strip-canvas").bounding_box()
    drawn = page.evaluate(
        "() => JSON.parse(document.getElementById('strip-canvas').dataset.geometry)"
    )
    offset = drawn["x0"] + (first["t"] - strip["start_s"]) * drawn["pxPerS"]
    page.mouse.click(box["x"] + offset, box["y"] + 100)
    page.locator("#beat-title").filter(has_text=f"Beat {first['index']} at").wait_for()
    assert page.input_value("#beat-correct-index") == str(first["index"])
    page.select_option("#beat-correct-label", "A")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my class").click()
    page.get_by_text("Saved: 1 beat reviewed as").wait_for()
    beat = recording.beats.get(index=first["index"])
    assert beat.reviewed_label == "A"
    assert BeatCorrection.objects.filter(beat=beat, created_by=user).count() == 1


def test_strip_keys_undo_and_redo_a_correction(page, settings, tmp_path):
    """Ctrl+Z on the focused strip undoes the latest review action, Ctrl+Shift+Z and Ctrl+Y
    redo it (each presses the page's Undo / Redo form)."""
    from recordings import review_services

    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("redo-user", password=PASSWORD)
    recording = done_recording(user)
    review_services.beat_correct(user=user, recording=recording, beat_indices=[12], label="A")
    log_in(page, "redo-user")
    page.goto(f"/recordings/{recording.pk}/")
    assert page.locator("#review-redo").count() == 0
    for keys, message, label in (
        ("Control+z", "Undone: beat 12 → A", ""),
        ("Control+Shift+Z", "Redone: beat 12 → A", "A"),
        ("Control+z", "Undone: beat 12 → A", ""),
        ("Control+y", "Redone: beat 12 → A", "A"),
    ):
        page.locator("#strip-canvas").focus()
        with page.expect_navigation():
            page.keyboard.press(keys)
        page.get_by_text(message).wait_for()
        assert recording.beats.get(index=12).reviewed_label == label
    assert page.locator("#review-redo").count() == 0 and page.locator("#review-undo").count() == 1


def test_undo_this_action_in_the_history(page, settings, tmp_path):
    """The templates page's action history: "Undo this action" on an older correction undoes it
    alone; the beat a later action changed again keeps its later label, and the page says so."""
    from recordings import review_services

    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("history-user", password=PASSWORD)
    recording = done_recording(user)
    review_services.beat_correct(user=user, recording=recording, beat_indices=[1, 2], label="A")
    review_services.beat_correct(user=user, recording=recording, beat_indices=[2], label="L")
    log_in(page, "history-user")
    page.goto(f"/recordings/{recording.pk}/templates/")
    rows = page.locator("#review-history + p + div tbody tr")
    assert rows.count() == 2
    assert "corrected beat 2 A → L" in rows.nth(0).inner_text()
    older = rows.nth(1)
    assert "corrected 2 beats N → A" in older.inner_text()
    with page.expect_navigation():
        older.get_by_role("button", name="Undo this action").click()
    page.get_by_text(
        "Undone: 2 beats → A. 1 of 2 beats was changed again later and kept their later label."
    ).wait_for()
    assert recording.beats.get(index=1).reviewed_label == ""
    assert recording.beats.get(index=2).reviewed_label == "L"
    # newest first: the undo alone, then the two corrections, the older one marked undone
    assert rows.count() == 3 and "undone alone" in rows.nth(2).inner_text()
    assert rows.nth(2).get_by_role("button", name="Undo this action").count() == 0


def test_undo_this_action_under_the_strip(page, settings, tmp_path):
    """The recording page's "Review actions" panel: the same rows as the templates page;
    "Undo this action" there undoes an older action alone and comes back to the strip."""
    from recordings import review_services

    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("panel-user", password=PASSWORD)
    recording = done_recording(user)
    review_services.beat_correct(user=user, recording=recording, beat_indices=[1, 2], label="A")
    review_services.beat_correct(user=user, recording=recording, beat_indices=[2], label="L")
    log_in(page, "panel-user")
    page.goto(f"/recordings/{recording.pk}/")
    rows = page.locator("#review-actions tbody tr")
    assert rows.count() == 2
    assert "corrected beat 2 A → L" in rows.nth(0).inner_text()
    with page.expect_navigation():
        rows.nth(1).get_by_role("button", name="Undo this action").click()
    page.get_by_text("Undone: 2 beats → A. 1 of 2 beats was changed again later").wait_for()
    assert page.url.endswith(f"/recordings/{recording.pk}/#review-actions")
    assert recording.beats.get(index=1).reviewed_label == ""
    assert recording.beats.get(index=2).reviewed_label == "L"
    assert rows.count() == 3 and "undone alone" in rows.nth(2).inner_text()
    page.get_by_role("link", name="All your review actions").click()
    page.locator("#review-history").wait_for()
