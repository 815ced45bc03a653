"""A trained model and its metadata: the contract between the pipeline and the web app.

On disk a bundle is ``models/<name>.keras`` plus ``models/<name>.json``. The JSON says everything
serving needs -- class codes and order, representation and its parameters, inputs, sampling rate,
beat window, how it was trained and how it scored -- so the app never hard-codes any of it.

Metadata keys (required): ``name``, ``version``, ``classes`` (codes, in output order),
``label_set``, ``representation`` ({"kind", "params"}), ``inputs`` (["image"] or ["image", "rr"]),
``image_size``, ``sampling_rate``, ``window`` ({"pre_s", "post_s"}), ``task`` ("image" or
"recording"). Optional: ``training``, ``metrics_summary``, ``created_at``, ``code_version``,
``channels`` (1 by default; 2: each beat image holds the primary lead and a second lead as two
channels, issue 17) with ``channel_leads`` (the leads each channel was trained on).
TensorFlow is imported lazily so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecg.dsp.detection import snap_to_extremum
from ecg.dsp.signal import prepare_signal
from ecg.features.beats import extract_windows, rr_features, window_bounds
from ecg.features.context import feature_names, rhythm_inputs
from ecg.imaging import representations

logger = logging.getLogger(__name__)

REQUIRED_KEYS = (
    "name",
    "version",
    "classes",
    "label_set",
    "representation",
    "inputs",
    "image_size",
    "sampling_rate",
    "window",
    "task",
)


# ``predict_proba`` calls the network once for up to SINGLE_CALL_MAX images, else through
# ``predict`` in batches of PREDICT_BATCH (LiteRT's ``LiteModel.predict`` in its own
# ``lite_runtime.INVOKE_BATCH``, a divisor of PREDICT_BATCH).
SINGLE_CALL_MAX = 64
PREDICT_BATCH = 512


class BundleError(RuntimeError):
    """A model file or its metadata is missing or unusable."""


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]


class ModelBundle:
    def __init__(self, model: Any, metadata: dict[str, Any], path: Path):
        self.model = model
        self.metadata = metadata
        self.path = path
        self._lock = threading.Lock()  # Keras models are not guaranteed thread-safe to call

    @property
    def name(self) -> str:
        return self.metadata["name"]

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @property
    def classes(self) -> list[str]:
        return list(self.metadata["classes"])

    @property
    def kind(self) -> str:
        return self.metadata["representation"]["kind"]

    @property
    def image_size(self) -> int:
        return int(self.metadata["image_size"])

    @property
    def rhythm_features(self) -> str:
        return rhythm_feature_set(self.metadata)

    @property
    def channels(self) -> int:
        return channel_count(self.metadata)

    @property
    def rr_width(self) -> int:
        return rr_input_width(self.metadata)

    def rr_inputs(
        self, rr: np.ndarray, windows: np.ndarray, *, reference: np.ndarray | None = None
    ) -> np.ndarray:
        """The "rr" input for every beat of ONE recording (``rr``: ``rr_features`` of the beats,
        ``windows``: their model windows): the RR features, plus record context if used,
        taken over the ``reference`` beats (``context.record_context_features``)."""
        fs = float(self.metadata["sampling_rate"])
        r_index, _ = window_bounds(fs, self.metadata["window"]["pre_s"], 0.0)
        return rhythm_inputs(rr, windows, fs, r_index, self.rhythm_features, reference=reference)

    def render(self, windows: np.ndarray) -> np.ndarray:
        rep = self.metadata["representation"]
        return representations.render(
            rep["kind"], windows, float(self.metadata["sampling_rate"]), rep.get("params")
        )

    def render_channels(self, windows: np.ndarray) -> np.ndarray:
        """``render`` of (n, samples) windows, or of (n, channels, samples) ones: uint8 images
        (n, H, W) or (n, H, W, channels), each channel drawn from its own lead's window."""
        if windows.ndim == 2:
            return self.render(windows)
        return np.stack([self.render(windows[:, c]) for c in range(windows.shape[1])], axis=-1)

    def model_images(self, images: np.ndarray) -> np.ndarray:
        """uint8 images as the network takes them, (n, H, W, channels): (n, H, W) or one
        (H, W) image for a one-channel model, (n, H, W, C) or one (H, W, C) for a C-channel one."""
        images = np.asarray(images, dtype=np.uint8)
        single = 2 if self.channels == 1 else 3
        if images.ndim == single:
            images = images[None]
        if self.channels == 1:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] != self.channels:
            raise BundleError(
                f"model {self.name} takes {self.channels}-channel images, not {images.shape}"
            )
        return images

    def predict_proba(self, images: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (n, n_classes) for uint8 images (n, H, W) -- (n, H, W, C) for a
        model with C channels -- and RR features."""
        images = self.model_images(images)
        if len(images) == 0:  # a nested (ensemble) model fails on an empty batch
            return np.zeros((0, len(self.classes)), dtype=np.float64)
        inputs: Any = {"image": images}
        if "rr" in self.metadata["inputs"]:
            if rr is None:
                raise BundleError(f"model {self.name} needs RR-interval features")
            inputs["rr"] = np.asarray(rr, dtype=np.float32)
        if len(self.model.inputs) == 1:
            inputs = inputs["image"]  # a one-input model wants the bare tensor (no warning)
        with self._lock:
            if len(images) <= SINGLE_CALL_MAX:
                # predict_on_batch runs the traced graph without predict()'s per-call set-up:
                # about 1.5 ms for one image, against about 30 ms for an eager model(x) call.
                probs = self.model.predict_on_batch(inputs)
                return np.asarray(probs, dtype=np.float64)
            return np.asarray(
                self.model.predict(inputs, batch_size=PREDICT_BATCH, verbose=0),
                dtype=np.float64,
            )

    def predictions(self, probs: np.ndarray) -> list[Prediction]:
        classes = self.classes
        out = []
        for row in np.atleast_2d(probs):
            best = int(np.argmax(row))
            out.append(
                Prediction(
                    label=classes[best],
                    confidence=float(row[best]),
                    probabilities={c: float(p) for c, p in zip(classes, row, strict=False)},
                )
            )
        return out

    def beat_inputs(
        self,
        signal: np.ndarray,
        fs: float,
        peaks: np.ndarray,
        *,
        readable: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Model inputs for every beat at ``peaks`` (samples at ``fs``) of a raw lead in mV.

        Returns (kept peak indices, images, "rr" input or None). Same path as training:
        resample to the model rate, band-pass, cut windows, render, add the RR features (and
        the record context, see ``context``) if the model uses them. Shared by classification
        and explanation (Grad-CAM). ``readable`` (one flag per peak): the beats the record's
        references are taken over (``beat_windows``).
        """
        kept, windows, rr = self.beat_windows(signal, fs, peaks, readable=readable)
        return kept, self.render(windows), rr

    def beat_windows(
        self,
        signal: np.ndarray,
        fs: float,
        peaks: np.ndarray,
        *,
        readable: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``beat_inputs`` without the images: (kept peak indices, band-passed beat windows at
        the model rate, "rr" input or None).

        The "rr" input needs every window at once (the recording's median beat and RR); the
        images do not, and they are what costs memory (about 100 KB per beat while a batch of
        spectrograms is drawn), so ``classify_windows`` draws them batch by batch.

        ``readable`` (one flag per peak, e.g. ``quality.beats_readable``): the record-level
        references of the "rr" input (mean and median RR, median beat, median QRS width) are
        taken over these beats only, so a noisy stretch does not change the clean beats'
        inputs. None, or every beat flagged: every beat, as in training.
        """
        model_fs = float(self.metadata["sampling_rate"])
        clean = prepare_signal(signal, fs, model_fs)
        scaled_peaks = np.round(np.asarray(peaks) * (model_fs / fs)).astype(np.int64)
        if fs != model_fs:
            # Training windows are centred on peaks found at the model rate; a peak scaled from
            # another rate is up to one of its samples off (10 ms at 100 Hz): re-centre it.
            radius = int(np.ceil(model_fs / min(fs, model_fs)))
            scaled_peaks = snap_to_extremum(clean, scaled_peaks, radius)
        window = self.metadata["window"]
        windows, kept = extract_windows(
            clean, scaled_peaks, model_fs, pre_s=window["pre_s"], post_s=window["post_s"]
        )
        rr = None
        if "rr" in self.metadata["inputs"]:
            flags = None if readable is None else np.asarray(readable, dtype=bool)
            rr = self.rr_inputs(
                rr_features(scaled_peaks, model_fs, reference=flags)[kept],
                windows,
                reference=None if flags is None else flags[kept],
            )
        return kept, windows, rr

    def classify_windows(
        self, windows: np.ndarray, rr: np.ndarray | None = None, *, batch: int = PREDICT_BATCH
    ) -> np.ndarray:
        """``predict_proba(render(windows), rr)``, drawing and classifying ``batch`` beats at a
        time so a long recording's images never all sit in memory.

        The probabilities are the same as in one call: every image is drawn from its own window,
        and batches start at multiples of the network's own batch (``PREDICT_BATCH``).

        The next batch is drawn in a helper thread while the network classifies this one (NumPy
        and the LiteRT interpreter release the GIL), so on two cores the drawing costs little
        wall time; at most two batches of images exist at once.
        """
        if batch % PREDICT_BATCH:
            raise ValueError(f"batch must be a multiple of {PREDICT_BATCH}")
        bounds = batch_bounds(len(windows), batch)
        if not bounds:
            return np.empty((0, len(self.classes)), dtype=np.float64)
        parts = []
        draw = self.render_channels  # (n, channels, samples) windows: one image channel each
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="draw-beats") as drawer:
            drawing = drawer.submit(draw, windows[bounds[0][0] : bounds[0][1]])
            for number, (lo, hi) in enumerate(bounds):
                images = drawing.result()
                if number + 1 < len(bounds):
                    next_lo, next_hi = bounds[number + 1]
                    drawing = drawer.submit(draw, windows[next_lo:next_hi])
                parts.append(self.predict_proba(images, None if rr is None else rr[lo:hi]))
        return np.concatenate(parts)

    def classify_beats(
        self, signal: np.ndarray, fs: float, peaks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Classify every beat at ``peaks``; (kept peak indices, images, probabilities)."""
        kept, images, rr = self.beat_inputs(signal, fs, peaks)
        return kept, images, self.predict_proba(images, rr)


def batch_bounds(n: int, batch: int) -> list[tuple[int, int]]:
    """[lo, hi) of consecutive batches of ``n`` rows. A last batch small enough for
    ``predict_proba``'s one-call path joins the batch before it, so every batch of more than
    SINGLE_CALL_MAX rows goes through ``predict`` as the whole would have."""
    starts = list(range(0, n, batch))
    if len(starts) > 1 and n - starts[-1] <= SINGLE_CALL_MAX:
        starts.pop()
    return list(zip(starts, starts[1:] + [n], strict=False))


def trained_leads(metadata: dict[str, Any]) -> list[str]:
    """The leads a model was trained on: its metadata's ``leads`` (a model trained on several),
    else its one ``lead``; empty when the metadata says neither."""
    leads = metadata.get("leads") or ([metadata["lead"]] if metadata.get("lead") else [])
    return list(dict.fromkeys(str(lead) for lead in leads))  # each once, in the metadata's order


def channel_count(metadata: dict[str, Any]) -> int:
    """Image channels a model reads (``channels``; 1 for every bundle before issue 17's)."""
    return int(metadata.get("channels") or 1)


def channel_leads(metadata: dict[str, Any]) -> list[list[str]]:
    """Per image channel, the leads it was trained on (``channel_leads``); one channel: the
    model's ``trained_leads``."""
    if channel_count(metadata) == 1:
        return [trained_leads(metadata)]
    return [[str(lead) for lead in leads] for leads in metadata["channel_leads"]]


def check_channels(metadata: dict[str, Any], where: str) -> None:
    """BundleError unless the metadata's channels are 1, or 2 with ``channel_leads`` naming
    each channel's leads and no ``lead_fusion`` (a two-lead model reads both leads at once)."""
    channels = metadata.get("channels", 1)
    if channels not in (1, 2):
        raise BundleError(f"{where}: channels must be 1 or 2, not {channels!r}")
    if channels == 2:
        leads = metadata.get("channel_leads")
        if not (
            isinstance(leads, list)
            and len(leads) == 2
            and all(isinstance(c, list) and c and all(isinstance(x, str) for x in c) for c in leads)
        ):
            raise BundleError(f"{where}: a two-channel model needs channel_leads (2 lists)")
        if (metadata.get("lead_fusion") or {}).get("rule") not in (None, "primary"):
            raise BundleError(f"{where}: a two-channel model takes no lead_fusion rule")


def rhythm_feature_set(metadata: dict[str, Any]) -> str:
    """What a model's "rr" input holds (``context.FEATURE_SETS``); bundles before it: "rr"."""
    return str(metadata.get("rhythm_features") or "rr")


def rr_input_width(metadata: dict[str, Any]) -> int:
    """Columns of a model's "rr" input (0 for an image-only model)."""
    if "rr" not in metadata["inputs"]:
        return 0
    return len(feature_names(rhythm_feature_set(metadata)))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB pieces: what says that a conversion, an export or a
    measurement still belongs to the model file beside it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(path: str | Path) -> dict[str, Any]:
    meta_path = Path(path).with_suffix(".json")
    if not meta_path.is_file():
        raise BundleError(f"{meta_path}: model metadata not found")
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{meta_path}: unreadable metadata ({exc})") from exc
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise BundleError(f"{meta_path}: metadata lacks {', '.join(missing)}")
    check_channels(metadata, str(meta_path))
    return metadata


def load_bundle(path: str | Path) -> ModelBundle:
    """Load ``<name>.keras`` and ``<name>.json``; BundleError naming the file if unusable."""
    model_path = Path(path).with_suffix(".keras")
    metadata = read_metadata(model_path)
    if not model_path.is_file():
        raise BundleError(f"{model_path}: model file not found")
    try:
        import keras

        model = keras.saving.load_model(model_path, compile=False)
    except Exception as exc:
        raise BundleError(f"{model_path}: cannot load model ({exc})") from exc
    return ModelBundle(model, metadata, model_path)


def save_bundle(model: Any, metadata: dict[str, Any], path: str | Path) -> Path:
    """Write ``<name>.keras`` and its metadata JSON side by side."""
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise BundleError(f"metadata lacks {', '.join(missing)}")
    check_channels(metadata, str(path))
    model_path = Path(path).with_suffix(".keras")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(model_path)
    model_path.with_suffix(".json").write_text(
        json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    )
    return model_path
