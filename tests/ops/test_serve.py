"""scripts/serve.sh end to end: gunicorn in production mode, whitenoise, headers, JSON logs."""

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.ops.server import ROOT, ProductionServer

pytestmark = pytest.mark.slow


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict | None = None):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models_dir):
    workdir = tmp_path_factory.mktemp("serve")
    # Real (tiny) models with their LiteRT exports: the server warms them up at start, and a
    # model that cannot load is reported by /healthz as "degraded".
    shutil.copytree(tiny_models_dir, workdir / "models")
    # under .ci/run's PostgreSQL pass the server uses that database too
    database_url = os.environ.get("DATABASE_URL", "")
    with ProductionServer(
        workdir,
        models_dir=workdir / "models",
        database_url=database_url if database_url.startswith("postgres") else None,
    ) as running:
        yield running


def test_health_check_answers_over_plain_http(server):
    status, headers, body = fetch(f"{server.url}/healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    assert "Strict-Transport-Security" not in headers  # HSTS only over TLS


def test_plain_http_pages_redirect_to_https(server):
    status, headers, _ = fetch(f"{server.url}/")
    assert status == 301
    assert headers["Location"].startswith("https://")


def test_behind_tls_proxy_gets_hsts_csp_and_safe_headers(server):
    status, headers, _ = fetch(f"{server.url}/", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_whitenoise_serves_collected_static_files(server):
    status, headers, body = fetch(
        f"{server.url}/static/admin/css/base.css", {"X-Forwarded-Proto": "https"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert body.startswith(b"/*") or b"{" in body


def test_debug_is_off_and_errors_do_not_leak(server):
    status, _, body = fetch(f"{server.url}/no-such-page-xyz", {"X-Forwarded-Proto": "https"})
    assert status == 404
    assert b"Traceback" not in body and b"DEBUG" not in body and b"urlpatterns" not in body


def test_unknown_host_is_refused(server):
    status, _, _ = fetch(f"{server.url}/healthz", {"Host": "evil.example"})
    assert status == 400


def test_logs_are_json_lines(server):
    fetch(f"{server.url}/healthz")
    lines = [line for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    assert access, "no JSON access log line"
    assert {"time", "level", "method", "path", "status", "duration_ms"} <= set(access[-1])
    assert any(r.get("logger") == "gunicorn.error" for r in records)


def test_the_api_limit_holds_across_the_gunicorn_workers(server):
    """The throttle counts live in a cache every worker shares (settings.CACHES): with
    per-process memory each of the two workers would let its own 120 requests a minute through.
    """
    script = (
        "from django.contrib.auth import get_user_model; "
        "from api.services import token_create; "
        "u = get_user_model().objects.create_user('throttled', password='x-Throttle-42'); "
        "print(token_create(user=u)[1])"
    )
    key = server.manage("shell", "-c", script).strip().splitlines()[-1]
    headers = {"Authorization": f"Token {key}", "X-Forwarded-Proto": "https"}

    statuses = [fetch(f"{server.url}/api/v1/predictions/", headers)[0] for _ in range(150)]
    assert statuses.count(200) == 120 and statuses.count(429) == 30, sorted(set(statuses))


@pytest.mark.parametrize("script", ["serve.sh", "worker.sh"])
def test_production_scripts_refuse_to_start_without_secret_key(script):
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "ALLOWED_HOSTS": "ecg.example"}
    result = subprocess.run(
        ["bash", f"scripts/{script}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{script}: set SECRET_KEY and ALLOWED_HOSTS")


def test_check_deploy_is_clean(tmp_path):
    env = ProductionServer(tmp_path).env()
    python = shutil.which("python", path=str(ROOT / ".venv/bin")) or "python"
    result = subprocess.run(
        [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_session_and_csrf_cookies_are_secure_httponly_same_site(server):
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('cookie', password='Cookie-pass-5521')",
    )
    https = {"X-Forwarded-Proto": "https", "Origin": server.url.replace("http:", "https:")}
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(urllib.request.Request(f"{server.url}/accounts/login/", headers=https)) as r:
        csrf_cookie = r.headers["Set-Cookie"]
        page = r.read().decode()
    assert "Secure" in csrf_cookie and "SameSite=Lax" in csrf_cookie
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    csrf_value = re.search(r"csrftoken=([^;]+)", csrf_cookie).group(1)
    form = urllib.parse.urlencode(
        {"username": "cookie", "password": "Cookie-pass-5521", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{server.url}/accounts/login/",
        data=form,
        headers={**https, "Cookie": f"csrftoken={csrf_value}"},
    )
    try:
        opener.open(request)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as redirect:  # 302 surfaces as HTTPError without a handler
        assert redirect.code == 302
        cookies = redirect.headers.get_all("Set-Cookie")
    session = next(c for c in cookies if c.startswith("sessionid="))
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session, session
