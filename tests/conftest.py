"""Shared fixtures for every test folder.

* every test gets its own empty MEDIA_ROOT (uploads never touch the real ``media/``) and an
  empty MODELS_DIR (no test sees the shipped models by accident);
* ``user``, ``other_user``, ``staff_user`` -- accounts with known passwords;
* ``tiny_models_dir`` / ``installed_tiny_models`` -- TINY REAL Keras image models (one per
  representation) written with ``ecg.models.bundle.save_bundle``; see ``tests/factories.py``
  to build others (a recording model, a model with RR input).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.cache import cache

from ecg.models.lite_runtime import export_gradcam, export_lite
from tests.factories import build_tiny_bundle

# The class each tiny model predicts for (almost) any image, via a large output bias.
BEAT_FAVOURS = "V"
SPECTROGRAM_FAVOURS = "A"
PASSWORD = "A-long-test-passphrase-1"  # noqa: S105 -- test accounts only


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts (API, sign-up, password reset) live in the cache: none carry over."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Per-test MEDIA_ROOT and an empty MODELS_DIR; fast password hashing."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "no-models"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # rate-limit counts (ecgsite.ratelimit) must not carry over between tests
    yield


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", PASSWORD)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", PASSWORD)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", PASSWORD)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    """A folder holding two tiny real Keras image models, built once per test session.

    ``tiny-beat.keras`` (task "image", representation "beat_image") and ``tiny-spectrogram.keras``
    (task "image", representation "spectrogram"), each with full metadata JSON, saved with
    ``save_bundle``, plus their verified LiteRT conversions (``<name>.tflite``) and Grad-CAM
    exports (``<name>.gradcam.*``), so the app serves and explains them as in production
    (``MODEL_RUNTIME=auto``).

    Untrained (seeded random weights, plus an output bias so the beat model predicts
    ``BEAT_FAVOURS`` = "V" and the spectrogram model ``SPECTROGRAM_FAVOURS`` = "A"): their
    probabilities are real model outputs but meaningless as medicine. Treat the folder as
    read-only; copy it to modify it (see ``tests/factories.py`` to build other models).
    """
    directory = tmp_path_factory.mktemp("tiny-models")
    build_tiny_bundle(directory, "tiny-beat", kind="beat_image", seed=1, favour=BEAT_FAVOURS)
    build_tiny_bundle(
        directory, "tiny-spectrogram", kind="spectrogram", seed=2, favour=SPECTROGRAM_FAVOURS
    )
    for path in directory.glob("*.keras"):
        export_lite(path)  # as `manage.py export_lite_models` does on deployment
        export_gradcam(path)
    return directory


@pytest.fixture
def models_copy(tiny_models_dir, tmp_path) -> Path:
    """A copy of ``tiny_models_dir`` that a test may change (retrain, delete exports)."""
    target = tmp_path / "models"
    shutil.copytree(tiny_models_dir, target)
    return target


@pytest.fixture
def installed_tiny_models(settings, tiny_models_dir) -> Path:
    """Point ``settings.MODELS_DIR`` at ``tiny_models_dir`` (the model service follows)."""
    settings.MODELS_DIR = tiny_models_dir
    return tiny_models_dir
