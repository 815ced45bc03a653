import json
import zipfile
from pathlib import Path

import pytest


def write_fake_bundle(models_dir: Path, name: str = "beat_cnn") -> Path:
    """A bundle that passes the cheap health check (metadata + a zip archive), not a real model."""
    models_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "name": name,
        "version": "1",
        "classes": ["L", "N", "A", "V", "R", "!"],
        "representation": {"kind": "beat_image", "params": {}},
        "inputs": ["image"],
        "image_size": 64,
        "sampling_rate": 360,
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "task": "image",
        "label_set": "six",
    }
    (models_dir / f"{name}.json").write_text(json.dumps(meta))
    with zipfile.ZipFile(models_dir / f"{name}.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    return models_dir / f"{name}.keras"


@pytest.fixture
def fake_models_dir(tmp_path, settings):
    settings.MODELS_DIR = tmp_path / "models"
    write_fake_bundle(settings.MODELS_DIR)
    return settings.MODELS_DIR
