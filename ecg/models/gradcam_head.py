"""Grad-CAM without TensorFlow: the network after the explained layer, run backwards in NumPy.

Why: Grad-CAM needs the class score's gradient with respect to the explained feature maps, and
only TensorFlow computes gradients of a Keras model -- but importing it costs a serving process
about 600 MB. The layers that follow the explained layer (``explain.feature_layer``) in the
shipped models are few and simple: pooling, flattening, dense layers, ReLU, concatenation with
the RR branch, dropout (the identity at inference), normalisations (affine at inference). So:

* at export time (``describe``, needs Keras), the model is split into a *view* -- a Keras model
  from the inputs to the explained feature maps and to every other tensor the rest of the
  network reads (e.g. the RR branch's output), which LiteRT then runs -- and a *head*: those
  remaining layers as plain operations with their weights (``GradCamHead``);
* when serving, ``GradCamHead.grad_cam`` takes the view's outputs, runs the head forward, then
  backwards from the chosen pre-softmax logit to the feature maps, and weighs the maps exactly
  as ``explain.grad_cam`` does (same class score, same ensemble rule, same bilinear resize).

A layer type the head does not know is refused (``HeadError``) at export, so such a model keeps
the Keras path. No Django here; Keras is imported only by ``describe``.

Long on purpose: the export-time split and the NumPy backward pass mirror each other per layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecg.models.explain import ExplainError, normalise_peaks

# Bumped whenever the head's file format or arithmetic changes: older exports are then stale.
HEAD_FORMAT = 1

# Layers that do nothing at inference.
_IDENTITY_LAYERS = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
)


class HeadError(ExplainError):
    """The model has a layer (or a shape of graph) the NumPy head cannot reproduce."""


@dataclass
class Op:
    """One layer call of the head: ``kind``, its input refs, settings and weights.

    Refs name values: ``"features"`` (the explained maps), ``"side:<j>"`` (the j-th other
    tensor the view outputs), ``"op:<k>"`` (the k-th op's output).
    """

    kind: str
    layer: str
    inputs: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class MemberHead:
    """The head of one network (a seed ensemble has one per member)."""

    name: str
    feature_layer: str
    ops: list[Op]
    scores: str  # ref of the class scores (pre-softmax logits when the network ends in softmax)
    softmax: bool  # the network's output is softmax(scores)
    n_sides: int

    def output_names(self, index: int) -> tuple[str, list[str]]:
        """Names of this member's outputs in the view: feature maps, then side tensors."""
        return f"m{index}_features", [f"m{index}_side{j}" for j in range(self.n_sides)]


# -- forward and backward of each op (float64: the maps must match TF's float32 to 1e-4) --------


def _forward(op: Op, xs: list[np.ndarray]) -> np.ndarray:
    kind, a = op.kind, op.arrays
    if kind == "identity":
        return xs[0]
    if kind == "affine":  # BatchNormalization, Normalization, Rescaling at inference
        return xs[0] * a["scale"] + a["offset"]
    if kind == "relu":
        return np.maximum(xs[0], 0.0)
    if kind == "dense":
        z = xs[0] @ a["kernel"] + a["bias"]
        return np.maximum(z, 0.0) if op.config["relu"] else z
    if kind == "flatten":
        return xs[0].reshape(len(xs[0]), -1)
    if kind == "concat":
        return np.concatenate(xs, axis=op.config["axis"])
    if kind == "global_avg_pool":
        return xs[0].mean(axis=(1, 2), keepdims=op.config["keepdims"])
    if kind == "max_pool":
        out = None
        for window in _pool_windows(xs[0], op.config):
            out = window if out is None else np.maximum(out, window)
        return out
    raise HeadError(f"unknown head op {kind!r}")  # only a corrupt export gets here


def _backward(op: Op, xs: list[np.ndarray], y: np.ndarray, dy: np.ndarray) -> list[np.ndarray]:
    """Gradients with respect to each input of ``op``, given its output's gradient ``dy``."""
    kind, a = op.kind, op.arrays
    if kind == "identity":
        return [dy]
    if kind == "affine":
        return [dy * a["scale"]]
    if kind == "relu":
        return [dy * (y > 0)]  # as TF's ReluGrad: zero where the input was <= 0
    if kind == "dense":
        dz = dy * (y > 0) if op.config["relu"] else dy
        return [dz @ a["kernel"].T]
    if kind == "flatten":
        return [dy.reshape(xs[0].shape)]
    if kind == "concat":
        bounds = np.cumsum([x.shape[op.config["axis"]] for x in xs])[:-1]
        return np.split(dy, bounds, axis=op.config["axis"])
    if kind == "global_avg_pool":
        h, w = xs[0].shape[1:3]
        return [np.broadcast_to(dy.reshape(len(dy), 1, 1, -1) / (h * w), xs[0].shape)]
    if kind == "max_pool":
        # Each window's gradient goes to its FIRST largest input in row-major order, like TF's
        # MaxPoolGrad (ties are common: the maps are ReLU outputs, often zero).
        dx = np.zeros_like(xs[0])
        taken = np.zeros(y.shape, dtype=bool)
        for window, where in zip(
            _pool_windows(xs[0], op.config), _pool_windows(dx, op.config), strict=True
        ):
            first = (window == y) & ~taken
            where += dy * first  # a strided view: writes into dx
            taken |= first
        return [dx]
    raise HeadError(f"unknown head op {kind!r}")


def _pool_windows(x: np.ndarray, config: dict[str, Any]) -> Iterator[np.ndarray]:
    """Views of ``x``, one per position inside the pooling window (row-major), each holding
    that position of every window ("valid" padding: trailing rows/columns are dropped)."""
    (ph, pw), (sh, sw) = config["pool_size"], config["strides"]
    h, w = x.shape[1:3]
    oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    for i in range(ph):
        for j in range(pw):
            yield x[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- the head ------------------------------------------------------------------------------------


class GradCamHead:
    """Grad-CAM from a view's outputs: ``{"m<i>_features": maps, "m<i>_side<j>": tensors}``.

    ``combine``: "single" (one network) or "average" (a seed ensemble whose output is the mean
    of its members' outputs, as ``architectures.build_ensemble`` builds it).
    """

    def __init__(self, members: list[MemberHead], combine: str, layer_name: str):
        if combine not in ("single", "average") or not members:
            raise HeadError(f"unknown combination {combine!r} of {len(members)} network(s)")
        self.members = members
        self.combine = combine
        self.layer_name = layer_name  # what ``explain.explained_layer_name`` says, for records

    # -- running ---------------------------------------------------------------------------
    def _run(
        self, member: MemberHead, index: int, outputs: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        features_name, side_names = member.output_names(index)
        values = {"features": np.asarray(outputs[features_name], dtype=np.float64)}
        for j, name in enumerate(side_names):
            values[f"side:{j}"] = np.asarray(outputs[name], dtype=np.float64)
        for k, op in enumerate(member.ops):
            values[f"op:{k}"] = _forward(op, [values[ref] for ref in op.inputs])
        return values

    def _member_output(self, member: MemberHead, values: dict[str, np.ndarray]) -> np.ndarray:
        scores = values[member.scores]
        return _softmax(scores) if member.softmax else scores

    def probabilities(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """The network's output (n, n_classes), recomputed from the view's outputs."""
        per_member = [
            self._member_output(member, self._run(member, i, outputs))
            for i, member in enumerate(self.members)
        ]
        return np.mean(per_member, axis=0)

    def _gradient(
        self, member: MemberHead, values: dict[str, np.ndarray], targets: np.ndarray
    ) -> np.ndarray:
        """d scores[target] / d features, one row per image."""
        scores = values[member.scores]
        grads = {member.scores: np.zeros_like(scores)}
        grads[member.scores][np.arange(len(scores)), targets] = 1.0
        for k in reversed(range(len(member.ops))):
            dy = grads.pop(f"op:{k}", None)
            if dy is None:
                continue  # this op's output does not reach the score
            op = member.ops[k]
            xs = [values[ref] for ref in op.inputs]
            for ref, dx in zip(op.inputs, _backward(op, xs, values[f"op:{k}"], dy), strict=True):
                if not ref.startswith("side:"):  # side tensors are constants here
                    grads[ref] = grads[ref] + dx if ref in grads else dx
        return grads.get("features", np.zeros_like(values["features"]))

    def grad_cam(
        self,
        outputs: dict[str, np.ndarray],
        size: tuple[int, int],
        class_index: int | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heat maps (n, *size) float32 in [0, 1] and the explained class per image, as
        ``explain.grad_cam`` gives them for the same model and inputs."""
        runs = [self._run(member, i, outputs) for i, member in enumerate(self.members)]
        n = len(runs[0]["features"])
        if class_index is not None:
            targets = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,))
        elif self.combine == "single":
            targets = np.argmax(runs[0][self.members[0].scores], axis=1)  # the logits' argmax
        else:  # the ensemble's own class (its averaged output), as explain does
            member_outputs = [
                self._member_output(m, v) for m, v in zip(self.members, runs, strict=True)
            ]
            targets = np.argmax(np.mean(member_outputs, axis=0), axis=1)
        maps = []
        for member, values in zip(self.members, runs, strict=True):
            features = values["features"]
            weights = self._gradient(member, values, targets).mean(axis=(1, 2), keepdims=True)
            cams = np.maximum((weights * features).sum(axis=-1), 0.0)
            maps.append(np.clip(resize_bilinear(normalise_peaks(cams), size), 0.0, 1.0))
        return np.mean(maps, axis=0).astype(np.float32), np.asarray(targets, dtype=np.int64)

    # -- files: the structure as JSON, the weights as one .npz ----------------------------------
    def structure(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "combine": self.combine,
            "layer_name": self.layer_name,
            "members": [
                {
                    "name": m.name,
                    "feature_layer": m.feature_layer,
                    "scores": m.scores,
                    "softmax": m.softmax,
                    "n_sides": m.n_sides,
                    "ops": [
                        {
                            "kind": op.kind,
                            "layer": op.layer,
                            "inputs": op.inputs,
                            "config": op.config,
                            "arrays": sorted(op.arrays),
                        }
                        for op in m.ops
                    ],
                }
                for m in self.members
            ],
        }

    def arrays(self) -> dict[str, np.ndarray]:
        # float32 on disk, like the Keras weights themselves; the head computes in float64.
        return {
            f"m{i}_op{k}_{name}": value.astype(np.float32)
            for i, member in enumerate(self.members)
            for k, op in enumerate(member.ops)
            for name, value in op.arrays.items()
        }

    @classmethod
    def from_parts(cls, structure: dict[str, Any], arrays: Any) -> GradCamHead:
        """Rebuild a head from ``structure()`` and ``arrays()`` (e.g. an opened ``.npz``)."""
        if structure.get("format") != HEAD_FORMAT:
            raise HeadError(f"head format {structure.get('format')} is not {HEAD_FORMAT}")
        members = []
        for i, m in enumerate(structure["members"]):
            ops = [
                Op(
                    kind=op["kind"],
                    layer=op["layer"],
                    inputs=list(op["inputs"]),
                    config=_tuples(op["config"]),
                    arrays={
                        name: np.asarray(arrays[f"m{i}_op{k}_{name}"], dtype=np.float64)
                        for name in op["arrays"]
                    },
                )
                for k, op in enumerate(m["ops"])
            ]
            members.append(
                MemberHead(m["name"], m["feature_layer"], ops, m["scores"], m["softmax"],
                           int(m["n_sides"]))
            )  # fmt: skip
        return cls(members, structure["combine"], structure["layer_name"])


def _tuples(config: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; pooling sizes are compared and unpacked as tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}


def resize_bilinear(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, h, w) -> (n, *size), as ``tf.image.resize(..., "bilinear")`` (half-pixel centres,
    no antialiasing; edges clamp), so the LiteRT heat maps equal the Keras ones."""
    maps = np.asarray(maps, dtype=np.float64)

    def axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        floor = np.floor(source)
        lower = np.maximum(floor, 0).astype(np.int64)
        upper = np.minimum(np.ceil(source), n_in - 1).astype(np.int64)
        return lower, upper, source - floor

    top, bottom, dy = axis_weights(maps.shape[1], size[0])
    left, right, dx = axis_weights(maps.shape[2], size[1])
    upper_rows, lower_rows = maps[:, top], maps[:, bottom]
    above = upper_rows[:, :, left] + (upper_rows[:, :, right] - upper_rows[:, :, left]) * dx
    below = lower_rows[:, :, left] + (lower_rows[:, :, right] - lower_rows[:, :, left]) * dx
    return above + (below - above) * dy[None, :, None]


# -- export time: split a Keras model into a view and a head (imports Keras) -----------------------


def describe(model: Any) -> tuple[Any, GradCamHead]:
    """(view, head) of a Keras model: ``view`` is a Keras model with the same inputs whose
    dict outputs are what ``GradCamHead.grad_cam`` reads. ``HeadError`` when any layer after
    the explained one, or an ensemble's combination, is not one the head reproduces."""
    import keras

    from ecg.models.explain import _ensemble_members, explained_layer_name, feature_layer

    members = _ensemble_members(model)
    layer_name = explained_layer_name(model)
    if not members:
        head, outputs = _member_head(model, feature_layer(model), 0)
        view = keras.Model(model.inputs, outputs, name=f"{model.name}_gradcam_view")
        return view, GradCamHead([head], "single", layer_name)
    combine, calls = _ensemble_calls(model, members)
    heads, outputs = [], {}
    for i, (member, arguments) in enumerate(zip(members, calls, strict=True)):
        head, member_outputs = _member_head(member, feature_layer(member), i)
        member_view = keras.Model(member.inputs, member_outputs, name=f"{member.name}_view")
        heads.append(head)
        outputs.update(member_view(arguments))
    view = keras.Model(model.inputs, outputs, name=f"{model.name}_gradcam_view")
    return view, GradCamHead(heads, combine, layer_name)


def _ensemble_calls(model: Any, members: list[Any]) -> tuple[str, list[Any]]:
    """How a seed ensemble combines its members: each member called once on the model's
    inputs, their outputs averaged (or a lone member's output returned)."""
    import keras

    nodes = [n for n in _nodes_in_order(model) if not n.is_input]
    calls = {id(n.operation): n for n in nodes if n.operation in members}
    rest = [n for n in nodes if n.operation not in members]
    if len(calls) != len(members) or len(nodes) - len(rest) != len(members):
        raise HeadError(f"ensemble {model.name!r}: each member must be called exactly once")
    inputs = {id(t) for t in model.inputs}
    if any(id(t) not in inputs for n in calls.values() for t in n.input_tensors):
        raise HeadError(f"ensemble {model.name!r}: members must read the model's own inputs")
    member_outputs = [calls[id(m)].outputs[0] for m in members]
    if len(model.outputs) != 1:
        raise HeadError(f"ensemble {model.name!r} has {len(model.outputs)} outputs, not one")
    if not rest and len(members) == 1 and model.outputs[0] is member_outputs[0]:
        combine = "single"
    elif (
        len(rest) == 1
        and isinstance(rest[0].operation, keras.layers.Average)
        and [id(t) for t in rest[0].input_tensors] == [id(t) for t in member_outputs]
        and rest[0].outputs[0] is model.outputs[0]
    ):
        combine = "average"
    else:
        kinds = ", ".join(type(n.operation).__name__ for n in rest) or "nothing"
        raise HeadError(
            f"ensemble {model.name!r} combines its members with {kinds}; only Average is known"
        )
    arguments = [calls[id(m)].arguments.args for m in members]
    return combine, [args[0] if len(args) == 1 else list(args) for args in arguments]


def _nodes_in_order(model: Any) -> list[Any]:
    """The calls of a functional model, inputs first (the order Keras itself runs them in)."""
    by_depth = model._nodes_by_depth  # Keras has no public graph API for this
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _member_head(model: Any, explained: Any, index: int) -> tuple[MemberHead, dict[str, Any]]:
    """The head of one functional network after layer ``explained``, and the view outputs."""
    if len(model.outputs) != 1:
        raise HeadError(f"model {model.name!r} has {len(model.outputs)} outputs, not one")
    refs = {id(explained.output): "features"}
    sides: list[Any] = []
    ops: list[Op] = []
    for node in _nodes_in_order(model):
        if node.is_input or not any(id(t) in refs for t in node.input_tensors):
            continue  # not downstream of the explained maps: the view computes it
        inputs = []
        for tensor in node.input_tensors:
            if id(tensor) not in refs:  # computed without the maps: a constant for the gradient
                refs[id(tensor)] = f"side:{len(sides)}"
                sides.append(tensor)
            inputs.append(refs[id(tensor)])
        if len(node.outputs) != 1:
            raise HeadError(f"layer {node.operation.name!r} has several outputs")
        ops.append(_op_for(node, inputs, is_last=node.outputs[0] is model.outputs[0]))
        refs[id(node.outputs[0])] = f"op:{len(ops) - 1}"
    output_ref = refs.get(id(model.outputs[0]))
    if output_ref != f"op:{len(ops) - 1}":
        raise HeadError(
            f"model {model.name!r}: the output is not the last call after {explained.name!r}"
        )
    last = ops[-1]  # the output's own op: Keras orders the calls by depth, the output's is 0
    softmax = last.kind == "softmax" or bool(last.config.pop("softmax", False))
    scores = output_ref
    if last.kind == "softmax":  # an Activation("softmax") layer: the scores are its input
        scores = ops.pop().inputs[0]
    head = MemberHead(model.name, explained.name, ops, scores, softmax, len(sides))
    features_name, side_names = head.output_names(index)
    outputs = {features_name: explained.output, **dict(zip(side_names, sides, strict=True))}
    return head, outputs


def _op_for(node: Any, inputs: list[str], *, is_last: bool) -> Op:
    """The head op reproducing the layer call ``node`` at inference; HeadError for any other."""
    import keras
    from keras import activations, layers, ops

    layer = node.operation
    rank = len(node.input_tensors[0].shape)  # of this call (a layer may be called twice)

    def weights(variable: Any) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(variable), dtype=np.float64)

    def refuse(why: str) -> HeadError:
        return HeadError(
            f"layer {layer.name!r} ({type(layer).__name__}) after the explained layer: {why}; "
            "Grad-CAM for this model needs Keras"
        )

    def activation_kind(activation: Any) -> str:
        if activation in (activations.linear, None):
            return "linear"
        if activation is activations.relu:
            return "relu"
        if activation is activations.softmax and is_last:
            return "softmax"  # the class scores are the logits before it
        raise refuse(f"activation {getattr(activation, '__name__', activation)!r} is not known")

    name = layer.name
    channels_last = getattr(layer, "data_format", "channels_last") == "channels_last"
    if type(layer).__name__ in _IDENTITY_LAYERS:
        return Op("identity", name, inputs)
    if type(layer) is layers.Dense:
        if getattr(layer, "quantization_mode", None):
            raise refuse("quantized kernels are not known")
        kind = activation_kind(layer.activation)
        kernel = weights(layer.kernel)
        bias = weights(layer.bias) if layer.use_bias else np.zeros(kernel.shape[1])
        config = {"relu": kind == "relu", **({"softmax": True} if kind == "softmax" else {})}
        return Op("dense", name, inputs, config, {"kernel": kernel, "bias": bias})
    if type(layer) is layers.ReLU:
        if layer.max_value is not None or layer.negative_slope or layer.threshold:
            raise refuse("only a plain ReLU (no cap, slope or threshold) is known")
        return Op("relu", name, inputs)
    if type(layer) is layers.Activation:
        kind = activation_kind(layer.activation)
        return Op({"linear": "identity"}.get(kind, kind), name, inputs)
    if type(layer) is layers.BatchNormalization:
        if layer.axis not in (-1, rank - 1):
            raise refuse("only normalisation over the last axis is known")
        # As tf.nn.batch_normalization computes it: x * inv + (beta - mean * inv).
        inv = 1.0 / np.sqrt(weights(layer.moving_variance) + layer.epsilon)
        if layer.scale:
            inv = inv * weights(layer.gamma)
        beta = weights(layer.beta) if layer.center else 0.0
        return Op("affine", name, inputs, {},
                  {"scale": inv, "offset": beta - weights(layer.moving_mean) * inv})  # fmt: skip
    if type(layer) is layers.Normalization:
        if layer.invert:
            raise refuse("an inverted Normalization is not known")
        scale = 1.0 / np.maximum(np.sqrt(weights(layer.variance)), keras.config.epsilon())
        return Op("affine", name, inputs, {},
                  {"scale": scale, "offset": -weights(layer.mean) * scale})  # fmt: skip
    if type(layer) is layers.Rescaling:
        scale, offset = np.asarray(layer.scale, np.float64), np.asarray(layer.offset, np.float64)
        return Op("affine", name, inputs, {}, {"scale": scale, "offset": offset})
    if type(layer) is layers.Flatten and channels_last:
        return Op("flatten", name, inputs)
    if type(layer) is layers.Concatenate:
        return Op("concat", name, inputs, {"axis": int(layer.axis) % rank})
    if type(layer) is layers.GlobalAveragePooling2D and channels_last:
        return Op("global_avg_pool", name, inputs, {"keepdims": bool(layer.keepdims)})
    if type(layer) is layers.MaxPooling2D and channels_last:
        if layer.padding != "valid":
            raise refuse(f"padding {layer.padding!r} is not known (only 'valid')")
        sizes = {"pool_size": tuple(layer.pool_size), "strides": tuple(layer.strides)}
        return Op("max_pool", name, inputs, sizes)
    raise refuse("this layer type has no NumPy implementation")
