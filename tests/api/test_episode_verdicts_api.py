"""The API's episode verdicts (issue 20): read the episodes with their states, write a verdict
or an added episode, withdraw it; owners only (others 404, nothing written); in the schema."""

from __future__ import annotations

import pytest

from recordings.models import EpisodeVerdict, Recording
from tests.recordings.test_episode_verdicts import AF, PAUSE, with_episodes

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(user) -> Recording:
    return with_episodes(user)


def test_read_write_and_withdraw(rec, alice_api):
    alice = alice_api
    base = f"/api/v1/recordings/{rec.pk}/episodes/"
    body = alice.get(base).json()
    assert [e["state"] for e in body["episodes"]] == ["not reviewed", "not reviewed"]
    assert body["unmatched"] == [] and body["rejected"] == 0

    reject = {"verdict": "rejected", "kind": "pause", "start_s": 40.1, "end_s": 42.5,
              "note": "noise"}  # fmt: skip
    response = alice.post(f"{base}verdicts/", reject, format="json")
    assert response.status_code == 201
    body = response.json()
    pause = body["episodes"][1]
    assert pause["state"] == "rejected" and pause["state_text"] == "rejected by alice"
    assert pause["verdict"]["note"] == "noise" and pause["verdict"]["by"] == "alice"
    assert body["counts"] == [
        {"kind": "AF", "label": "Atrial fibrillation / flutter", "count": 1, "total_s": 20.0}
    ]
    assert body["rejected"] == 1

    add = {"verdict": "added", "kind": "SVT", "start_s": 30.0, "end_s": 33.0}
    body = alice.post(f"{base}verdicts/", add, format="json").json()
    assert [(e["kind"], e["state"], e["added"]) for e in body["episodes"]] == [
        ("AF", "not reviewed", False),
        ("SVT", "added", True),
        ("pause", "rejected", False),
    ]
    # an added episode's beats are counted in its span, as a corrected one's are
    stored = rec.beats.filter(time_s__gte=30.0 - 0.005, time_s__lte=33.0 + 0.005).count()
    assert stored > 0 and body["episodes"][1]["beats"] == stored

    verdict = pause["verdict"]["id"]
    body = alice.post(f"{base}verdicts/{verdict}/withdraw/").json()
    assert body["episodes"][2]["state"] == "not reviewed"
    again = alice.post(f"{base}verdicts/{verdict}/withdraw/")
    assert again.status_code == 400 and "already withdrawn" in again.json()["message"]

    trail = alice.get(f"{base}verdicts/").json()["results"]
    assert [(r["verdict"], r["withdrawn_by"]) for r in trail] == [
        ("added", ""),
        ("rejected", "alice"),
    ]
    # the recording's own summary keeps the model's episodes
    detail = alice.get(f"/api/v1/recordings/{rec.pk}/").json()
    assert detail["summary"]["episodes"] == [AF, PAUSE]
    assert detail["links"]["episodes"].endswith(base)


def test_bad_verdicts_are_refused_with_nothing_written(rec, alice_api):
    alice = alice_api
    url = f"/api/v1/recordings/{rec.pk}/episodes/verdicts/"
    outside = {"verdict": "added", "kind": "AF", "start_s": 10.0, "end_s": 1000.0}
    response = alice.post(url, outside, format="json")
    assert response.status_code == 400
    assert "within the recording" in response.json()["message"]
    gone = {"verdict": "confirmed", "kind": "AF", "start_s": 6.0, "end_s": 25.0}
    response = alice.post(url, gone, format="json")
    assert response.status_code == 409 and response.json()["code"] == "episode_not_found"
    assert alice.post(url, {"verdict": "maybe"}, format="json").status_code == 400
    assert not EpisodeVerdict.objects.exists()


def test_another_user_gets_404_and_writes_nothing(rec, alice_api, bob_api):
    bob = bob_api
    base = f"/api/v1/recordings/{rec.pk}/episodes/"
    assert bob.get(base).status_code == 404
    assert bob.get(f"{base}verdicts/").status_code == 404
    confirm = {"verdict": "confirmed", "kind": "AF", "start_s": 5.0, "end_s": 25.0}
    assert bob.post(f"{base}verdicts/", confirm, format="json").status_code == 404
    verdict = alice_api.post(f"{base}verdicts/", confirm, format="json").json()
    pk = verdict["episodes"][0]["verdict"]["id"]
    assert bob.post(f"{base}verdicts/{pk}/withdraw/").status_code == 404
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 1


def test_the_schema_documents_the_episode_verdicts():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/recordings/{id}/episodes/verdicts/"]
    assert "post" in paths["/api/v1/recordings/{id}/episodes/verdicts/{verdict_id}/withdraw/"]
    assert "get" in paths["/api/v1/recordings/{id}/episodes/"]
    components = schema["components"]["schemas"]
    episode = components["ReviewedEpisode"]["properties"]
    assert {"state", "state_text", "verdict", "added"} <= set(episode)
    assert set(components["EpisodeVerdictEnum"]["enum"]) == {
        "confirmed",
        "rejected",
        "added",
        "corrected",
    }
    assert "not reviewed" in components["EpisodeStateEnum"]["enum"]
