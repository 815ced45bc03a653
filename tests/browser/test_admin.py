"""The admin in a real browser: staff only, CSP-clean, throttled like every login."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_member_logs_into_admin(page, screenshot):
    get_user_model().objects.create_user("boss", password="Str0ng-pass-123", is_staff=True)
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "boss")
    page.fill("#id_password", "Str0ng-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert page.locator("#site-name").is_visible()
    screenshot(page, "admin")


def test_non_staff_user_is_refused_by_admin(page):
    get_user_model().objects.create_user("nurse", password="Str0ng-pass-123")
    page.goto("/admin/login/")
    page.fill("#id_username", "nurse")
    page.fill("#id_password", "Str0ng-pass-123")
    page.click("input[type=submit]")
    assert "/admin/login/" in page.url
    assert page.locator(".errornote").is_visible()
