"""The process-wide model registry, built from settings: the one place the apps get models from.

Settings: ``MODELS_DIR`` (the folder), ``MODEL_RUNTIME`` (auto / lite / keras, see
``ecg.models.registry``), ``IMAGE_MODELS`` ({kind: model name}), ``RECORDING_MODEL`` (a name;
"" = the first found), ``RECORDING_MODEL_THREADS`` (its LiteRT threads) and
``RECORDING_MODEL_PRECISION`` (float32 / int8, its LiteRT conversion). The web app, the
worker (recordings), the API, pages, the health check and the commands all call
``get_model_registry()``; nothing is loaded until a model is used. It clears itself when one of
these settings changes (``override_settings`` in tests); until this module is imported there is
nothing to clear.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from ecg.models.registry import (
    SERVED_RECORDING_PRECISION,
    ModelNotInstalledError,
    ModelRegistry,
    RecordingModelMissing,
)

__all__ = [
    "REGISTRY_SETTINGS",
    "ModelNotInstalledError",
    "RecordingModelMissing",
    "get_model_registry",
    "preferred_models",
    "reset_model_registry",
]

REGISTRY_SETTINGS = (
    "MODELS_DIR",
    "MODEL_RUNTIME",
    "IMAGE_MODELS",
    "RECORDING_MODEL",
    "RECORDING_MODEL_THREADS",
    "RECORDING_MODEL_PRECISION",
)


def preferred_models() -> dict[str, str]:
    """The settings' model choices: {image kind or "recording": model name or file stem}."""
    preferred = dict(getattr(settings, "IMAGE_MODELS", None) or {})
    preferred["recording"] = getattr(settings, "RECORDING_MODEL", "")
    return preferred


@lru_cache(maxsize=1)
def get_model_registry() -> ModelRegistry:
    """The registry of this process (one per web or worker process)."""
    return ModelRegistry(
        settings.MODELS_DIR,
        runtime=getattr(settings, "MODEL_RUNTIME", "auto"),
        preferred=preferred_models(),
        recording_threads=getattr(settings, "RECORDING_MODEL_THREADS", 1),
        recording_precision=getattr(
            settings, "RECORDING_MODEL_PRECISION", SERVED_RECORDING_PRECISION
        ),
    )


def reset_model_registry() -> None:
    """Forget the registry and every model it loaded; the next call builds it again."""
    if get_model_registry.cache_info().currsize:
        get_model_registry().reset()
    get_model_registry.cache_clear()


@receiver(setting_changed, dispatch_uid="ecgsite_model_registry_settings")
def _reset_on_setting_change(*, setting: str, **kwargs) -> None:
    if setting in REGISTRY_SETTINGS:
        reset_model_registry()
