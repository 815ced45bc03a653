"""The application's error vocabulary: one base class, mapped to an answer in two places.

An ``ApplicationError`` is an error the user can act on. It carries the sentence shown to them
(``message``), the HTTP status and a short machine-readable ``code``. Services raise them; views
do not catch them:

* pages: ``ecgsite.middleware.ApplicationErrorMiddleware`` renders ``template_name`` (or Django's
  404 page for a 404);
* API: ``api.exceptions.json_exception_handler`` answers ``{"status", "code", "message"}``.

The ``ecg`` library's errors (``RecordError``, ``RecordingFormatError``, ``DetectionError``...)
stay free of Django and of HTTP: the service that calls the library turns them into one of these.
(Styled after HackSoftware's Django-Styleguide ``ApplicationError``.)
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status: int = 400
    code: str = "invalid"
    message: str = "The request could not be handled."
    # The page that explains the error; "" shows errors/request_refused.html with the message
    # (a 404 shows Django's 404 page, as a missing record does).
    template_name: str = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        internal: str | None = None,
    ):
        """``internal`` is what logs and ``str()`` show when it differs from the user's sentence."""
        self.message = message or type(self).message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        super().__init__(internal or self.message)

    @property
    def api_message(self) -> str:
        """The sentence in the API's JSON body (the page's sentence unless a subclass says more)."""
        return self.message

    def page_context(self) -> dict[str, Any]:
        return {"message": self.message, "status": self.status, "title": "Request refused"}
