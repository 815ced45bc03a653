"""Rhythm episodes in the product (issue 20, point 3): stored in the summary by the analysis,
listed on the recording page, in the strip data, the API and the PDF; owners only."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from recordings.models import Recording

from .synth import beat_times, ecg
from .test_unreadable import FS, csv_bytes, upload_csv

PAUSE_AT = 10.1  # the last beat before a real 2.4-s pause (two beats left out)
FLAT_S = (30.0, 42.0)  # the lead is off: 12 s of flat line, no beat detected in it
KEYS = {"kind", "label", "start_s", "end_s", "duration_s", "beats"}


@pytest.fixture
def paused(client, env, users, django_capture_on_commit_callbacks) -> Recording:
    """60 s of synthetic sinus rhythm with one real pause and one lead-off stretch."""
    times = beat_times(60.0)
    times = times[~((times > PAUSE_AT + 0.4) & (times < PAUSE_AT + 2.0))]  # beats at 10.1, 12.5
    x = ecg(FS, 60.0, times)
    lo, hi = (int(t * FS) for t in FLAT_S)
    x[lo:hi] = 0.0
    recording = upload_csv(client, users["alice"], csv_bytes(x), django_capture_on_commit_callbacks)
    assert recording.status == Recording.Status.DONE, recording.error
    return recording


def pauses(recording: Recording) -> list[dict]:
    return [e for e in recording.summary["episodes"] if e["kind"] == "pause"]


@pytest.mark.django_db
def test_the_analysis_stores_the_real_pause_and_not_the_flat_line(paused):
    assert all(set(e) == KEYS for e in paused.summary["episodes"])
    found = pauses(paused)
    assert len(found) == 1, paused.summary["episodes"]
    assert found[0]["start_s"] == pytest.approx(PAUSE_AT, abs=0.05)
    assert found[0]["duration_s"] == pytest.approx(2.4, abs=0.1)
    assert found[0]["label"] == "Pause (RR > 2 s)" and found[0]["beats"] == 2
    # The flat stretch is unreadable and holds no beat: it is no pause, whatever its length.
    assert any(not row["readable"] for row in paused.quality["segments"])


@pytest.mark.django_db
def test_the_page_lists_events_with_jump_links_and_counts(client, paused):
    html = client.get(paused.get_absolute_url()).content.decode()
    assert 'id="events-table"' in html
    start = pauses(paused)[0]["start_s"]
    assert f'class="jump" data-time="{start}">{start} s</a>' in html
    assert 'data-kind="pause">Pause (RR &gt; 2 s): <strong>1</strong>' in html


@pytest.mark.django_db
def test_the_strip_carries_the_episodes_of_its_window_only(client, paused):
    url = reverse("recordings:strip", args=[paused.pk])
    near = client.get(url, {"start": 5, "seconds": 10}).json()
    assert [e["kind"] for e in near["episodes"] if e["kind"] == "pause"] == ["pause"]
    assert KEYS <= set(near["episodes"][0])
    after = client.get(url, {"start": 45, "seconds": 10}).json()
    assert all(e["end_s"] >= 45 and e["start_s"] < 55 for e in after["episodes"])
    assert not [e for e in after["episodes"] if e["kind"] == "pause"]


@pytest.mark.django_db
def test_another_user_sees_no_events_of_the_recording(client, users, paused):
    client.force_login(users["bob"])
    assert client.get(paused.get_absolute_url()).status_code == 404
    strip = reverse("recordings:strip", args=[paused.pk])
    assert client.get(strip, {"start": 5, "seconds": 10}).status_code == 404
    assert client.get(reverse("reports:recording-report", args=[paused.pk])).status_code == 404
    api = APIClient()
    api.force_authenticate(users["bob"])
    assert api.get(f"/api/v1/recordings/{paused.pk}/").status_code == 404
    api.force_authenticate(users["alice"])
    body = api.get(f"/api/v1/recordings/{paused.pk}/").json()
    assert body["summary"]["episodes"] == paused.summary["episodes"]


@pytest.mark.django_db
def test_long_event_lists_are_cut_and_old_analyses_say_so(client, paused):
    rows = [
        {"kind": "pause", "label": "Pause (RR > 2 s)", "start_s": 100.0 + i, "end_s": 102.5 + i,
         "duration_s": 2.5, "beats": 2}
        for i in range(55)
    ] + [{"kind": "AF", "label": "Atrial fibrillation / flutter", "start_s": 300.0,
          "end_s": 400.0, "duration_s": 100.0, "beats": 150}]  # fmt: skip
    Recording.objects.filter(pk=paused.pk).update(summary=paused.summary | {"episodes": rows})
    html = client.get(paused.get_absolute_url()).content.decode()
    assert "and 6 more" in html and html.count('<tr data-kind="') == 50
    assert "Pause (RR &gt; 2 s): <strong>55</strong> (137.5 s)" in html
    assert "Atrial fibrillation / flutter: <strong>1</strong> (100.0 s)" in html

    old = {k: v for k, v in paused.summary.items() if k != "episodes"}
    Recording.objects.filter(pk=paused.pk).update(summary=old)
    html = client.get(paused.get_absolute_url()).content.decode()
    assert "analysed before rhythm events were detected" in html
    strip = client.get(reverse("recordings:strip", args=[paused.pk]), {"start": 5}).json()
    assert strip["episodes"] == []


def pdf_text(client, recording: Recording) -> tuple[bytes, str]:
    from pypdf import PdfReader

    response = client.get(reverse("reports:recording-report", args=[recording.pk]))
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    reader = PdfReader(io.BytesIO(pdf))
    return pdf, " ".join(" ".join(p.extract_text() for p in reader.pages).split())


@pytest.mark.django_db
def test_the_pdf_lists_the_first_30_events_and_counts_the_rest(client, paused):
    from tests.api.pdf_layout import overlapping_text

    _pdf, text = pdf_text(client, paused)
    pause = pauses(paused)[0]
    assert "Rhythm events" in text
    assert f"Pause (RR > 2 s) {pause['start_s']:.2f} s {pause['end_s']:.2f} s" in text

    rows = [
        {"kind": "pause", "label": "Pause (RR > 2 s)", "start_s": 100.0 + 3 * i,
         "end_s": 102.5 + 3 * i, "duration_s": 2.5, "beats": 2}
        for i in range(35)
    ]  # fmt: skip
    Recording.objects.filter(pk=paused.pk).update(summary=paused.summary | {"episodes": rows})
    paused.refresh_from_db()
    pdf, text = pdf_text(client, paused)
    assert "Per kind: Pause (RR > 2 s) 35." in text
    assert "The first 30 are listed; 5 more are not." in text
    assert "187.00 s" in text and "190.00 s" not in text  # the 30th event starts at 187 s
    assert overlapping_text(pdf) == []


def test_the_schema_documents_the_summary_episodes():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    summary = components["Recording"]["properties"]["summary"]
    assert summary["allOf"][0]["$ref"].endswith("/RecordingSummary")
    episodes = components["RecordingSummary"]["properties"]["episodes"]
    assert episodes["items"]["$ref"].endswith("/Episode")
    episode = components["Episode"]["properties"]
    assert {"kind", "label", "start_s", "end_s", "duration_s", "beats"} <= set(episode)
    assert episode["kind"]["allOf"][0]["$ref"].endswith("/EpisodeKindEnum")
    kinds = components["EpisodeKindEnum"]["enum"]
    assert {"AF", "VT", "pause", "bigeminy"} <= set(kinds)


@pytest.mark.django_db
def test_a_recording_that_ends_in_asystole_says_so_on_the_page_the_pdf_and_the_api(
    client, env, users, django_capture_on_commit_callbacks
):
    times = beat_times(60.0)
    x = ecg(FS, 60.0, times[times < 40.0])  # no beat after 40 s: quiet baseline, not flat
    recording = upload_csv(client, users["alice"], csv_bytes(x), django_capture_on_commit_callbacks)
    assert recording.status == Recording.Status.DONE, recording.error
    end = pauses(recording)
    label = "Pause (no beat for over 2 s at the recording's end)"
    assert [(e["label"], e["end_s"], e["beats"]) for e in end] == [(label, 60.0, 1)]
    assert recording.summary["analysable_share"] == 1.0
    html = client.get(recording.get_absolute_url()).content.decode()
    assert label.replace("'", "&#x27;") in html
    _pdf, text = pdf_text(client, recording)
    assert f"{label} {end[0]['start_s']:.2f} s 60.00 s" in text
    api = APIClient()
    api.force_authenticate(users["alice"])
    body = api.get(f"/api/v1/recordings/{recording.pk}/").json()
    assert [e for e in body["summary"]["episodes"] if e["kind"] == "pause"] == end
