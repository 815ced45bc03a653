"""The site icon: linked from every page, and /favicon.ico for the pages that don't link it."""

import re

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

pytestmark = pytest.mark.django_db


def test_pages_link_the_icon_and_it_is_an_ecg_trace_image(client):
    html = client.get("/").content.decode()
    icons = re.findall(r'<link rel="icon" href="/static/([^"]+)"', html)
    assert icons == ["favicon.ico", "favicon.png"]
    with Image.open(finders.find("favicon.ico")) as ico:
        assert ico.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48)} <= ico.info["sizes"]
    with Image.open(finders.find("favicon.png")) as png:
        assert png.size == (64, 64)
        # a drawing (dark tile, bright trace), not a blank square
        assert len(png.convert("RGB").getcolors(maxcolors=4096)) > 10


def test_favicon_ico_redirects_to_the_static_file(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
    # whitenoise serves it (in production from the collected, hashed copy)
    with Image.open(finders.find(response["Location"].removeprefix("/static/"))) as ico:
        assert ico.format == "ICO"
