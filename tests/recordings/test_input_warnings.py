"""Input sanity warnings (issue 18, point 3) reach the recording page, the PDF and the API."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from reports.recording_services import recording_report_pdf

from .synth import beat_times, ecg
from .test_unreadable import FS, upload_csv


def lead_ii_csv(x: np.ndarray) -> bytes:
    return ("II\n" + "\n".join(f"{v:.4f}" for v in x) + "\n").encode()


@pytest.fixture
def inverted(client, env, alice, django_capture_on_commit_callbacks):
    x = -ecg(FS, 60.0, beat_times(60.0))  # lead II upside down
    return upload_csv(client, alice, lead_ii_csv(x), django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_an_inverted_lead_ii_is_warned_on_the_page_the_pdf_and_the_api(client, alice, inverted):
    assert inverted.status == inverted.Status.DONE, inverted.error
    # (The untrained test model calls most beats V, so "class_mix" fires beside it.)
    assert "inverted" in {w["code"] for w in inverted.quality["warnings"]}
    html = client.get(inverted.get_absolute_url()).content.decode()
    assert 'id="input-warnings"' in html and "may be inverted" in html
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        recording_report_pdf(recording=inverted))).pages)  # fmt: skip
    assert "may be inverted" in " ".join(text.split())
    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(f"/api/v1/recordings/{inverted.pk}/").json()
    assert "inverted" in {w["code"] for w in body["quality"]["warnings"]}


@pytest.mark.django_db
def test_an_upright_lead_ii_is_not_called_inverted(
    client, env, alice, django_capture_on_commit_callbacks
):
    x = ecg(FS, 60.0, beat_times(60.0))
    recording = upload_csv(client, alice, lead_ii_csv(x), django_capture_on_commit_callbacks)
    assert "inverted" not in {w["code"] for w in recording.quality["warnings"]}
    assert "may be inverted" not in client.get(recording.get_absolute_url()).content.decode()
