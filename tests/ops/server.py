"""Start ``scripts/serve.sh`` (gunicorn, DJANGO_ENV=production) on 127.0.0.1 for tests and the
load script: throwaway SQLite database, media and static folders under one temporary folder
unless told otherwise. Used as a context manager; the process group is always stopped.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ProductionServer:
    workdir: Path
    models_dir: Path | None = None
    database_url: str | None = None
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def media_root(self) -> Path:
        return self.workdir / "media"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def env(self) -> dict[str, str]:
        """The environment of the server, also what a checker process needs to see its data."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        env.update(
            DJANGO_ENV="production",
            SECRET_KEY=env.get("LOAD_TEST_SECRET_KEY", secrets.token_urlsafe(50)),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.database_url or f"sqlite:///{self.workdir / 'db.sqlite3'}",
            MEDIA_ROOT=str(self.media_root),
            STATIC_ROOT=str(self.workdir / "static"),
            PORT=str(self.port),
            HOST="127.0.0.1",
            WEB_CONCURRENCY=str(self.workers),
            SKIP_BOOTSTRAP="1",
            LOG_FORMAT="json",
        )
        if self.models_dir is not None:
            env["MODELS_DIR"] = str(self.models_dir)
        env.update(self.extra_env)
        env.setdefault("LOAD_TEST_SECRET_KEY", env["SECRET_KEY"])
        return env

    def start(self, timeout_s: float = 120.0) -> ProductionServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(exist_ok=True)
        self._env = self.env()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=ROOT,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends gunicorn's workers too
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve.sh exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server not up in {timeout_s}s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def manage(self, *args: str, timeout_s: float = 120) -> str:
        """Run ``manage.py`` against the server's database and media (same environment)."""
        result = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", *args],
            cwd=ROOT,
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        )
        return result.stdout

    def __enter__(self) -> ProductionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
