"""Staff-only admin; CSRF enforced on the login forms."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Str0ng-pass-123"


def test_admin_refuses_anonymous_and_non_staff_users():
    assert Client().get("/admin/").status_code == 302
    get_user_model().objects.create_user("nurse", password=PASSWORD)
    client = Client()
    client.force_login(get_user_model().objects.get(username="nurse"))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_admits_staff():
    staff = get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("url", ["/admin/login/"])
def test_login_form_without_csrf_token_is_refused(url):
    get_user_model().objects.create_user("boss", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    response = client.post(url, {"username": "boss", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
