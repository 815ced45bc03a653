"""The API's exports of a recording's episodes as reviewed (issue 20): the events CSV and the
WFDB annotation file, listed under ``links``; another user gets 404."""

from __future__ import annotations

import csv
import io

import pytest

from recordings import episode_services
from recordings.models import Recording
from tests.recordings.test_episode_verdicts import AF, PAUSE, with_episodes

pytestmark = pytest.mark.django_db


@pytest.fixture
def rec(user) -> Recording:
    recording = with_episodes(user)
    episode_services.episode_verdict_give(
        user=user, recording=recording, verdict="rejected", kind="pause",
        start_s=PAUSE["start_s"], end_s=PAUSE["end_s"], note="noise",
    )  # fmt: skip
    return recording


def test_links_csv_and_annotations(rec, alice_api, tmp_path):
    import wfdb

    links = alice_api.get(f"/api/v1/recordings/{rec.pk}/").json()["links"]
    assert links["episodes_csv"].endswith(f"/api/v1/recordings/{rec.pk}/episodes.csv")
    assert links["annotations"].endswith(f"/api/v1/recordings/{rec.pk}/annotations.atr")

    response = alice_api.get(links["episodes_csv"])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["kind"], r["state"], r["by"], r["note"]) for r in rows] == [
        ("AF", "not reviewed", "", ""),
        ("pause", "rejected", rec.owner.username, "noise"),
    ]

    response = alice_api.get(links["annotations"])
    assert response.status_code == 200
    (tmp_path / "rec.atr").write_bytes(response.content)
    ann = wfdb.rdann(str(tmp_path / "rec"), "atr")
    rhythm = [n for s, n in zip(ann.symbol, ann.aux_note, strict=True) if s == "+"]
    assert rhythm == ["(AFIB", "(N"]  # the rejected pause: no comment either
    assert '"' not in ann.symbol
    assert ann.sample[ann.symbol.index("+")] == round(AF["start_s"] * rec.sampling_rate)


def test_another_user_gets_404(rec, bob_api):
    for path in ("episodes.csv", "annotations.atr"):
        assert bob_api.get(f"/api/v1/recordings/{rec.pk}/{path}").status_code == 404
