"""Grad-CAM: which part of the input image drove a model's decision (no Django).

Gradient-weighted class activation mapping (Selvaraju et al. 2017) on the last convolutional
layer of a Keras model: the class score's gradient, averaged over each feature map, weighs that
map; the weighted sum, rectified and scaled to [0, 1], is resized to the input image. Works for
models whose inputs are ``image`` alone or ``image`` + ``rr`` (the RR features get no map, but
they take part in the forward pass, so the map explains the same decision the model made).

The class score is the pre-softmax logit when the model ends in a softmax (the probability
saturates near 1 and its gradient vanishes; the logit's does not). TensorFlow and Keras are
imported lazily, like in ``bundle``.
"""

from __future__ import annotations

import io
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from ecg.models.bundle import ModelBundle

# How to read an overlay, shown beside every heat map (web page, PDF, report).
READING_NOTE = (
    "Warm colours mark the parts of the image that pushed the model towards the predicted "
    "class; cool or uncoloured parts had little influence. It shows where the model looked, "
    "not why the rhythm is abnormal."
)
OVERLAY_ALPHA = 0.55
COLORMAP = "jet"


class ExplainError(RuntimeError):
    """The model cannot be explained with Grad-CAM (e.g. it has no convolutional layer)."""


@runtime_checkable
class SelfExplaining(Protocol):
    """A model that computes its own Grad-CAM, without TensorFlow (see ``bundle_grad_cam``)."""

    layer_name: str

    def grad_cam(
        self,
        images: np.ndarray,
        *,
        rr: np.ndarray | None = None,
        class_index: int | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...


def _is_conv(layer: Any) -> bool:
    """A 2-D convolution (plain, depthwise or separable) with a 4-D output."""
    import keras

    conv_types = (
        keras.layers.Conv2D,
        keras.layers.DepthwiseConv2D,
        keras.layers.SeparableConv2D,
    )
    return isinstance(layer, conv_types)


def last_conv_layer(model: Any) -> Any:
    """The model's last top-level 2-D convolutional layer (ExplainError when there is none)."""
    for layer in reversed(model.layers):
        if _is_conv(layer):
            return layer
    nested = [layer.name for layer in model.layers if hasattr(layer, "layers")]
    hint = f" (convolutions nested inside {', '.join(nested)} are not searched)" if nested else ""
    raise ExplainError(f"model {model.name!r} has no top-level Conv2D layer{hint}")


def feature_layer(model: Any) -> Any:
    """The layer whose output Grad-CAM weighs: the last convolution, or the normalisation and
    activation layers straight after it (conv -> BatchNorm -> ReLU), whose maps are what the
    rest of the network reads; never past a pooling step, which would halve the resolution.
    """
    import keras

    elementwise = (
        keras.layers.BatchNormalization,
        keras.layers.Activation,
        keras.layers.ReLU,
        keras.layers.LeakyReLU,
        keras.layers.ELU,
        keras.layers.PReLU,
    )
    chosen = last_conv_layer(model)
    layers = list(model.layers)
    for layer in layers[layers.index(chosen) + 1 :]:
        if not isinstance(layer, elementwise) or layer.input is not chosen.output:
            break
        chosen = layer
    return chosen


class _GradCamHead:
    """A model view that returns (feature maps of the conv layer, class scores)."""

    def __init__(self, model: Any, layer_name: str | None = None):
        import keras

        layer = model.get_layer(layer_name) if layer_name else feature_layer(model)
        self.layer_name = layer.name
        last = model.layers[-1]
        self._dense = None
        scores = model.output
        activation = getattr(last, "activation", None)
        if activation is keras.activations.softmax:
            if isinstance(last, keras.layers.Dense):
                # Recompute the logits from the Dense layer's own weights: no model surgery.
                scores, self._dense = last.input, last
            elif isinstance(last, keras.layers.Activation):
                scores = last.input
        self.view = keras.Model(inputs=model.inputs, outputs=[layer.output, scores])
        self.lock = threading.Lock()

    def scores(self, raw: Any) -> Any:
        if self._dense is None:
            return raw
        import keras

        logits = keras.ops.matmul(raw, self._dense.kernel)
        return logits + self._dense.bias if self._dense.use_bias else logits


# One head per model object, built on first use (building a keras.Model costs milliseconds).
_heads: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_heads_lock = threading.Lock()


def _head_for(model: Any, layer_name: str | None) -> _GradCamHead:
    with _heads_lock:
        per_model = _heads.setdefault(model, {})
        if layer_name not in per_model:
            per_model[layer_name] = _GradCamHead(model, layer_name)
        return per_model[layer_name]


def model_inputs(
    images: np.ndarray, rr: np.ndarray | None, input_names: list[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(images as uint8 (n, H, W), the network's inputs by name) for Grad-CAM of a model with
    inputs ``input_names``; ExplainError for a wrong shape or missing RR features."""
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ExplainError(f"expected images of shape (n, H, W), got {images.shape}")
    inputs = {"image": images[..., None]}
    if "rr" in input_names:
        if rr is None:
            raise ExplainError("this model needs RR-interval features to be explained")
        inputs["rr"] = np.asarray(rr, dtype=np.float32).reshape(len(images), -1)
    return images, inputs


def grad_cam(
    model: Any,
    images: np.ndarray,
    *,
    rr: np.ndarray | None = None,
    class_index: int | np.ndarray | None = None,
    layer_name: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heat maps (n, H, W) float32 in [0, 1], one per image, and the class index explained.

    ``images`` are uint8 (n, H, W) or (H, W), exactly what the bundle feeds the model;
    ``class_index`` (one int or one per image) defaults to each image's predicted class.
    An image whose map is zero everywhere (no feature pushed towards the class) gets zeros.
    """
    import tensorflow as tf

    input_names = [t.name.split(":")[0] for t in model.inputs]
    images, arrays = model_inputs(images, rr, input_names)
    inputs = {name: tf.convert_to_tensor(value) for name, value in arrays.items()}
    feed = [inputs[name] for name in input_names] if len(input_names) > 1 else inputs["image"]
    members = _ensemble_members(model) if layer_name is None else []
    if members:
        return _ensemble_grad_cam(model, members, images, feed, rr=rr, class_index=class_index)
    head = _head_for(model, layer_name)
    with head.lock, tf.GradientTape() as tape:
        feature_maps, raw = head.view(feed, training=False)
        tape.watch(feature_maps)
        scores = head.scores(raw)
        if class_index is None:
            targets = np.argmax(np.asarray(scores), axis=1)
        else:
            targets = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(images),))
        chosen = tf.gather(scores, tf.constant(targets, dtype=tf.int32), axis=1, batch_dims=1)
    grads = tape.gradient(chosen, feature_maps)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per feature map
    cams = tf.nn.relu(tf.reduce_sum(weights * feature_maps, axis=-1)).numpy()  # (n, h, w)
    cams = normalise_peaks(cams)
    size = images.shape[1:3]
    resized = tf.image.resize(cams[..., None], size, method="bilinear").numpy()[..., 0]
    return np.clip(resized, 0.0, 1.0).astype(np.float32), np.asarray(targets, dtype=np.int64)


def normalise_peaks(cams: np.ndarray) -> np.ndarray:
    """Each map (n, h, w) divided by its own maximum; a map with no positive value stays zero.
    Shared by the Keras path and the NumPy head (``gradcam_head``) so both scale alike."""
    peak = cams.reshape(len(cams), -1).max(axis=1)
    return np.divide(
        cams, peak[:, None, None], out=np.zeros_like(cams), where=peak[:, None, None] > 0
    )


def _ensemble_members(model: Any) -> list[Any]:
    """Sub-models of a seed ensemble (no top-level convolution, members that have one)."""
    if any(_is_conv(layer) for layer in model.layers):
        return []
    return [
        layer
        for layer in model.layers
        if hasattr(layer, "layers") and any(_is_conv(inner) for inner in layer.layers)
    ]


def explained_layer_name(model: Any) -> str:
    """The layer(s) whose maps ``grad_cam`` weighs for this model, for the record: one name, or
    ``member/layer`` per member of a seed ensemble."""
    members = _ensemble_members(model)
    if members:
        return ", ".join(f"{member.name}/{feature_layer(member).name}" for member in members)
    return feature_layer(model).name


def _ensemble_grad_cam(
    model: Any,
    members: list[Any],
    images: np.ndarray,
    feed: Any,
    *,
    rr: np.ndarray | None,
    class_index: int | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of an ensemble that averages its members' probabilities: the mean of each
    member's map for the ENSEMBLE's class (as the ensemble averages its members' votes)."""
    if class_index is None:
        targets = np.argmax(np.asarray(model(feed, training=False)), axis=1)
    else:
        targets = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(images),))
    maps = np.mean(
        [grad_cam(member, images, rr=rr, class_index=targets)[0] for member in members], axis=0
    )
    return maps.astype(np.float32), np.asarray(targets, dtype=np.int64)


def bundle_grad_cam(
    bundle: ModelBundle,
    images: np.ndarray,
    *,
    rr: np.ndarray | None = None,
    class_index: int | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``grad_cam`` on a bundle's model; ExplainError when it needs RR features and has none.

    A model that computes its own Grad-CAM (``SelfExplaining``: the LiteRT view + NumPy head of
    ``ecg.models.lite_runtime``, no TensorFlow) is asked for it; a Keras model goes through
    ``grad_cam``. Both give the same maps (tested to 1e-4).
    """
    if "rr" in bundle.metadata["inputs"] and rr is None:
        raise ExplainError(f"model {bundle.name} needs RR-interval features to be explained")
    if isinstance(bundle.model, SelfExplaining):
        return bundle.model.grad_cam(images, rr=rr, class_index=class_index)
    return grad_cam(bundle.model, images, rr=rr, class_index=class_index)


def bundle_explained_layer_name(bundle: ModelBundle) -> str:
    """``explained_layer_name`` of a bundle's model, whichever runtime explains it."""
    if isinstance(bundle.model, SelfExplaining):
        return bundle.model.layer_name
    return explained_layer_name(bundle.model)


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 RGB through the colour map."""
    from matplotlib import colormaps

    rgba = colormaps[COLORMAP](np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def overlay(
    image: np.ndarray, heatmap: np.ndarray, *, scale: int = 4, alpha: float = OVERLAY_ALPHA
) -> np.ndarray:
    """The grayscale image under the coloured heat map, enlarged ``scale`` times (RGB uint8).

    The colour's weight grows with the heat, so uninformative regions keep the original image.
    """
    gray = np.asarray(image, dtype=np.float32)
    heat = np.asarray(heatmap, dtype=np.float32)
    if gray.shape != heat.shape:
        raise ExplainError(f"image {gray.shape} and heat map {heat.shape} differ in size")
    weight = (alpha * heat)[..., None]
    blended = gray[..., None] * (1.0 - weight) + colorize(heat).astype(np.float32) * weight
    rgb = np.clip(blended, 0, 255).round().astype(np.uint8)
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)  # crisp pixels, no blur
    return rgb


def png_bytes(rgb_or_gray: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb_or_gray, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def overlay_png(image: np.ndarray, heatmap: np.ndarray, *, scale: int = 4) -> bytes:
    """PNG of ``overlay`` (what the result page and the PDF show)."""
    return png_bytes(overlay(image, heatmap, scale=scale))


def explain_beats(
    bundle: ModelBundle,
    signal: np.ndarray,
    fs: float,
    peaks: np.ndarray,
    beat_indices: np.ndarray | list[int],
    *,
    class_index: int | np.ndarray | None = None,
    readable: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grad-CAM for chosen beats of a recording (indices into ``peaks``), for ``class_index``
    (default: each beat's predicted class); ``readable`` as in ``bundle.beat_windows`` (pass
    the analysis's flags so the beat gets the input it was classified with).

    The whole lead goes through ``bundle.beat_windows`` -- the classification path -- because
    the RR features of a beat depend on its neighbours; only the chosen beats are drawn (the
    same images ``beat_inputs`` would draw). Returns (images, heat maps, explained class
    indices), one per chosen beat; ExplainError for a beat too close to the ends of the
    recording to have a full window (it was never classified either).
    """
    kept, windows, rr = bundle.beat_windows(signal, fs, peaks, readable=readable)
    position = {int(p): i for i, p in enumerate(kept)}
    wanted = [int(b) for b in np.atleast_1d(beat_indices)]
    missing = [b for b in wanted if b not in position]
    if missing:
        raise ExplainError(f"beat(s) {missing} have no full window and were not classified")
    rows = np.array([position[b] for b in wanted], dtype=np.int64)
    images = bundle.render(windows[rows])
    heat, targets = bundle_grad_cam(
        bundle, images, rr=None if rr is None else rr[rows], class_index=class_index
    )
    return images, heat, targets
