"""Expensive pages are bounded: a class's beat-image ZIP comes in parts of at most
RECORDING_ZIP_MAX_BEATS images, and ZIP, CSV, PDF and heat-map requests are limited per user and
minute (ecgsite.ratelimit, counted in the shared cache)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.cache import cache
from django.urls import reverse

from recordings import selectors

from . import test_web
from .test_web import client_for, done_recording

# the recordings web tests' commit hooks run per request (``env`` and ``users`` come from conftest)
_commit_hooks = test_web._commit_hooks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()  # the rate limit counts in the cache
    yield
    cache.clear()


def members(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.content[:300]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    # Each part also holds episodes.csv, the rhythm events (issue 20): the images only here.
    return {name: archive.read(name) for name in archive.namelist() if name.endswith(".png")}


def test_a_large_class_is_downloaded_in_capped_parts(client, env, users, tmp_path):
    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    label = recording.beats.values_list("label", flat=True).first()
    total = recording.beats.filter(label=label).count()
    assert total > 5
    folder = selectors.folder_name(label)
    url = reverse("recordings:zip", args=[recording.pk, folder])
    whole = members(client.get(url))  # default cap: the small recording in one ZIP, as before
    assert len(whole) == total

    env.RECORDING_ZIP_MAX_BEATS = 4
    env.RATE_LIMITS = {"export": 100, "heatmap": 100}  # not under test here
    parts = -(-total // 4)
    got: dict[str, bytes] = {}
    for part in range(1, parts + 1):
        response = client.get(url, {"part": part})
        suffix = "" if part == 1 else f"-part{part}"
        assert f"recording-{recording.pk}-{folder}{suffix}.zip" in response["Content-Disposition"]
        piece = members(response)
        assert len(piece) == (4 if part < parts else total - 4 * (parts - 1))
        got |= piece
    assert got == whole  # the parts together are the whole, image for image
    for bad in (parts + 1, 0, "x"):
        assert client.get(url, {"part": bad}).status_code == 404
    page = client.get(recording.get_absolute_url()).content.decode()
    assert f'{url}?part={parts}"' in page and f"ZIP part {parts} of {parts}" in page


def test_exports_are_rate_limited_per_user(client, env, users, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from ecgsite import ratelimit

    recording, _truth, _symbols = done_recording(client, users, tmp_path)
    # One fixed instant, 30 s into a window: the counts below never straddle a window's end.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 60.0 * 100_000 + 30.0))
    env.RATE_LIMITS = {"export": 2, "heatmap": 60}
    csv_url = reverse("recordings:csv", args=[recording.pk])
    assert client.get(csv_url).status_code == 200
    assert client.get(reverse("reports:recording-report", args=[recording.pk])).status_code == 200
    refused = client.get(csv_url)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 31
    assert "Too many exports" in refused.content.decode()
    label = recording.beats.values_list("label", flat=True).first()
    zip_url = reverse("recordings:zip", args=[recording.pk, selectors.folder_name(label)])
    assert client.get(zip_url).status_code == 429
    # the limit is per user: bob's requests are counted apart (and he may not see alice's: 404)
    client_for(client, users["bob"])
    assert client.get(csv_url).status_code == 404
    # pages that are not expensive are not counted
    client_for(client, users["alice"])
    assert client.get(recording.get_absolute_url()).status_code == 200


def test_heat_maps_have_their_own_budget(settings, user):
    from ecgsite.ratelimit import rate_limit_hit

    settings.RATE_LIMITS = {"export": 1, "heatmap": 3}
    assert [rate_limit_hit(scope="heatmap", user_id=user.pk) for _ in range(3)] == [0, 0, 0]
    assert rate_limit_hit(scope="heatmap", user_id=user.pk) > 0
    assert rate_limit_hit(scope="export", user_id=user.pk) == 0
    assert rate_limit_hit(scope="heatmap", user_id=user.pk + 1) == 0
