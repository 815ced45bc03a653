"""Load test: N simulated users upload beat images and read their history against gunicorn.

    python benchmarks/load_test.py --users 10 --duration 60          # starts its own server
    python benchmarks/load_test.py --users 10 --duration 60 --database-url postgres://...

It starts ``scripts/serve.sh`` (production settings, 2 gunicorn workers) on a free 127.0.0.1
port with a throwaway database (unless --database-url), media folder and users, runs a bounded
asyncio client for a fixed time (127.0.0.1 only; it stops by itself), stops the server, then
checks that every accepted upload has exactly one row and one file in media and that no other
row or file exists. Prints requests/s, predictions/s, p50/p95/p99 latency and errors, and writes
``benchmarks/results/load_test.json``. Exit status 1 on any error, lost or orphaned upload.

The client behaves like a browser behind the TLS proxy: it sends ``X-Forwarded-Proto: https``
(so the real production settings apply: secure cookies, HSTS, CSRF origin checks) and keeps its
cookies itself, since secure cookies would never be sent over plain http by a cookie jar.

Long on purpose: a self-contained script (server, client, checks) run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecg.imaging.representations import render  # noqa: E402
from tests.ops.server import ProductionServer  # noqa: E402

PASSWORD = "Load-test-pass-4821"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# The web app's routes (see classifier/urls.py); overridable from the command line.
DEFAULT_PATHS = {
    "login": "/accounts/login/",
    "upload": "/predictions/new/",
    "history": "/predictions/",
}
UPLOAD_FIELD = "images"


def beat_pngs(count: int, seed: int = 0) -> list[bytes]:
    """Synthetic beats drawn by the project's own renderer, each slightly different."""
    rng = np.random.default_rng(seed)
    fs = 360.0
    t = np.arange(int(0.7 * fs)) / fs
    pngs = []
    for _ in range(count):
        amp, width, shift = (
            rng.uniform(0.8, 2.2),
            rng.uniform(0.008, 0.03),
            rng.uniform(-0.02, 0.02),
        )
        wave = amp * np.exp(-(((t - 0.25 - shift) / width) ** 2))
        wave += 0.2 * np.exp(-(((t - 0.5) / 0.04) ** 2)) + rng.normal(0, 0.02, t.size)
        image = render("beat_image", wave[None, :].astype(np.float32), fs)[0]
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    return pngs


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    accepted_uploads: dict[str, int] = field(default_factory=dict)  # username -> count
    requests: int = 0

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.requests += 1


class User:
    """One browser-like client with its own cookies and CSRF token."""

    def __init__(self, session: aiohttp.ClientSession, base: str, username: str, paths: dict):
        self.session, self.base, self.username, self.paths = session, base, username, paths
        self.cookies: dict[str, str] = {}
        self.origin = base.replace("http://", "https://")

    def headers(self, referer_path: str = "/") -> dict[str, str]:
        headers = {"X-Forwarded-Proto": "https", "Origin": self.origin}
        headers["Referer"] = self.origin + referer_path
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def keep_cookies(self, response: aiohttp.ClientResponse) -> None:
        for name, morsel in response.cookies.items():
            self.cookies[name] = morsel.value

    async def request(self, method: str, path: str, **kwargs) -> tuple[int, str, dict]:
        async with self.session.request(
            method,
            self.base + path,
            headers=self.headers(path),
            allow_redirects=False,
            **kwargs,
        ) as response:
            body = await response.text(errors="replace")
            self.keep_cookies(response)
            return response.status, body, dict(response.headers)

    async def csrf_token(self, path: str) -> str:
        status, body, _ = await self.request("GET", path)
        match = CSRF_INPUT.search(body)
        if status != 200 or not match:
            raise RuntimeError(f"{self.username}: no CSRF token on {path} (HTTP {status})")
        return match.group(1)

    async def login(self) -> None:
        token = await self.csrf_token(self.paths["login"])
        form = {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        status, _, headers = await self.request("POST", self.paths["login"], data=form)
        if status != 302 or self.paths["login"] in headers.get("Location", ""):
            raise RuntimeError(f"{self.username}: login failed (HTTP {status})")

    async def upload(self, png: bytes, index: int) -> int:
        token = self.cookies.get("csrftoken", "")
        form = aiohttp.FormData()
        form.add_field("csrfmiddlewaretoken", token)
        form.add_field("image_type", "auto")
        form.add_field(UPLOAD_FIELD, png, filename=f"beat_{index}.png", content_type="image/png")
        status, _, headers = await self.request("POST", self.paths["upload"], data=form)
        if status == 302 and not re.search(r"/\d+/$", headers.get("Location", "")):
            return -status  # redirected somewhere else than a result page: not a success
        return status

    async def history(self) -> int:
        status, _, _ = await self.request("GET", self.paths["history"])
        return status


def accepted(status: int) -> bool:
    """A form upload that worked redirects to its result page; a refused one answers 4xx."""
    return status in (201, 302, 303)


async def user_loop(user: User, pngs: list[bytes], deadline: float, stats: Stats) -> None:
    index = 0
    while time.monotonic() < deadline:
        png = pngs[index % len(pngs)]
        index += 1
        start = time.perf_counter()
        try:
            status = await user.upload(png, index)
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.errors.append(f"upload: {type(exc).__name__}")
            await asyncio.sleep(0.1)  # no hot loop against a server that went away
            continue
        stats.record("upload", time.perf_counter() - start)
        if accepted(status):
            stats.accepted_uploads[user.username] = stats.accepted_uploads.get(user.username, 0) + 1
        else:
            stats.errors.append(f"upload: HTTP {status}")
        start = time.perf_counter()
        try:
            status = await user.history()
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.errors.append(f"history: {type(exc).__name__}")
            await asyncio.sleep(0.1)
            continue
        stats.record("history", time.perf_counter() - start)
        if status != 200:
            stats.errors.append(f"history: HTTP {status}")


async def run_load(base: str, usernames: list[str], duration: float, paths: dict) -> tuple:
    pngs = beat_pngs(32)
    stats = Stats()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=len(usernames) + 2)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        users = [User(session, base, name, paths) for name in usernames]
        await asyncio.gather(*(user.login() for user in users))
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(*(user_loop(u, pngs, deadline, stats) for u in users))
        elapsed = time.monotonic() - started
    return stats, elapsed


CREATE_USERS = """
from django.contrib.auth import get_user_model
User = get_user_model()
for name in {names!r}:
    User.objects.create_user(name, password={password!r})
"""

# Every row of every classifier model that holds a file, with its owner, and every file on disk.
INVENTORY = """
import json, os
from django.apps import apps
from django.conf import settings
from django.db import models
from django.contrib.auth import get_user_model
rows = []
for model in apps.get_app_config("classifier").get_models():
    files = [f for f in model._meta.get_fields() if isinstance(f, models.FileField)]
    owners = [f for f in model._meta.get_fields()
              if isinstance(f, models.ForeignKey) and f.related_model is get_user_model()]
    if not files:
        continue
    for obj in model.objects.all():
        owner = getattr(obj, owners[0].name).username if owners else None
        names = [getattr(obj, f.name).name for f in files if getattr(obj, f.name)]
        rows.append({"model": model._meta.label, "pk": obj.pk, "owner": owner, "files": names})
on_disk = []
for folder, _, names in os.walk(settings.MEDIA_ROOT):
    for name in names:
        on_disk.append(os.path.relpath(os.path.join(folder, name), settings.MEDIA_ROOT))
print(json.dumps({"rows": rows, "files": on_disk}))
"""


def check_integrity(inventory: dict, stats: Stats) -> dict:
    """Every accepted upload: one row with one existing file; nothing else in DB or media."""
    rows, files = inventory["rows"], set(inventory["files"])
    per_owner: dict[str, int] = {}
    referenced: list[str] = []
    for row in rows:
        per_owner[row["owner"]] = per_owner.get(row["owner"], 0) + 1
        referenced.extend(row["files"])
    missing_files = sorted(set(referenced) - files)
    orphaned_files = sorted(files - set(referenced))
    shared_files = len(referenced) - len(set(referenced))
    owners = set(per_owner) | set(stats.accepted_uploads)
    lost = sum(max(0, stats.accepted_uploads.get(o, 0) - per_owner.get(o, 0)) for o in owners)
    extra = sum(max(0, per_owner.get(o, 0) - stats.accepted_uploads.get(o, 0)) for o in owners)
    rows_without_file = sum(1 for row in rows if not row["files"])
    return {
        "accepted_uploads": sum(stats.accepted_uploads.values()),
        "rows": len(rows),
        "files_in_media": len(files),
        "lost_uploads": lost,
        "extra_rows": extra,
        "rows_without_file": rows_without_file,
        "missing_files": len(missing_files),
        "orphaned_files": len(orphaned_files),
        "files_shared_by_rows": shared_files,
        "examples": {"missing": missing_files[:5], "orphaned": orphaned_files[:5]},
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def summarise(stats: Stats, elapsed: float, integrity: dict, args: argparse.Namespace) -> dict:
    latency = {
        kind: {
            "count": len(v),
            "p50_ms": round(percentile(v, 50), 1),
            "p95_ms": round(percentile(v, 95), 1),
            "p99_ms": round(percentile(v, 99), 1),
            "mean_ms": round(statistics.fmean(v) * 1000, 1),
        }
        for kind, v in stats.latencies.items()
    }
    uploads = latency.get("upload", {"count": 0, "p95_ms": float("nan")})
    predictions_per_s = integrity["accepted_uploads"] / elapsed if elapsed else 0.0
    targets = {
        "predictions_per_s>=20": predictions_per_s >= 20,
        "upload_p95_ms<500": uploads["p95_ms"] < 500,
        "zero_errors": not stats.errors,
        "zero_lost_or_orphaned": not any(
            integrity[k]
            for k in (
                "lost_uploads",
                "extra_rows",
                "missing_files",
                "orphaned_files",
                "rows_without_file",
                "files_shared_by_rows",
            )
        ),
    }
    return {
        "config": {
            "users": args.users,
            "duration_s": args.duration,
            "workers": args.workers,
            "database": "postgresql" if args.database_url else "sqlite",
        },
        "elapsed_s": round(elapsed, 2),
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / elapsed, 2) if elapsed else 0.0,
        "predictions_per_s": round(predictions_per_s, 2),
        "latency": latency,
        "errors": len(stats.errors),
        "error_kinds": {e: stats.errors.count(e) for e in sorted(set(stats.errors))},
        "integrity": integrity,
        "targets_met": targets,
    }


def print_report(result: dict) -> None:
    print(f"\nload test: {result['config']}")
    print(f"  machine: {result['machine']}")
    print(
        f"  requests: {result['requests']} in {result['elapsed_s']} s = "
        f"{result['requests_per_s']} req/s; predictions: {result['predictions_per_s']}/s"
    )
    for kind, lat in result["latency"].items():
        print(
            f"  {kind:8s} n={lat['count']:5d}  p50 {lat['p50_ms']:7.1f} ms  "
            f"p95 {lat['p95_ms']:7.1f} ms  p99 {lat['p99_ms']:7.1f} ms"
        )
    print(f"  errors: {result['errors']} {result['error_kinds'] or ''}")
    for line in result.get("server_errors", []):
        print(f"    server: {line}")
    integrity = {k: v for k, v in result["integrity"].items() if k != "examples"}
    print(f"  integrity: {integrity}")
    for target, met in result["targets_met"].items():
        print(f"  target {target}: {'met' if met else 'NOT met'}")


def server_error_lines(log_path: Path, keep: int = 5) -> list[str]:
    """The first few ERROR records of the server's JSON log (why a request failed)."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"level": "ERROR"' in line:
            record = json.loads(line)
            found.append(f"{record.get('logger')}: {record.get('message', '')[:200]}")
            if len(found) >= keep:
                break
    return found


def choose_models(args: argparse.Namespace, tiny_dir: Path) -> tuple[Path, str]:
    """The trained models if there are any, else tiny stand-ins (said so in the report)."""
    from ecg.models.registry import ModelRegistry

    trained = ModelRegistry(args.models_dir).model_files()
    if trained and not args.tiny_models:
        return args.models_dir, f"models: {', '.join(p.stem for p in trained)} ({args.models_dir})"
    from tests.factories import build_tiny_bundle

    build_tiny_bundle(tiny_dir, "tiny-beat", kind="beat_image", seed=1)
    build_tiny_bundle(tiny_dir, "tiny-spectrogram", kind="spectrogram", seed=2)
    why = "--tiny-models" if args.tiny_models else f"no trained model in {args.models_dir}"
    return tiny_dir, (
        f"models: tiny untrained stand-ins ({why}); figures measure the web stack, "
        "not the size of the real network"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument(
        "--tiny-models",
        action="store_true",
        help="use tiny untrained stand-in models (automatic when --models-dir has none)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/load_test.json")
    for name, path in DEFAULT_PATHS.items():
        parser.add_argument(f"--{name}-path", default=path)
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 200 or not 1 <= args.duration <= 900:
        parser.error("keep it bounded: 1-200 users, 1-900 seconds")
    paths = {name: getattr(args, f"{name}_path") for name in DEFAULT_PATHS}
    usernames = [f"loaduser{i:03d}" for i in range(args.users)]

    with tempfile.TemporaryDirectory(prefix="ecg-load-") as tmp:
        models_dir, model_note = choose_models(args, Path(tmp) / "tiny-models")
        print(model_note)
        server = ProductionServer(
            Path(tmp),
            models_dir=models_dir,
            database_url=args.database_url,
            workers=args.workers,
        )
        with server:
            server.manage("shell", "-c", CREATE_USERS.format(names=usernames, password=PASSWORD))
            print(
                f"server up at {server.url} ({args.workers} workers); {args.users} users, "
                f"{args.duration:.0f} s"
            )
            load_before = os.getloadavg()
            stats, elapsed = asyncio.run(run_load(server.url, usernames, args.duration, paths))
            load_after = os.getloadavg()
        inventory = json.loads(server.manage("shell", "-c", INVENTORY).strip().splitlines()[-1])
        integrity = check_integrity(inventory, stats)
        server_errors = server_error_lines(server.log_path)
    result = summarise(stats, elapsed, integrity, args)
    result["config"]["models"] = model_note
    result["server_errors"] = server_errors
    # the client, both workers and anything else on the machine share its cores: say how busy
    result["machine"] = {
        "cpu_count": os.cpu_count(),
        "loadavg_1min_before": round(load_before[0], 2),
        "loadavg_1min_after": round(load_after[0], 2),
    }
    print_report(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  written to {args.output}")
    ok = result["targets_met"]["zero_errors"] and result["targets_met"]["zero_lost_or_orphaned"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
