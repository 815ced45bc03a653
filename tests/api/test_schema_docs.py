"""OpenAPI schema generation and the docs pages, served without any CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert text.startswith("openapi: 3.")
    assert "/api/v1/predictions/" in text


@pytest.mark.django_db
def test_schema_endpoint_is_public_json(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "ECG arrhythmia classifier API"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_only_local_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    # Swagger UI's files from the sidecar package, Redoc's script through api.docs_views
    assert "/static/drf_spectacular_sidecar/" in html or "/api/v1/redoc/redoc.standalone.js" in html
    # No script, stylesheet or image from another host (a CDN would break offline use).
    external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    assert external == [], external


@pytest.mark.django_db
def test_redoc_page_its_script_and_the_schema_name_no_other_host(client):
    html = client.get("/api/v1/redoc/").content.decode()
    assert "https://" not in html and "http://" not in html
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert scripts == ["/api/v1/redoc/redoc.standalone.js"]
    bundle = client.get(scripts[0])
    assert bundle.status_code == 200
    assert bundle["Content-Type"].startswith("text/javascript")
    code = b"".join(bundle.streaming_content) if bundle.streaming else bundle.content
    # Redoc's only request to the web was the Redocly logo in its menu footer: now the site icon
    assert b"cdn.redoc.ly" not in code
    assert b'src:"/static/favicon.png"' in code
    assert finders.find("favicon.png")
    # the schema brings no logo (x-logo) nor any other address from the web
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    text = schema.content.decode()
    assert "x-logo" not in text
    # only the pagination examples' placeholder host (text for the reader, never fetched)
    assert set(re.findall(r"https?://([^/\"]+)", text)) <= {"api.example.org"}


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["message"] == "No API endpoint at /api/v1/nothing-here/."
