"""The API's own pages in a real browser under the site's Content Security Policy: the Swagger
UI and Redoc render (the page fixture fails the test on any CSP violation or JS error)."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Browser-test-passphrase-7"


def log_in(page, username: str) -> None:
    get_user_model().objects.create_user(username, password=PASSWORD)
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_swagger_ui_renders_under_the_csp(page, screenshot):
    log_in(page, "api_reader")
    page.goto("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=20_000)
    assert "ECG arrhythmia classifier API" in page.locator(".swagger-ui .info").inner_text()
    screenshot(page, "api-docs")


def test_redoc_renders_under_the_csp_and_asks_no_other_host(page, live_server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, "api_reader2")
    page.goto("/api/v1/redoc/")
    page.wait_for_selector("redoc h1, [role=main] h1, .api-info h1", timeout=20_000)
    # the menu footer's logo (Redocly's CDN before) is the site's icon, and it loaded
    logo = page.locator("img[alt='redocly logo']")
    logo.wait_for()
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 64
    local = (live_server.url, "blob:", "data:")
    assert [url for url in requested if not url.startswith(local)] == []
