"""One policy for private files: ``Cache-Control: private`` and ``nosniff``, everywhere."""

from __future__ import annotations

import io

from ecgsite.private_files import private_file_response, private_headers


def test_stored_files_may_be_kept_an_hour_by_the_users_browser_only():
    response = private_file_response(io.BytesIO(b"png"), content_type="image/png")
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert "Content-Disposition" not in response


def test_a_download_with_a_name_and_no_store():
    response = private_file_response(
        b"%PDF-", content_type="application/pdf", filename="r.pdf", cache_seconds=0
    )
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == 'attachment; filename="r.pdf"'
    assert b"".join(response.streaming_content) == b"%PDF-"


def test_headers_for_responses_that_are_not_files():
    assert private_headers(cache_seconds=0) == {
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
