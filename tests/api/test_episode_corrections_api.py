"""The API's span corrections (issue 20): the fields a client reads
(``model_start_s`` / ``model_end_s``, the verdict's corrected span and batch), the audit trail,
the exports over the corrected span, bad input refused with nothing written, others 404, and
the schema."""

from __future__ import annotations

import csv
import io

import pytest

from recordings.models import EpisodeVerdict, Recording
from tests.recordings.test_episode_verdicts import AF, PAUSE, with_episodes

pytestmark = pytest.mark.django_db

CORRECT = {"verdict": "corrected", "kind": "AF", "start_s": 5.0, "end_s": 25.0,
           "corrected_start_s": 3.5, "corrected_end_s": 27.0, "note": "onset earlier"}  # fmt: skip


@pytest.fixture
def rec(user) -> Recording:
    recording = with_episodes(user)
    second = PAUSE | {"start_s": 50.0, "end_s": 52.5}
    Recording.objects.filter(pk=recording.pk).update(
        summary=recording.summary | {"episodes": [AF, PAUSE, second]}
    )
    recording.refresh_from_db()
    return recording


def test_correct_a_span_read_it_back_and_undo(rec, alice_api):
    base = f"/api/v1/recordings/{rec.pk}/episodes/"
    response = alice_api.post(f"{base}verdicts/", CORRECT, format="json")
    assert response.status_code == 201
    af = response.json()["episodes"][0]
    assert (af["start_s"], af["end_s"], af["duration_s"]) == (3.5, 27.0, 23.5)
    assert (af["model_start_s"], af["model_end_s"]) == (5.0, 25.0)
    assert af["state"] == "corrected" and af["beats"] == 30  # counted in 3.5-27 s
    verdict = af["verdict"]
    assert (verdict["start_s"], verdict["corrected_start_s"], verdict["corrected_end_s"]) == (
        5.0, 3.5, 27.0,
    )  # fmt: skip
    assert verdict["note"] == "onset earlier" and verdict["batch"] is None

    trail = alice_api.get(f"{base}verdicts/").json()["results"]
    assert [(r["verdict"], r["start_s"], r["corrected_start_s"]) for r in trail] == [
        ("corrected", 5.0, 3.5)
    ]
    rows = list(csv.DictReader(io.StringIO(alice_api.get(
        f"/api/v1/recordings/{rec.pk}/episodes.csv").content.decode())))  # fmt: skip
    assert (rows[0]["start_s"], rows[0]["state"], rows[0]["model_start_s"]) == (
        "3.500", "corrected", "5.000",
    )  # fmt: skip
    detail = alice_api.get(f"/api/v1/recordings/{rec.pk}/").json()
    assert detail["summary"]["episodes"][0] == AF  # the model's, unchanged

    body = alice_api.post(f"{base}verdicts/{verdict['id']}/withdraw/").json()
    assert (body["episodes"][0]["start_s"], body["episodes"][0]["state"]) == (5.0, "not reviewed")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"corrected_end_s": None}, "new start and end"),
        ({"corrected_end_s": 2.0}, "after the start"),
        ({"corrected_end_s": 600.0}, "within the recording"),
        ({"corrected_start_s": 5.0, "corrected_end_s": 25.0}, "confirm the event instead"),
    ],
)
def test_bad_corrections_are_400_with_nothing_written(rec, alice_api, change, message):
    url = f"/api/v1/recordings/{rec.pk}/episodes/verdicts/"
    response = alice_api.post(url, CORRECT | change, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_episode_verdict"
    assert message in response.json()["message"]
    assert not EpisodeVerdict.objects.exists()


def test_another_user_gets_404_and_writes_nothing(rec, alice_api, bob_api):
    base = f"/api/v1/recordings/{rec.pk}/episodes/"
    assert bob_api.post(f"{base}verdicts/", CORRECT, format="json").status_code == 404
    assert bob_api.post(f"{base}confirm-kind/", {"kind": "pause"}, format="json").status_code == 404
    batch = alice_api.post(f"{base}confirm-kind/", {"kind": "pause"}, format="json").json()["batch"]
    assert bob_api.post(f"{base}batches/{batch}/withdraw/").status_code == 404
    assert EpisodeVerdict.objects.filter(withdrawn_at=None).count() == 2


def test_the_schema_documents_corrections_and_batches():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "post" in paths["/api/v1/recordings/{id}/episodes/confirm-kind/"]
    assert "post" in paths["/api/v1/recordings/{id}/episodes/batches/{batch}/withdraw/"]
    components = schema["components"]["schemas"]
    assert {"model_start_s", "model_end_s"} <= set(components["ReviewedEpisode"]["properties"])
    assert {"corrected_start_s", "corrected_end_s", "batch"} <= set(
        components["Verdict"]["properties"]
    )
    assert {"corrected_start_s", "corrected_end_s"} <= set(
        components["EpisodeVerdictCreate"]["properties"]
    )
    assert "corrected" in components["EpisodeStateEnum"]["enum"]
