"""Crafted query strings and unknown API URLs (issue 15 item 13): a 4xx with a message, never
a 500, and the API answers JSON for Django's own 404 and 500 too."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from recordings.models import Recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def analysed(user) -> Recording:
    """A "done" recording of 20 s of a sine (the strip needs only the signal file)."""
    buffer = io.BytesIO()
    np.save(buffer, np.sin(np.arange(7200, dtype=np.float32) / 20)[None, :])
    name = default_storage.save("recordings/x/signals.npy", ContentFile(buffer.getvalue()))
    return Recording.objects.create(
        owner=user, name="x", file_format="csv", sampling_rate=360.0, n_samples=7200,
        duration_s=20.0, lead="MLII", lead_names=["MLII"], signal_file=name,
        status=Recording.Status.DONE,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("view", "query", "says"),
    [
        ("strip", "start=nan", "start must be a finite number"),
        ("strip", "seconds=nan", "seconds must be a finite number"),
        ("strip", "start=inf&seconds=5", "start must be a finite number"),
        ("strip", "seconds=-Infinity", "seconds must be a finite number"),
        ("find", "after=nan&label=N", "after must be a finite number"),
    ],
)
def test_non_finite_strip_parameters_are_a_400_with_a_message(
    user_client, analysed, view, query, says
):
    url = reverse(f"recordings:{view}", args=[analysed.pk])
    assert user_client.get(f"{url}?start=2&seconds=5").status_code == 200  # the control
    response = user_client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert says in response.json()["error"]


def test_result_ids_beyond_the_database_integer_are_a_404(user_client):
    url = reverse("classifier:batch")
    for ids in ("99999999999999999999", "1,99999999999999999999", "-5", str(2**63)):
        response = user_client.get(url, {"ids": ids})
        assert response.status_code == 404, ids


def test_unknown_api_url_answers_json_404(user_client):
    response = user_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found" and response.json()["message"]


def test_unexpected_api_error_answers_json_500_without_details(user, monkeypatch):
    from api import views

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(views.PredictionListCreate, "get", broken)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/api/v1/predictions/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error" and response.json()["message"]
    assert b"secret detail" not in response.content


def test_pages_outside_the_api_keep_html_errors(user_client):
    response = user_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
