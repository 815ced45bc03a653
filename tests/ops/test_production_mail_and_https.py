"""Production e-mail settings and `check --deploy` (scripts/serve.sh) with SECURE_SSL_REDIRECT."""

import socketserver
import string
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.ops.test_settings import PRODUCTION, settings_with

ROOT = Path(__file__).resolve().parents[2]  # the repository

SMTP = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
SMTP += ("EMAIL_USE_TLS", "EMAIL_USE_SSL")


def test_smtp_server_from_email_url():
    env = {**PRODUCTION, "EMAIL_URL": "smtp+tls://mailer%40ecg.example:p%2Fss@smtp.example:587"}
    assert settings_with(env, *SMTP) == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer@ecg.example",
        "EMAIL_HOST_PASSWORD": "p/ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to take one message; what it was told lands in server.received."""

    def handle(self) -> None:
        self.wfile.write(b"220 fake ESMTP\r\n")
        while line := self.rfile.readline():
            self.server.received.append(line)
            command = line[:4].upper()
            if command == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    self.server.received.append(data)
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_a_password_reset_mail_reaches_the_smtp_server_of_email_url():
    with socketserver.TCPServer(("127.0.0.1", 0), FakeSmtpHandler) as server:
        server.received = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        send = (
            "import django; django.setup(); from django.core.mail import send_mail; "
            "send_mail('Password reset', 'reset link', None, ['owner@ecg.example'])"
        )
        base = {
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            "DJANGO_SETTINGS_MODULE": "ecgsite.settings",
        }
        env = {**base, **PRODUCTION, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        result = subprocess.run(
            [sys.executable, "-c", send], cwd=ROOT, env=env, capture_output=True, timeout=60
        )
        server.shutdown()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    received = b"".join(server.received)
    assert b"rcpt to:<owner@ecg.example>" in received.lower()
    assert b"Subject: Password reset" in received and b"reset link" in received


def test_smtp_server_from_separate_variables():
    env = {
        **PRODUCTION,
        "EMAIL_HOST": "smtp.example",
        "EMAIL_PORT": "465",
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "secret",
        "EMAIL_USE_SSL": "true",
    }
    found = settings_with(env, *SMTP)
    assert found["EMAIL_HOST"] == "smtp.example" and found["EMAIL_PORT"] == 465
    assert (found["EMAIL_HOST_USER"], found["EMAIL_HOST_PASSWORD"]) == ("mailer", "secret")
    assert found["EMAIL_USE_SSL"] is True and found["EMAIL_USE_TLS"] is False


def test_email_backend_still_wins_over_email_url():
    env = {
        **PRODUCTION,
        "EMAIL_URL": "smtp://smtp.example:25",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    found = settings_with(env, "EMAIL_BACKEND", "EMAIL_HOST")
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "EMAIL_HOST": "smtp.example",
    }


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The check scripts/serve.sh runs before it starts anything."""
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "ecgsite.settings"}
    # a key that passes security.W009 (50+ characters, many distinct ones)
    env = {**env, "SECRET_KEY": string.ascii_letters + string.digits}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_deploy_check_accepts_the_documented_ssl_redirect_off():
    result = deploy_check({**PRODUCTION, "SECURE_SSL_REDIRECT": "false"})
    assert result.returncode == 0, result.stderr
    assert "W008" not in result.stderr


@pytest.mark.slow
def test_deploy_check_still_fails_on_other_warnings_with_ssl_redirect_off():
    result = deploy_check(
        {**PRODUCTION, "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS off is not silenced along with the redirect
