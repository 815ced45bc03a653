"""Reviewing rhythm events in a real browser (issue 20): Reject on an event of the Events list
saves the verdict, the list shows who rejected it, the count leaves it out, and the strip's
data marks it rejected (strip.js draws it as a grey dashed outline); Correct the span moves an
event's edges, shown on the row, in the counts and on the strip, and its Undo takes it back."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from recordings.models import EpisodeVerdict
from tests.recordings.test_episode_verdicts import with_episodes

from .test_journeys import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_reject_an_event_on_the_recording_page(page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("event-user", password=PASSWORD)
    recording = with_episodes(user)
    log_in(page, "event-user")
    page.goto(f"/recordings/{recording.pk}/")

    row = page.locator('#events-table tr[data-kind="pause"]')
    row.get_by_placeholder("note (optional)").fill("baseline wander")
    with page.expect_navigation():
        row.get_by_role("button", name="Reject").click()
    page.get_by_text("Saved: Pause (RR > 2 s) at 40.1-42.5 s rejected.").wait_for()
    row = page.locator('#events-table tr[data-kind="pause"]')
    assert row.get_attribute("data-state") == "rejected"
    assert row.locator(".event-state").inner_text() == "rejected by event-user (baseline wander)"
    assert "1 rejected event left out" in page.locator("#events-counts").inner_text()
    verdict = EpisodeVerdict.objects.get(recording=recording)
    assert (verdict.verdict, verdict.created_by_id) == ("rejected", user.pk)

    strip = page.evaluate(
        "() => fetch(document.getElementById('strip').dataset.stripUrl + '?start=35&seconds=10')"
        ".then(r => r.json())"
    )
    assert [(e["kind"], e["state"]) for e in strip["episodes"]] == [("pause", "rejected")]
    # the strip over the rejected pause draws without a script error (the page fixture fails
    # the test on one)
    page.goto(f"/recordings/{recording.pk}/?start=35#strip")
    page.locator("#strip-caption").filter(has_text=re.compile(r"^34\.0–")).wait_for()


def test_the_review_controls_fit_and_a_rejected_row_keeps_them_unstruck(page, settings, tmp_path):
    """Walked as a clinician (issue 20 follow-up): at desktop width the Events table sat in a
    half-width column and hid its Review column behind a sideways scroll; a rejected row struck
    its own Confirm button and note through, which reads as disabled; on a phone the Add form
    split each label from its field."""
    settings.MEDIA_ROOT = tmp_path / "media"
    get_user_model().objects.create_user("fit-user", password=PASSWORD)
    recording = with_episodes(get_user_model().objects.get(username="fit-user"))
    log_in(page, "fit-user")
    page.goto(f"/recordings/{recording.pk}/")
    box = page.locator("#events-table").evaluate(
        "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]"
    )
    assert box[0] <= box[1], f"the Events table scrolls sideways at 1280 px: {box}"

    row = page.locator('#events-table tr[data-kind="pause"]')
    with page.expect_navigation():
        row.get_by_role("button", name="Reject").click()
    row = page.locator('#events-table tr[data-kind="pause"]')
    decoration = "e => getComputedStyle(e).textDecorationLine"
    assert row.locator(".event-state").evaluate(decoration) == "line-through"
    assert row.locator(".event-review").evaluate(decoration) == "none"
    assert row.get_by_role("button", name="Confirm").is_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # each label sits on its field's line, not at the end of the line above
    offsets = page.evaluate(
        """() => ["kind", "start", "end"].map(f => {
            const mid = e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; };
            return Math.abs(mid(document.querySelector(`label[for="event-add-${f}"]`))
                - mid(document.getElementById(`event-add-${f}`)));
        })"""
    )
    assert max(offsets) < 8, offsets


def test_correct_an_events_span_on_the_recording_page(page, settings, tmp_path):
    """Correct the span: open the row's form, give the edges as the clock shows them, save;
    the row, the counts and the strip show the owner's span, the detected one beside it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("span-user", password=PASSWORD)
    recording = with_episodes(user)
    log_in(page, "span-user")
    page.goto(f"/recordings/{recording.pk}/")

    row = page.locator('#events-table tr[data-kind="AF"]')
    row.get_by_text("Correct the span").click()
    row.get_by_label("New start of the Atrial fibrillation / flutter").fill("0:03.5")
    row.get_by_label("New end of the Atrial fibrillation / flutter").fill("27")
    with page.expect_navigation():
        row.get_by_role("button", name="Save span").click()
    page.get_by_text("corrected to 3.5-27.0 s.").wait_for()
    row = page.locator('#events-table tr[data-kind="AF"]')
    assert row.get_attribute("data-state") == "corrected"
    assert row.locator(".event-state").inner_text() == (
        "corrected by span-user (detected 5.0–25.0 s)"
    )
    assert row.locator("a.jump").inner_text() == "3.5 s"
    assert "(23.5 s)" in page.locator('#events-counts [data-kind="AF"]').inner_text()
    verdict = EpisodeVerdict.objects.get(recording=recording)
    assert (verdict.verdict, verdict.corrected_start_s, verdict.corrected_end_s) == (
        "corrected", 3.5, 27.0,
    )  # fmt: skip
    strip = page.evaluate(
        "() => fetch(document.getElementById('strip').dataset.stripUrl + '?start=0&seconds=10')"
        ".then(r => r.json())"
    )
    assert [(e["kind"], e["start_s"], e["state"]) for e in strip["episodes"]] == [
        ("AF", 3.5, "corrected")
    ]
    # the strip draws it without a script error (the page fixture fails the test on one)
    page.goto(f"/recordings/{recording.pk}/?start=0#strip")
    page.locator("#strip-caption").wait_for()

    with page.expect_navigation():
        page.locator('#events-table tr[data-kind="AF"]').get_by_role(
            "button", name="Undo correction"
        ).click()
    row = page.locator('#events-table tr[data-kind="AF"]')
    assert row.get_attribute("data-state") == "not reviewed"
    assert row.locator("a.jump").inner_text() == "5.0 s"


# The text colours a phone's event card shows: the cell, its label, a rejected (greyed) row.
CARD_COLOURS = """rows => rows.flatMap(row => [...row.querySelectorAll('td[data-label]')]
  .map(td => {
    let back = td, colour = 'rgba(0, 0, 0, 0)';
    while (back && (colour === 'rgba(0, 0, 0, 0)' || colour === 'transparent')) {
        colour = getComputedStyle(back).backgroundColor; back = back.parentElement;
    }
    return [td.dataset.label, getComputedStyle(td).color, getComputedStyle(td, '::before').color,
            colour];
}))"""


def _hex(rgb: str, background: str = "#ffffff") -> str:
    """'rgb(r, g, b)' or 'rgba(r, g, b, a)' as #rrggbb, a translucent one over ``background``."""
    parts = [float(p) for p in rgb[rgb.index("(") + 1 : -1].split(",")]
    alpha = parts[3] if len(parts) == 4 else 1.0
    under = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(alpha * c + (1 - alpha) * u) for c, u in zip(parts[:3], under, strict=True)]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def test_the_events_table_reads_as_cards_on_a_phone(page, settings, tmp_path):
    """At 375 px the Events table scrolled sideways: each event is now a card of labelled
    lines (End and Beats too), its buttons wrapping inside the screen, and the bulk buttons
    too; Reject and Confirm work there; the text passes WCAG AA on the card; the desktop
    table is unchanged."""
    from tests.recordings.test_episode_bulk_confirm import with_bigeminy
    from tests.recordings.test_strip_paper import contrast

    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("phone-user", password=PASSWORD)
    recording = with_bigeminy(user)  # AF, three bigeminy episodes, a pause
    log_in(page, "phone-user")
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"/recordings/{recording.pk}/")
    page.get_by_text("Reject all 3 Ventricular bigeminy events not reviewed").click()
    page.get_by_role("button", name="Reject all 3").wait_for()

    widths = page.locator("#events-table").evaluate(
        """t => [t.scrollWidth, t.parentElement.scrollWidth, t.parentElement.clientWidth,
                 document.documentElement.scrollWidth]"""
    )
    assert widths[0] <= 375 and widths[1] <= widths[2] and widths[3] <= 375, widths
    row = page.locator('#events-table tr[data-kind="AF"]')
    assert row.locator('td[data-label="Beats"]').inner_text() == "25"  # shown on the card
    before = "td => getComputedStyle(td, '::before').content"
    assert row.locator('td[data-label="End"]').evaluate(before) == '"End: "'
    for button in ("Confirm", "Reject"):
        box = row.get_by_role("button", name=button).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (button, box)

    with page.expect_navigation():
        page.locator('#events-table tr[data-kind="pause"]').get_by_role(
            "button", name="Reject"
        ).click()
    with page.expect_navigation():
        page.locator('#events-table tr[data-kind="AF"]').get_by_role(
            "button", name="Confirm"
        ).click()
    page.get_by_text("Saved: Atrial fibrillation / flutter at 5.0-25.0 s confirmed.").wait_for()
    row = page.locator('#events-table tr[data-kind="AF"]')
    assert row.get_attribute("data-state") == "confirmed"
    assert row.locator(".event-state").inner_text() == "confirmed by phone-user"
    assert page.locator('#events-table tr[data-kind="pause"]').get_attribute("data-state") == (
        "rejected"
    )
    widths = page.locator("#events-table").evaluate(
        "t => [t.scrollWidth, t.parentElement.scrollWidth, t.parentElement.clientWidth]"
    )
    assert widths[0] <= 375 and widths[1] <= widths[2], widths

    cells = page.locator("#events-table tbody tr").evaluate_all(CARD_COLOURS)
    assert {c[0] for c in cells} >= {"Start", "End", "Duration", "Beats", "State"}
    for label, text, label_colour, background in cells:
        back = _hex(background)
        assert contrast(_hex(text, back), back) >= 4.5, (label, text, background)
        assert contrast(_hex(label_colour, back), back) >= 4.5, (label, label_colour)

    # the desktop layout is the table it was
    page.set_viewport_size({"width": 1280, "height": 860})
    cell = page.locator('#events-table tr[data-kind="AF"] td[data-label="End"]')
    assert cell.evaluate("td => getComputedStyle(td).display") == "table-cell"
    assert cell.evaluate(before) == "none"
    assert page.locator("#events-table thead").evaluate("h => h.offsetHeight") > 0


def test_reject_all_of_a_kind_in_two_steps_and_undo_all(page, settings, tmp_path):
    """Reject all: the first button only opens the step with its note; the second sends it;
    Undo all takes every rejection back."""
    from tests.recordings.test_episode_bulk_confirm import with_bigeminy

    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_user("bulk-user", password=PASSWORD)
    recording = with_bigeminy(user)
    log_in(page, "bulk-user")
    page.goto(f"/recordings/{recording.pk}/")

    page.get_by_text("Reject all 3 Ventricular bigeminy events not reviewed").click()
    assert not EpisodeVerdict.objects.exists()  # opening the step writes nothing
    page.get_by_label("Note on rejecting all 3 Ventricular bigeminy events").fill("lead off")
    with page.expect_navigation():
        page.get_by_role("button", name="Reject all 3").click()
    page.get_by_text("Rejected 3 Ventricular bigeminy events.").wait_for()
    rows = page.locator('#events-table tr[data-kind="bigeminy"]')
    assert [rows.nth(i).get_attribute("data-state") for i in range(3)] == ["rejected"] * 3
    assert rows.first.locator(".event-state").inner_text() == "rejected by bulk-user (lead off)"
    assert "3 rejected events left out" in page.locator("#events-counts").inner_text()

    with page.expect_navigation():
        page.get_by_role("button", name="Undo all 3").click()
    page.get_by_text("Withdrawn: 3 Ventricular bigeminy rejections.").wait_for()
    rows = page.locator('#events-table tr[data-kind="bigeminy"]')
    assert [rows.nth(i).get_attribute("data-state") for i in range(3)] == ["not reviewed"] * 3
