"""The result page's heat map and PDF report (session login, owner only)."""

import io

import pytest
from pypdf import PdfReader

from classifier import services
from tests.factories import beat_image_bytes, build_tiny_bundle

pytestmark = pytest.mark.django_db


@pytest.fixture
def prediction(user, installed_tiny_models):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("beat.png", beat_image_bytes())
    return services.prediction_create(owner=user, uploaded_file=upload, patient_reference="P-9")


def test_result_page_shows_heat_map_note_and_pdf_link(user_client, prediction):
    page = user_client.get(prediction.get_absolute_url()).content.decode()
    assert f'src="/reports/predictions/{prediction.pk}/heatmap.png"' in page
    assert "Warm colours mark the parts of the image" in page
    assert f'href="/reports/predictions/{prediction.pk}/report.pdf"' in page


def test_result_page_says_why_there_is_no_heat_map(user_client, prediction, settings, tmp_path):
    build_tiny_bundle(tmp_path / "other", "replacement", kind="beat_image")
    settings.MODELS_DIR = tmp_path / "other"
    page = user_client.get(prediction.get_absolute_url()).content.decode()
    assert 'id="heatmap-unavailable"' in page and "is no longer installed" in page
    assert "heatmap.png" not in page


def test_heat_map_and_pdf_are_served_to_the_owner_only(client, user_client, other_user, prediction):
    heatmap_url = f"/reports/predictions/{prediction.pk}/heatmap.png"
    report_url = f"/reports/predictions/{prediction.pk}/report.pdf"
    heatmap = user_client.get(heatmap_url)
    assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/png"
    assert heatmap["Cache-Control"] == "private, max-age=3600"
    report = user_client.get(report_url)
    assert report.status_code == 200 and report["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(b"".join(report.streaming_content))).pages[0].extract_text()
    assert "P-9" in text and "Premature Ventricular Contraction" in text

    client.logout()
    assert client.get(heatmap_url).status_code == 302  # to the login page
    client.force_login(other_user)
    assert client.get(heatmap_url).status_code == 404
    assert client.get(report_url).status_code == 404


def test_pdf_still_builds_without_heat_map(user_client, prediction, settings, tmp_path):
    settings.MODELS_DIR = tmp_path / "empty"
    report = user_client.get(f"/reports/predictions/{prediction.pk}/report.pdf")
    text = PdfReader(io.BytesIO(b"".join(report.streaming_content))).pages[0].extract_text()
    assert "No heat map" in " ".join(text.split()) and "P-9" in text


def test_prediction_pdf_renders_without_overlapping_text(user_client, prediction, tmp_path):
    from tests.api.pdf_layout import overlapping_text, render_png

    report = user_client.get(f"/reports/predictions/{prediction.pk}/report.pdf")
    pdf = b"".join(report.streaming_content)
    assert overlapping_text(pdf) == []
    assert len(render_png(pdf, "prediction-report", tmp_path)) == 1


def test_profile_link_in_the_menu(user_client):
    page = user_client.get("/api/token/").content.decode()
    assert "Your profile" in page and 'href="/api/token/"' in page
