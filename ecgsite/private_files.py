"""One way to send a user's private file (uploaded image, heat map, PDF, recording export).

The policy, everywhere: ``Cache-Control: private`` -- the user's own browser may keep a copy,
a shared cache (proxy, CDN) never does, since these are health data -- and
``X-Content-Type-Options: nosniff``, so an uploaded file is never run as something else.
Stored files that never change (an uploaded image, its heat map, a PDF) may be kept for an
hour; data that changes or that the user asked to download fresh (``cache_seconds=0``) is
``no-store``.
"""

from __future__ import annotations

import io
from typing import IO

from django.http import FileResponse

STORED_FILE_CACHE_SECONDS = 3600


def private_headers(*, cache_seconds: int = STORED_FILE_CACHE_SECONDS) -> dict[str, str]:
    """The policy's headers, for responses built in memory (JSON, a thumbnail, a streamed CSV)."""
    cache = f"private, max-age={cache_seconds}" if cache_seconds > 0 else "private, no-store"
    return {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}


def private_file_response(
    file: IO[bytes] | bytes,
    *,
    content_type: str,
    filename: str | None = None,
    cache_seconds: int = STORED_FILE_CACHE_SECONDS,
) -> FileResponse:
    """Stream ``file`` (an open handle, closed when sent, or bytes) to its owner.

    With ``filename`` it is a download (``Content-Disposition: attachment``)."""
    handle = io.BytesIO(file) if isinstance(file, bytes) else file
    download = {"as_attachment": True, "filename": filename} if filename else {}
    return FileResponse(
        handle,
        content_type=content_type,
        headers=private_headers(cache_seconds=cache_seconds),
        **download,
    )
