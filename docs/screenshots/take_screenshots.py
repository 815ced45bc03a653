"""Screenshots of the real pages for the README, taken with Playwright and Debian's chromium.

    python docs/screenshots/take_screenshots.py [--models-dir models]

Starts ``manage.py runserver`` on a throw-away database and MEDIA_ROOT, signs up a demo user
through the real form, uploads two *synthetic* beats (a textbook-shaped P-QRS-T curve drawn by
the pipeline's own ``representations.render``: no MIT-BIH data ends up in the repository) and
captures the upload, result and history pages into ``docs/screenshots/*-shipped-model.png``
(the browser tests write their own screenshots of every page beside them).
"""

from __future__ import annotations

import argparse
import atexit
import io
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
PORT = 8731


def synthetic_beat(fs: float, pre_s: float, post_s: float, *, wide: bool) -> np.ndarray:
    """A smooth P-QRS-T curve in mV (sum of Gaussians), not a recording."""
    t = np.arange(-int(pre_s * fs), int(post_s * fs)) / fs

    def g(center, width, height):
        return height * np.exp(-0.5 * ((t - center) / width) ** 2)

    qrs = 0.025 if wide else 0.010
    return (
        g(-0.17, 0.025, 0.12) + g(-0.02, 0.008, -0.15) + g(0.0, qrs, 1.4)
        + g(0.03, 0.010, -0.3) + g(0.25, 0.045, 0.35 if not wide else -0.3)
    )  # fmt: skip


def beat_png(kind: str, meta: dict, *, wide: bool) -> bytes:
    from ecg.imaging.representations import render

    fs = float(meta.get("sampling_rate", 360))
    window = meta.get("window", {"pre_s": 0.25, "post_s": 0.45})
    beat = synthetic_beat(fs, window["pre_s"], window["post_s"], wide=wide)
    params = meta.get("representation", {}).get("params")
    image = render(kind, beat[None], fs, params)[0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="screens-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "MODELS_DIR": args.models_dir,
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(60):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecgsite.settings")
        django.setup()
        from ecg.models.registry import ModelRegistry

        metas = ModelRegistry(Path(args.models_dir)).image_models_metadata()
        beat_meta = metas.get("beat_image", {})
        files = []
        for name, wide in (("beat-narrow.png", False), ("beat-wide.png", True)):
            path = work / name
            path.write_bytes(beat_png("beat_image", beat_meta, wide=wide))
            files.append(str(path))
        shoot(base, files, work)
    finally:
        server.terminate()
        server.wait(timeout=10)


def shoot(base: str, files: list[str], work: Path) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(base + "/")
        page.goto(base + "/accounts/signup/")
        page.fill("#id_username", "demo")
        page.fill("#id_email", "demo@example.org")
        page.fill("#id_password1", password)
        page.fill("#id_password2", password)
        page.click("input[type=submit]")
        page.wait_for_url("**/predictions/new/")
        page.set_input_files("#id_images", files[:1])
        page.fill("#id_patient_reference", "P-0042")
        page.screenshot(path=OUT / "upload-shipped-model.png")
        page.click("input[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=OUT / "result-shipped-model.png", full_page=True)
        page.goto(base + "/predictions/new/")
        page.set_input_files("#id_images", files[1:])
        page.click("input[type=submit]")
        page.wait_for_load_state()
        page.goto(base + "/predictions/", wait_until="networkidle")
        page.screenshot(path=OUT / "history-shipped-model.png")
        browser.close()
    print("written:", ", ".join(sorted(p.name for p in OUT.glob("*-shipped-model.png"))))


if __name__ == "__main__":
    main()
