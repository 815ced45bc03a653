"""The browser tests' guard against the CI flake of stop 36: a test ends only once the live
server has finished every request its browser sent (``conftest._InFlight``). No browser here."""

from __future__ import annotations

import threading
import time

import pytest

from tests.browser.conftest import _InFlight


def slow_app(release: threading.Event):
    def app(environ, start_response):
        release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    return app


def until_running(guard: _InFlight) -> None:
    """Wait (2 s at most) until the worker thread's request has reached the app."""
    deadline = time.monotonic() + 2
    while guard.count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert guard.count == 1


def test_wait_idle_waits_for_a_request_still_running():
    release = threading.Event()
    guard = _InFlight(slow_app(release))
    served = []
    worker = threading.Thread(target=lambda: served.extend(guard({}, lambda *a: None)))
    worker.start()
    until_running(guard)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    guard.wait_idle(timeout=5, settle=0.05)
    assert time.monotonic() - started >= 0.25  # it waited for the request, not just returned
    assert guard.count == 0 and served == [b"done"]
    worker.join(1)


def test_wait_idle_names_a_request_that_never_ends():
    release = threading.Event()
    guard = _InFlight(slow_app(release))
    worker = threading.Thread(target=lambda: list(guard({}, lambda *a: None)))
    worker.start()
    until_running(guard)
    with pytest.raises(AssertionError, match="1 request"):
        guard.wait_idle(timeout=0.2, settle=0.05)
    release.set()
    worker.join(1)


def test_a_failing_app_is_not_counted_as_running():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    guard = _InFlight(broken)
    with pytest.raises(RuntimeError):
        guard({}, lambda *a: None)
    assert guard.count == 0
