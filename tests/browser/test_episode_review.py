"""Reviewing rhythm events in a real browser (issue 20): Reject on an event of the Events list
saves the verdict, the list shows who rejected it, the count leaves it out, and the strip's
data marks it rejected (strip.js draws it as a grey dashed outline)."""

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
