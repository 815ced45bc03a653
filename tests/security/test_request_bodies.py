"""Request bodies are refused from their headers, before anything reads (and spools) them.

Django writes a multipart file over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file as soon as
``request.POST`` is read, and CsrfViewMiddleware reads it for every POST ahead of the view's
login check. Here every upload handler is watched: none may be started.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client

pytestmark = pytest.mark.django_db

BIG = 3 * 1024 * 1024  # over FILE_UPLOAD_MAX_MEMORY_SIZE: would go to a temporary file


@pytest.fixture
def spooled(monkeypatch) -> list[str]:
    """Names of the files any upload handler started to receive."""
    started: list[str] = []
    for handler in (TemporaryFileUploadHandler, MemoryFileUploadHandler):
        real = handler.new_file

        def new_file(self, field_name, file_name, *args, _real=real, **kwargs):
            started.append(file_name)
            return _real(self, field_name, file_name, *args, **kwargs)

        monkeypatch.setattr(handler, "new_file", new_file)
    return started


def big_file(name: str = "100.dat") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\0" * BIG, content_type="application/octet-stream")


@pytest.mark.parametrize(
    ("url", "field"), [("/recordings/upload/", "files"), ("/predictions/new/", "images")]
)
def test_anonymous_page_upload_is_sent_to_login_unread(url, field, spooled):
    client = Client(enforce_csrf_checks=True)  # as a browser: the CSRF check reads the form
    response = client.post(url, {field: big_file()})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert spooled == []


def test_anonymous_api_upload_gets_401_json_unread(spooled):
    response = Client().post("/api/v1/recordings/", {"files": big_file()})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert spooled == []


def test_api_upload_with_a_bad_token_is_refused_unread(spooled):
    response = Client().post(
        "/api/v1/predictions/", {"image": big_file("beat.png")}, HTTP_AUTHORIZATION="Token nope"
    )
    assert response.status_code == 401
    assert spooled == []


def test_body_over_the_limit_gets_413_before_it_is_read(user_client, settings, spooled):
    settings.REQUEST_MAX_BYTES = 1_000_000
    response = user_client.post("/recordings/upload/", {"files": big_file()})
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert spooled == []


def test_api_body_over_the_limit_gets_413_json(user, settings, spooled):
    settings.REQUEST_MAX_BYTES = 1_000_000
    client = Client()
    client.force_login(user)
    response = client.post("/api/v1/recordings/", {"files": big_file()})
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large" and "at most 1 MB" in body["message"]
    assert spooled == []


def test_default_limit_admits_the_largest_upload(settings):
    from django.conf import settings as live

    assert live.REQUEST_MAX_BYTES > live.RECORDING_MAX_BYTES
    assert live.REQUEST_MAX_BYTES > live.UPLOAD_MAX_BYTES * live.DATA_UPLOAD_MAX_NUMBER_FILES


def test_uploads_under_the_limit_and_anonymous_logins_still_go_through(user, password, spooled):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": password, "padding": "x" * 5000}
    )
    assert response.status_code == 302 and "_auth_user_id" in client.session
    response = client.post("/recordings/upload/", {"files": big_file()})
    assert response.status_code in (200, 400, 503)  # the view saw it (and refused a bad file)
    assert "100.dat" in spooled  # the watch works: this one was received


def test_anonymous_large_body_elsewhere_is_refused_unread(spooled):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "attachment": big_file()})
    assert response.status_code == 302
    assert spooled == []


def test_an_upload_during_a_database_outage_still_gets_the_503_page(user, monkeypatch, spooled):
    from django.db import OperationalError, connection

    client = Client()
    client.force_login(user)

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.post("/recordings/upload/", {"files": big_file()})
    assert response.status_code == 503  # the outage page, not a 500 from reading the session here
