"""The recording model: the bundle in ``MODELS_DIR`` whose metadata says ``task == "recording"``.

Loaded once per process (web or worker), on first use, never at import time, through the web
app's ``load_serving_bundle``: LiteRT when an up-to-date ``.tflite`` conversion sits beside the
``.keras`` file (``manage.py export_lite_models``; about twice as fast on a 30-minute record
and without TensorFlow's memory), else Keras. Same preprocessing and representation either way:
only the network call differs.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ecg.models.bundle import BundleError, ModelBundle, recording_model_path
from ecg.models.lite_runtime import load_serving_bundle

logger = logging.getLogger(__name__)


class RecordingModelMissing(RuntimeError):
    """No usable recording model is installed."""


class RecordingModelService:
    def __init__(self, models_dir: Path, preferred: str = ""):
        self.models_dir = Path(models_dir)
        self.preferred = preferred
        self._lock = threading.Lock()
        self._bundle: ModelBundle | None = None

    def is_installed(self) -> bool:
        return recording_model_path(self.models_dir, self.preferred) is not None

    def bundle(self) -> ModelBundle:
        if self._bundle is not None:
            return self._bundle
        with self._lock:
            if self._bundle is None:
                path = recording_model_path(self.models_dir, self.preferred)
                if path is None:
                    raise RecordingModelMissing(
                        f'No recording model (metadata task "recording") in {self.models_dir}.'
                    )
                try:
                    self._bundle, runtime = load_serving_bundle(path)
                except BundleError as exc:
                    raise RecordingModelMissing(f"The model {path.name} cannot be loaded.") from exc
                logger.info(
                    "loaded recording model %s v%s", self._bundle.name, self._bundle.version
                )
        return self._bundle


@lru_cache(maxsize=1)
def get_recording_model_service() -> RecordingModelService:
    """The process-wide service (``cache_clear()`` it when ``MODELS_DIR`` changes in tests)."""
    return RecordingModelService(settings.MODELS_DIR, getattr(settings, "RECORDING_MODEL", ""))
