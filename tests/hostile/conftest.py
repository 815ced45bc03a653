"""Fixtures shared by the hostile tests: a tiny recording model installed for the uploads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import build_tiny_bundle


@pytest.fixture(scope="module")
def recording_models_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("recording-models")
    build_tiny_bundle(directory, "tiny-recording", kind="beat_image", task="recording", seed=3)
    return directory


@pytest.fixture
def recording_model(settings, recording_models_dir):
    """The recording upload's model: a tiny untrained one, the registry reset around the test."""
    from ecgsite.model_registry import reset_model_registry

    settings.MODELS_DIR, settings.RECORDING_MODEL = recording_models_dir, ""
    reset_model_registry()
    yield
    reset_model_registry()
