"""The model registry: the one place that knows which trained model serves what, and how.

A models folder holds bundles (``<name>.keras`` + ``<name>.json``, see ``ecg.models.bundle``),
beside them their LiteRT conversions and Grad-CAM exports (``ecg.models.lite_runtime``). The
registry is the only code that lists that folder. It

- finds models by task ("image", "recording") and, for images, by kind ("beat_image",
  "spectrogram"); several of one kind: the ``preferred`` name wins, else the first by file name;
- for beat images, by what is known of the amplitude (``AMPLITUDES``): "known" (the app's own
  drawings, ECG-paper images, recordings) gets a model drawn in millivolts, never a scale-free
  one; "unknown" (a beat digitised without a grid, its amplitude assumed) gets the scale-free
  single-beat model (representation parameter ``amplitude: "normalised_ptp"``), or the
  millivolt model when none is installed (``preferred`` key ``beat_image_unknown_amplitude``);
- reads their metadata (nothing is loaded to answer "what is installed", so no TensorFlow);
- loads each model once per process for serving and once for explanations (Grad-CAM), under a
  lock so two first requests in different threads do not load it twice;
- applies the one runtime rule (``RUNTIMES``): ``auto`` runs a network in LiteRT when its export
  is fresh (made from the current ``.keras`` file), else in Keras; ``lite`` insists on LiteRT;
  ``keras`` always uses Keras (importing TensorFlow, about 600 MB per process); a recording
  model runs from its int8 conversion when ``recording_precision`` says so and one is fresh;
- runs the one output check on every model it loads, image or recording: a blank input must
  give one finite probability per class of the metadata, summing to 1, or the model is refused
  rather than allowed to mislabel beats.

No Django here: the web app builds one registry from its settings (``ecgsite.model_registry``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecg.models import lite_runtime
from ecg.models.bundle import BundleError, ModelBundle, read_metadata

logger = logging.getLogger(__name__)

TASKS = ("image", "recording")
IMAGE_KINDS = ("beat_image", "spectrogram")
# What is known of a beat's amplitude when a model is asked for (see the module docstring).
AMPLITUDES = ("known", "unknown")
# The ``preferred`` key naming the scale-free model (settings IMAGE_MODELS).
UNKNOWN_AMPLITUDE_KEY = "beat_image_unknown_amplitude"
RUNTIMES = ("auto", "lite", "keras")
# The recording model's conversion the app serves unless told otherwise (settings
# RECORDING_MODEL_PRECISION), chosen on validation data by benchmarks/quantised_serving.py.
SERVED_RECORDING_PRECISION = "int8"
# The commands that make a model usable, named in the errors users and operators read.
INSTALL_COMMAND = "python manage.py build_dataset && python manage.py train_model"
LITE_COMMAND = "python manage.py export_lite_models"
# How far a model's probabilities may sum from 1 (float32 softmax) before it is refused.
SUM_TOLERANCE = 1e-3


class ModelNotInstalledError(RuntimeError):
    """No usable model for the request: missing, corrupt, refused by the output check, or not
    converted while ``runtime == "lite"``. ``detail`` is a sentence for the user."""

    install_command = INSTALL_COMMAND

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class RecordingModelMissing(ModelNotInstalledError):
    """The same, for the recording model (the recordings pages word it their own way)."""


@dataclass(frozen=True)
class InstalledModel:
    """One ``*.keras`` file of the folder: its metadata, or why it cannot be read."""

    path: Path
    metadata: dict[str, Any] | None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.metadata is not None

    @property
    def task(self) -> str | None:
        return (self.metadata or {}).get("task")

    @property
    def kind(self) -> str | None:
        return (self.metadata or {}).get("representation", {}).get("kind")

    @property
    def scale_free(self) -> bool:
        """True for a model that draws every beat at one peak-to-peak amplitude."""
        return is_scale_free(self.metadata or {})


def is_scale_free(metadata: Mapping[str, Any]) -> bool:
    """Whether a model's representation scales each beat to one amplitude (``normalised_ptp``)."""
    params = (metadata.get("representation") or {}).get("params") or {}
    return params.get("amplitude", "fixed_mv") == "normalised_ptp"


class ModelRegistry:
    def __init__(
        self,
        models_dir: str | Path,
        *,
        runtime: str = "auto",
        preferred: Mapping[str, str] | None = None,
        recording_threads: int = 1,
        recording_precision: str = SERVED_RECORDING_PRECISION,
    ):
        """``preferred``: {image kind or "recording": model name or file stem};
        ``recording_threads``: one-thread LiteRT interpreters of the recording model side by
        side (whole recordings, in the worker); image models and Grad-CAM keep one thread;
        ``recording_precision``: "int8" (the default, chosen on validation data by
        ``benchmarks/quantised_serving.py``) serves a recording model from its int8 conversion
        when it has a fresh one, else from float32; "float32" never uses int8
        (``lite_runtime.PRECISIONS``). Image models are always float32."""
        if runtime not in RUNTIMES:
            raise ValueError(f"MODEL_RUNTIME must be one of {RUNTIMES}, not {runtime!r}")
        self.models_dir = Path(models_dir)
        self.runtime = runtime
        self.preferred = {key: value for key, value in (preferred or {}).items() if value}
        if int(recording_threads) < 1:
            raise ValueError(f"recording_threads must be at least 1, not {recording_threads!r}")
        self.recording_threads = int(recording_threads)
        if recording_precision not in lite_runtime.PRECISIONS:
            raise ValueError(f"RECORDING_MODEL_PRECISION must be one of {lite_runtime.PRECISIONS}")
        self.recording_precision = recording_precision
        self._lock = threading.Lock()
        self._serving: dict[Path, ModelBundle] = {}
        self._explain: dict[Path, ModelBundle] = {}
        self._keras: dict[Path, ModelBundle] = {}
        # path -> "litert", "litert-int8" or "keras", once loaded to serve
        self.runtimes: dict[Path, str] = {}
        self.explain_runtimes: dict[Path, str] = {}  # the same, for Grad-CAM
        # path -> why it could not be loaded or failed its output check (read by /healthz)
        self.load_problems: dict[Path, str] = {}

    def reset(self) -> None:
        """Forget every loaded model (tests, or after the models were replaced on disk)."""
        with self._lock:
            for cache in (self._serving, self._explain, self._keras):
                cache.clear()
            self.runtimes.clear()
            self.explain_runtimes.clear()
            self.load_problems.clear()

    # -- discovery (metadata only, no TensorFlow) ----------------------------------------------
    def model_files(self) -> list[Path]:
        """Every ``*.keras`` file of the folder, by name: the one place that lists it."""
        return sorted(self.models_dir.glob("*.keras"))

    def names(self) -> list[str]:
        """The file stems of every model in the folder, readable or not."""
        return [path.stem for path in self.model_files()]

    def installed(self) -> list[InstalledModel]:
        """Every model file with its metadata, or the reason it cannot be read."""
        entries = []
        for path in self.model_files():
            try:
                entries.append(InstalledModel(path, read_metadata(path)))
            except BundleError as exc:
                entries.append(InstalledModel(path, None, str(exc)))
        return entries

    def usable(self) -> list[InstalledModel]:
        """The models whose metadata can be read (the others are logged and skipped)."""
        entries = []
        for entry in self.installed():
            if entry.usable:
                entries.append(entry)
            else:
                logger.warning("skipping model: %s", entry.problem)
        return entries

    def find(self, *, task: str, kind: str | None = None, amplitude: str = "known") -> Path | None:
        """The model file for ``task`` (and image ``kind``, ``amplitude``), or None when there
        is none. A scale-free model answers only ``amplitude="unknown"``; that falls back on
        the millivolt model when no scale-free one is installed."""
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        if amplitude not in AMPLITUDES:
            raise ValueError(f"amplitude must be one of {AMPLITUDES}, not {amplitude!r}")
        if amplitude == "unknown":
            found = self._find(task, kind, UNKNOWN_AMPLITUDE_KEY, scale_free=True)
            if found is not None:
                return found
        key = kind if task == "image" else task
        return self._find(task, kind, key, scale_free=False)

    def _find(
        self, task: str, kind: str | None, key: str | None, *, scale_free: bool
    ) -> Path | None:
        preferred = self.preferred.get(key)
        found = None
        for entry in self.usable():
            if entry.task != task or (task == "image" and entry.kind != kind):
                continue
            if entry.scale_free != scale_free:
                continue
            if preferred in (entry.metadata["name"], entry.path.stem):
                return entry.path
            found = found or entry.path
        return found

    def image_model_paths(self) -> dict[str, Path]:
        """``{kind: path}`` of the image models on disk."""
        found = {kind: self.find(task="image", kind=kind) for kind in IMAGE_KINDS}
        return {kind: path for kind, path in found.items() if path is not None}

    def installed_image_kinds(self) -> list[str]:
        return list(self.image_model_paths())

    def image_models_metadata(self) -> dict[str, dict[str, Any]]:
        return {kind: read_metadata(path) for kind, path in self.image_model_paths().items()}

    def recording_model_path(self) -> Path | None:
        return self.find(task="recording")

    def metadata_for(self, *, name: str, version: str) -> dict[str, Any] | None:
        """Metadata of the installed model with this name and version, or None."""
        for entry in self.usable():
            if entry.metadata["name"] == name and str(entry.metadata["version"]) == version:
                return entry.metadata
        return None

    @staticmethod
    def lite_is_fresh(path: Path) -> bool:
        """True if the model's LiteRT conversion was made from its current ``.keras`` file."""
        return lite_runtime.lite_is_fresh(path)

    @staticmethod
    def gradcam_is_fresh(path: Path) -> bool:
        """True if the model's LiteRT Grad-CAM export was made from its current file."""
        return lite_runtime.gradcam_is_fresh(path)

    # -- loading (once per process and purpose) ------------------------------------------------
    def path_for(
        self, *, task: str = "image", kind: str | None = None, amplitude: str = "known"
    ) -> Path:
        """``find``, or ``ModelNotInstalledError`` (``RecordingModelMissing``) naming the folder."""
        path = self.find(task=task, kind=kind, amplitude=amplitude)
        if path is None:
            if task == "recording":
                raise RecordingModelMissing(
                    f'No recording model (metadata task "recording") in {self.models_dir}.'
                )
            raise ModelNotInstalledError(
                f"No {str(kind).replace('_', ' ')} model is installed in {self.models_dir}."
            )
        return path

    def serving_bundle(
        self, *, task: str = "image", kind: str | None = None, amplitude: str = "known"
    ) -> ModelBundle:
        """The bundle predictions run on (LiteRT when converted, see the module docstring);
        ``amplitude="unknown"`` for a beat whose amplitude was assumed (scale-free model)."""
        return self.serving_bundle_at(self.path_for(task=task, kind=kind, amplitude=amplitude))

    def explain_bundle(self, *, task: str = "image", kind: str | None = None) -> ModelBundle:
        """The bundle Grad-CAM heat maps are computed with (``explain_bundle_at``)."""
        return self.explain_bundle_at(self.path_for(task=task, kind=kind))

    def keras_bundle(self, *, task: str = "image", kind: str | None = None) -> ModelBundle:
        """The full Keras bundle (layers, gradients); imports TensorFlow, so serving never
        needs it. Same metadata and weights as the serving bundle."""
        return self.keras_bundle_at(self.path_for(task=task, kind=kind))

    def serving_bundle_at(self, path: Path) -> ModelBundle:
        """Any model by its ``.keras`` path, for predictions; loaded once."""
        return self._cached(Path(path), "serving")

    def explain_bundle_at(self, path: Path) -> ModelBundle:
        """Any model by its ``.keras`` path, for ``explain.bundle_grad_cam``; loaded once.

        With a fresh Grad-CAM export and runtime auto or lite, its model is a
        ``LiteGradCamModel``: the same heat maps without TensorFlow. Otherwise the Keras bundle
        (auto, keras), or ``ModelNotInstalledError`` naming the export command (lite).
        """
        return self._cached(Path(path), "explain")

    def keras_bundle_at(self, path: Path) -> ModelBundle:
        """Any model by its ``.keras`` path, always in Keras; loaded once."""
        return self._cached(Path(path), "keras")

    def warm_up(self) -> list[str]:
        """Load every installed image model for serving now (server start, benchmarks), the
        scale-free beat model too when one is installed."""
        names = [self.serving_bundle(kind=kind).name for kind in self.installed_image_kinds()]
        if self._find("image", "beat_image", UNKNOWN_AMPLITUDE_KEY, scale_free=True):
            names.append(self.serving_bundle(kind="beat_image", amplitude="unknown").name)
        return names

    def _cached(self, path: Path, purpose: str) -> ModelBundle:
        """The bundle for ``purpose`` ("serving", "explain" or "keras"), loaded once per model
        (looked up again under the lock). A Keras bundle serves every purpose that falls back
        on Keras: one TensorFlow model per file, not three."""
        cache = {"serving": self._serving, "explain": self._explain, "keras": self._keras}[purpose]
        bundle = cache.get(path)
        if bundle is not None:
            return bundle
        with self._lock:
            bundle = cache.get(path)
            if bundle is None:
                runtime = "keras" if purpose == "keras" else self.runtime
                bundle, used = self._load(path, runtime, explain=purpose == "explain")
                cache[path] = bundle
                if purpose == "serving":
                    self.runtimes[path] = used
                elif purpose == "explain":
                    self.explain_runtimes[path] = used
                if used == "keras":
                    self._keras[path] = bundle
                logger.info(
                    "loaded model %s v%s from %s (%s, for %s)",
                    bundle.name, bundle.version, path, used, purpose,
                )  # fmt: skip
        return bundle

    def _load(self, path: Path, runtime: str, explain: bool = False) -> tuple[ModelBundle, str]:
        """Load by the runtime rule and check the outputs; ``ModelNotInstalledError`` (or
        ``RecordingModelMissing`` for a recording model) when it cannot serve. The reason is
        kept in ``load_problems`` for the health check."""
        try:
            loaded = self._load_checked(path, runtime, explain)
        except ModelNotInstalledError as exc:
            self.load_problems[path] = exc.detail
            raise
        self.load_problems.pop(path, None)
        return loaded

    def _load_checked(self, path: Path, runtime: str, explain: bool) -> tuple[ModelBundle, str]:
        recording = _task(path) == "recording"
        error = RecordingModelMissing if recording else ModelNotInstalledError
        what = "LiteRT Grad-CAM export" if explain else "LiteRT conversion"
        try:
            # Keras: the bundle already loaded for another purpose, if any (one per model).
            keras = self._keras.get(path)
            if explain:
                bundle, used = lite_runtime.load_explain_bundle(path, runtime, keras)
            else:
                bundle, used = lite_runtime.load_serving_bundle(
                    path, runtime, keras,
                    num_threads=self.recording_threads if recording else 1,
                    precision=self.recording_precision if recording else "float32",
                )  # fmt: skip
        except lite_runtime.LiteNotAvailableError as exc:
            raise error(
                f"The model {path.name} has no up-to-date {what}; run {LITE_COMMAND}."
            ) from exc
        except (BundleError, ValueError, RuntimeError, OSError) as exc:
            logger.error("model not usable: %s", exc)
            raise error(f"The model {path.name} cannot be loaded.") from exc
        if used == "keras" and runtime == "auto":
            # Predictions or heat maps then import TensorFlow: about 600 MB more in this process.
            logger.warning("%s: no fresh %s, using Keras (%s)", path, what, LITE_COMMAND)
        check_outputs(bundle, error=error)
        return bundle, used


def _task(path: Path) -> str | None:
    """The model's task (None: unreadable metadata). A recording model gets ``recording_threads``
    interpreters and ``recording_precision``; an image model one thread (one image per request,
    about one web process per core) and float32."""
    try:
        return read_metadata(path).get("task")
    except BundleError:
        return None


def check_outputs(
    bundle: ModelBundle, *, error: type[ModelNotInstalledError] = ModelNotInstalledError
) -> None:
    """One blank input through the network (which also warms it up): the model must give one
    finite probability per class of its metadata, summing to 1; else ``error``."""
    size = bundle.image_size
    rr = np.ones((1, bundle.rr_width), np.float32) if bundle.rr_width else None
    try:
        blank = np.zeros((1, size, size, bundle.channels), np.uint8)
        probs = bundle.predict_proba(blank if bundle.channels > 1 else blank[..., 0], rr)
    except Exception as exc:
        raise error(f"The model {bundle.path.name} cannot run.") from exc
    if probs.shape != (1, len(bundle.classes)):
        raise error(
            f"The model {bundle.path.name} gives {probs.shape[-1]} outputs for "
            f"{len(bundle.classes)} classes in its metadata."
        )
    if not (np.isfinite(probs).all() and abs(float(probs.sum()) - 1.0) <= SUM_TOLERANCE):
        raise error(f"The model {bundle.path.name} does not give class probabilities.")
