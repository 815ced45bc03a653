"""The API's "confirm / reject all of a kind" (issue 20): POST .../episodes/confirm-kind/ and
.../episodes/reject-kind/ (one service), one batch undone by .../batches/{batch}/withdraw/, the
note on every row of the audit trail, a bad kind or a stale count 400 with nothing written,
another user 404, and the OpenAPI schema."""

from __future__ import annotations

import pytest

from recordings.models import EpisodeVerdict

from .test_episode_corrections_api import rec  # noqa: F401 (a fixture: AF and two pauses)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("action", "verdict", "other"),
    [("confirm-kind", "confirmed", "rejected"), ("reject-kind", "rejected", "confirmed")],
)
def test_all_of_a_kind_and_undo_the_batch(rec, alice_api, action, verdict, other):  # noqa: F811
    url = f"/api/v1/recordings/{rec.pk}/episodes/{action}/"
    bad = alice_api.post(url, {"kind": "asystole"}, format="json")
    assert bad.status_code == 400 and "asystole" in str(bad.json())
    stale = alice_api.post(url, {"kind": "pause", "expected": 3}, format="json")
    assert stale.status_code == 400 and "recounted" in stale.json()["message"]
    assert not EpisodeVerdict.objects.exists()

    response = alice_api.post(url, {"kind": "pause", "expected": 2, "note": "n"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["verdict"], body[verdict], body[other]) == (verdict, 2, 0)
    episodes = body["episodes"]
    states = [(e["kind"], e["state"]) for e in episodes["episodes"]]
    assert states == [("AF", "not reviewed"), ("pause", verdict), ("pause", verdict)]
    kept = ["AF", "pause"] if verdict == "confirmed" else ["AF"]  # rejected: out of the counts
    assert sorted(c["kind"] for c in episodes["counts"]) == kept
    trail = alice_api.get(f"/api/v1/recordings/{rec.pk}/episodes/verdicts/").json()["results"]
    assert {(r["verdict"], r["note"], r["batch"]) for r in trail} == {(verdict, "n", body["batch"])}
    again = alice_api.post(url, {"kind": "pause"}, format="json")
    assert again.status_code == 400 and f"nothing {verdict}" in again.json()["message"]

    base = f"/api/v1/recordings/{rec.pk}/episodes/batches/{body['batch']}/withdraw/"
    undo = alice_api.post(base)
    assert undo.status_code == 200
    assert (undo.json()["verdict"], undo.json()[verdict], undo.json()[other]) == (verdict, 2, 0)
    assert {e["state"] for e in undo.json()["episodes"]["episodes"]} == {"not reviewed"}
    assert alice_api.post(base).status_code == 400


def test_another_user_gets_404_and_writes_nothing(rec, bob_api):  # noqa: F811
    for action in ("confirm-kind", "reject-kind"):
        url = f"/api/v1/recordings/{rec.pk}/episodes/{action}/"
        assert bob_api.post(url, {"kind": "pause"}, format="json").status_code == 404
    assert not EpisodeVerdict.objects.exists()


def test_the_schema_documents_reject_kind():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    post = schema["paths"]["/api/v1/recordings/{id}/episodes/reject-kind/"]["post"]
    assert "Reject every episode of one kind" in post["summary"]
    assert {"201", "400", "404"} <= set(post["responses"])
    batch = schema["components"]["schemas"]["EpisodeBatch"]["properties"]
    assert {"verdict", "confirmed", "rejected"} <= set(batch)
