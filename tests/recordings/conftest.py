"""Fixtures for the whole-recording tests: tiny real Keras recording models (shared factory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from ecg.models.bundle import load_bundle
from tests.factories import build_tiny_bundle


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A real (untrained, seeded) Keras CNN saved with ``save_bundle``, ``task == "recording"``,
    alone in its folder (so it can serve as MODELS_DIR)."""
    folder = tmp_path_factory.mktemp("recording-model")
    return load_bundle(build_tiny_bundle(folder, "tiny_recording", task="recording"))


@pytest.fixture(scope="session")
def tiny_rr_bundle(tmp_path_factory):
    """The same with the RR-interval input ("inputs": ["image", "rr"])."""
    folder = tmp_path_factory.mktemp("recording-rr-model")
    return load_bundle(
        build_tiny_bundle(folder, "tiny_recording_rr", task="recording", with_rr=True)
    )


@pytest.fixture
def env(settings, tmp_path, tiny_bundle):
    """Private media and models folders, analyses run inside the request (the model registry
    follows the settings by itself)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = Path(tiny_bundle.path).parent
    settings.RECORDING_TASKS_SYNC = True
    return settings


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def users(db):
    """An owner, another user and a staff member without permissions."""
    model = get_user_model()
    return {
        "alice": model.objects.create_user("alice", password="pw-alice-123"),
        "bob": model.objects.create_user("bob", password="pw-bob-123"),
        "staff": model.objects.create_user("staff", password="pw-staff-123", is_staff=True),
    }
