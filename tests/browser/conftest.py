"""Headless Chromium (Debian's package, never a downloaded browser) driven by Playwright.

Locally the browser tests skip, saying why, when /usr/bin/chromium is missing; in CI (CI=true)
a missing browser is an error, so the suite cannot pass by skipping them.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def _missing_reason() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"headless Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python client is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="package")
def browser():
    reason = _missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, and Django refuses ORM calls
    # (test database setup, the tests' own queries) from a thread with a running loop. Those
    # calls are still plain synchronous code, so allow them -- for this package only, so that
    # no subprocess started by later tests (check --deploy) inherits the variable.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class _InFlight:
    """Counts the live server's unfinished requests, so a test ends only once they are done.

    With the in-memory SQLite test database the server's request threads share the test's
    connection; a request still reading (say) auth_user when the test's teardown flushes the
    tables makes the flush fail with "database table is locked" -- a request the closed browser
    had already sent. Waiting here removes that race.
    """

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Condition()

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return self._closing(response)

    def _closing(self, response):
        try:
            yield from response
        finally:
            try:
                if hasattr(response, "close"):
                    response.close()
            finally:
                self._done()

    def _done(self) -> None:
        with self.lock:
            self.count -= 1
            self.lock.notify_all()

    def wait_idle(self, timeout: float = 10.0, settle: float = 0.2) -> None:
        """Wait until no request has been running for `settle` seconds (one the browser sent
        before it closed may reach the server a moment later)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            with self.lock:
                busy = self.count > 0
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return
            time.sleep(0.02)
        raise AssertionError(f"the live server still had {self.count} request(s) after {timeout} s")


def _in_flight(live_server) -> _InFlight:
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if not isinstance(app, _InFlight):
        app = _InFlight(app)
        httpd.set_app(app)
    return app


@pytest.fixture
def page(browser, live_server):
    """A fresh browser profile per test; fails the test on a CSP violation or a JS error."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"JS error: {error}"))
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    tab.allowed_problems = []  # substrings a test expects, e.g. a blocked third-party URL
    in_flight = _in_flight(live_server)
    yield tab
    context.close()
    in_flight.wait_idle()
    unexpected = [p for p in problems if not any(a in p for a in tab.allowed_problems)]
    assert not unexpected, unexpected


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` -> artifacts/screenshots/name.png (and docs/screenshots/
    when SCREENSHOTS_TO_DOCS=1, to refresh the README's pictures)."""

    def take(tab, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        if os.environ.get("SCREENSHOTS_TO_DOCS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        return path

    return take
