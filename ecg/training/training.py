"""Training one model on one split: balanced epochs of freshly augmented, freshly rendered beats.

Each epoch draws every class between ``floor`` and ``cap`` beats (large classes subsampled, rare
ones repeated -- with new augmentation each time), augments the signal windows, renders them
with the model's representation, and weights the remaining imbalance. Validation macro-F1 is
computed on un-augmented validation beats after every epoch; it drives ModelCheckpoint,
EarlyStopping and ReduceLROnPlateau, and the best checkpoint is reloaded at the end.

Long on purpose: the epoch sampler, the callbacks and the checkpoint reload share the run's state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecg.features.beats import POST_S, PRE_S, window_bounds
from ecg.imaging import representations
from ecg.models.architectures import build_baseline, build_cnn, build_ensemble
from ecg.training.artefacts import ArtefactParams, add_artefacts
from ecg.training.augment import AugmentParams, augment_windows, band_limit, random_shifts
from ecg.training.dataset import BeatTable, Split
from ecg.training.metrics import confusion_matrix, macro_f1


@dataclass
class ModelConfig:
    name: str
    representation: str = "beat_image"
    params: dict[str, Any] = field(default_factory=dict)
    use_rr: bool = False
    # what the "rr" input holds when use_rr (context.FEATURE_SETS): the RR features alone, or
    # with each beat described against its own recording ("rr+record_context")
    rhythm_features: str = "rr"
    architecture: str = "cnn"  # "cnn" (ours) or "baseline" (the original project's CNN)
    pre_s: float = PRE_S
    post_s: float = POST_S
    augment: bool = True
    gain: tuple[float, float] = (0.85, 1.2)  # amplitude augmentation range
    filters: tuple[int, ...] = (8, 16, 32, 64)
    dense: int = 64
    noise_mv: float = 0.02  # white-noise augmentation; 0 for spectra (see pipeline.CANDIDATES)
    balanced_weights: bool = True
    max_epochs: int = 14
    patience: int = 4
    batch_size: int = 128
    learning_rate: float = 1e-3
    cap: int | None = 3000  # most beats of one class per epoch (None: every beat of the class)
    floor: int = 1000  # fewest beats of one class per epoch (rare classes repeated)
    seed: int = 0
    # Share of each epoch's beats sent through ``augment.band_limit`` (down to
    # ``band_limit_fs`` and back): MIT-BIH beats made to look like PTB-XL's 100 Hz ones.
    band_limit_share: float = 0.0
    band_limit_fs: float = 100.0
    # Share of each epoch's beats given a recording artefact (``artefacts.add_artefacts``:
    # drift, muscle or electrode motion) at an SNR drawn from ``artefact_snr_db``, after the
    # ``augment`` step (none without it); 0: none.
    artefact_share: float = 0.0
    artefact_snr_db: tuple[float, float] = (6.0, 30.0)
    # Several seeds of this configuration averaged into one model (empty: one model, ``seed``).
    ensemble_seeds: tuple[int, ...] = ()
    # Images per beat stacked as channels: 1, or 2 for a two-lead table (``two_lead``), whose
    # ``channels()`` gives the leads of each beat.
    channels: int = 1

    @property
    def image_params(self) -> dict[str, Any]:
        _, defaults = representations.REPRESENTATIONS[self.representation]
        return {**defaults, **self.params}

    @property
    def image_size(self) -> int:
        return int(self.image_params["size"])


def rr_inputs_for(config: ModelConfig, table: BeatTable) -> np.ndarray:
    """The "rr" input of every beat of the table, from clean (un-augmented) windows: the record
    context describes a recording, which augmentation of single beats does not change."""
    return table.rhythm_inputs(config.pre_s, config.post_s, config.rhythm_features)


def inputs_for(
    config: ModelConfig,
    table: BeatTable,
    windows: np.ndarray | list[np.ndarray],
    index: np.ndarray,
    rr_all: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``windows``: one lead's (n, samples), or a list of them, one per channel."""
    channels = windows if isinstance(windows, list) else [windows]
    images = np.stack(
        [
            representations.render(config.representation, w, table.fs, config.image_params)
            for w in channels
        ],
        axis=-1,
    )
    inputs = {"image": images}
    if config.use_rr:
        rr_all = rr_inputs_for(config, table) if rr_all is None else rr_all
        inputs["rr"] = rr_all[index]
    return inputs


def clean_inputs(
    config: ModelConfig, table: BeatTable, index: np.ndarray, rr_all: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Model inputs for beats as served: no augmentation, no shift."""
    channels = table.subset(index).channels()
    windows = [c.crop(config.pre_s, config.post_s) for c in channels]
    return inputs_for(config, table, windows if len(windows) > 1 else windows[0], index, rr_all)


def _balanced_epoch(
    labels: np.ndarray,
    index: np.ndarray,
    rng: np.random.Generator,
    cap: int | None,
    floor: int,
) -> tuple[np.ndarray, dict[int, float]]:
    """One epoch's beats: every class drawn ``floor``-``cap`` times, and the class weights that
    even out what is left."""
    chosen, counts = [], {}
    for c in np.unique(labels):
        members = index[labels == c]
        if cap is None:
            n = max(len(members), floor)
        else:
            n = int(np.clip(len(members), min(floor, cap), cap))
        chosen.append(rng.choice(members, size=n, replace=n > len(members)))
        counts[int(c)] = n
    mean = np.mean(list(counts.values()))
    weights = {c: float(mean / n) for c, n in counts.items()}
    return rng.permutation(np.concatenate(chosen)), weights


class _EpochData:
    """Builds a keras PyDataset lazily (keras is imported only when training)."""

    @staticmethod
    def make(
        config: ModelConfig,
        table: BeatTable,
        train_idx: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        rr_all: np.ndarray | None = None,
    ) -> Any:
        import keras

        class EpochData(keras.utils.PyDataset):
            def __init__(self) -> None:
                super().__init__()
                self.rng = np.random.default_rng(config.seed)
                self.aug = AugmentParams(gain=tuple(config.gain), noise_mv=config.noise_mv)
                self.artefact = ArtefactParams(config.artefact_share, tuple(config.artefact_snr_db))
                self.r_index = window_bounds(table.fs, config.pre_s, 0.0)[0]
                self._draw()

            def _draw(self) -> None:
                index, weights = _balanced_epoch(
                    labels[train_idx], train_idx, self.rng, config.cap, config.floor
                )
                # each lead of a beat (one for a one-lead table) gets the same band limit and
                # time shift -- the leads of a recording share its sampling and its R peak --
                # and its own gain, drift and noise
                channels = table.subset(index).channels()
                if config.band_limit_share > 0:
                    picked = self.rng.random(len(index)) < config.band_limit_share
                    for sub in channels:
                        sub.windows[picked] = band_limit(
                            sub.windows[picked], table.fs, config.band_limit_fs
                        )
                if config.augment:
                    shift = random_shifts(len(index), table.fs, self.rng, self.aug)
                    windows = [
                        augment_windows(
                            sub.crop(config.pre_s, config.post_s, shift),
                            table.fs,
                            self.rng,
                            self.aug,
                        )
                        for sub in channels
                    ]
                    if config.artefact_share > 0:
                        windows = [
                            add_artefacts(w, table.fs, self.r_index, self.rng, self.artefact)
                            for w in windows
                        ]
                else:
                    windows = [sub.crop(config.pre_s, config.post_s) for sub in channels]
                self.inputs = inputs_for(
                    config, table, windows if len(windows) > 1 else windows[0], index, rr_all
                )
                y = labels[index]
                self.y = np.eye(n_classes, dtype=np.float32)[y]
                if config.balanced_weights:
                    self.w = np.array([weights[int(c)] for c in y], dtype=np.float32)
                else:
                    self.w = np.ones(len(y), dtype=np.float32)

            def __len__(self) -> int:
                return int(np.ceil(len(self.y) / config.batch_size))

            def __getitem__(self, i: int):
                s = slice(i * config.batch_size, (i + 1) * config.batch_size)
                return {k: v[s] for k, v in self.inputs.items()}, self.y[s], self.w[s]

            def on_epoch_end(self) -> None:
                self._draw()

        return EpochData()


def _macro_f1_callback(
    model_inputs: dict[str, np.ndarray],
    y_val: np.ndarray,
    n_classes: int,
    progress: Callable[[str], None] | None,
) -> Any:
    import keras

    class ValidationMacroF1(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            probs = self.model.predict(model_inputs, batch_size=1024, verbose=0)
            cm = confusion_matrix(y_val, probs.argmax(axis=1), n_classes)
            score = macro_f1(cm)
            if logs is not None:
                logs["val_macro_f1"] = score
            if progress:
                loss = (logs or {}).get("loss", float("nan"))
                progress(f"  epoch {epoch + 1}: loss {loss:.4f}, validation macro-F1 {score:.4f}")

    return ValidationMacroF1()


def set_seeds(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def build_for(
    config: ModelConfig,
    table: BeatTable,
    train_idx: np.ndarray,
    n_classes: int,
    rr_all: np.ndarray | None = None,
) -> Any:
    if config.architecture == "baseline":
        return build_baseline(config.image_size, n_classes)
    if config.use_rr and rr_all is None:
        rr_all = rr_inputs_for(config, table)
    rr_train = rr_all[train_idx] if config.use_rr else None
    return build_cnn(
        config.image_size,
        n_classes,
        rr_train=rr_train,
        filters=tuple(config.filters),
        dense=config.dense,
        channels=config.channels,
    )


def train(
    config: ModelConfig,
    table: BeatTable,
    split: Split,
    labels: np.ndarray,
    n_classes: int,
    *,
    work_dir: str | Path,
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train ``config`` on ``split.train``; returns the best-validation model and a record."""
    import keras

    if config.ensemble_seeds:
        raise ValueError(
            f"{config.name}: an ensemble trains one member per seed (pipeline.train_all)"
        )
    set_seeds(config.seed)
    started = time.perf_counter()
    rr_all = rr_inputs_for(config, table) if config.use_rr else None
    model, data = model_and_data(config, table, split.train, labels, n_classes, rr_all)
    val_inputs = clean_inputs(config, table, split.val, rr_all)
    checkpoint = Path(work_dir) / f"{config.name}-{split.name}.best.keras"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    callbacks = [
        _macro_f1_callback(val_inputs, labels[split.val], n_classes, progress),
        keras.callbacks.ModelCheckpoint(
            checkpoint, monitor="val_macro_f1", mode="max", save_best_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_macro_f1", mode="max", patience=config.patience),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_macro_f1", mode="max", factor=0.5, patience=2, min_lr=1e-5
        ),
    ]
    history = model.fit(data, epochs=config.max_epochs, callbacks=callbacks, verbose=0)
    best = keras.saving.load_model(checkpoint, compile=False)  # reload the best epoch
    scores = [float(s) for s in history.history.get("val_macro_f1", [])]
    record = {
        "config": asdict(config),
        "split": split.name,
        "split_description": split.description,
        "train_beats": int(len(split.train)),
        "validation_beats": int(len(split.val)),
        "epochs_run": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1 if scores else None,
        "best_validation_macro_f1": max(scores) if scores else None,
        "validation_macro_f1_per_epoch": scores,
        # the rate each epoch ran at (ReduceLROnPlateau): what experiments/refit.py replays
        "learning_rate_per_epoch": [float(r) for r in history.history.get("learning_rate", [])],
        "train_seconds": round(time.perf_counter() - started, 1),
        "parameters": int(best.count_params()),
    }
    return best, record


def model_and_data(
    config: ModelConfig,
    table: BeatTable,
    train_idx: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    rr_all: np.ndarray | None,
) -> tuple[Any, Any]:
    """A compiled, freshly initialised model and its epoch generator over ``train_idx``."""
    import keras

    model = build_for(config, table, train_idx, n_classes, rr_all)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    return model, _EpochData.make(config, table, train_idx, labels, n_classes, rr_all)


def assemble_ensemble(
    config: ModelConfig,
    members: list[Any],
    member_records: list[dict[str, Any]],
    table: BeatTable,
    split: Split,
    labels: np.ndarray,
    n_classes: int,
) -> tuple[Any, dict[str, Any]]:
    """Average trained members (one per seed of ``config.ensemble_seeds``) into one model and
    score it on the validation beats: the ensemble's own validation macro-F1 is what model
    choice and ``evaluate_model``'s re-check see."""
    model = build_ensemble(members, name=f"{config.name}_ensemble")
    val_inputs = clean_inputs(config, table, split.val)
    probs = model.predict(val_inputs, batch_size=1024, verbose=0)
    score = macro_f1(confusion_matrix(labels[split.val], probs.argmax(axis=1), n_classes))
    places = sorted({r["trained_on"] for r in member_records if r.get("trained_on")})
    record = {
        "config": asdict(config),
        "split": split.name,
        "split_description": split.description,
        "train_beats": int(len(split.train)),
        "validation_beats": int(len(split.val)),
        "epochs_run": sum(r["epochs_run"] for r in member_records),
        "best_epoch": [r["best_epoch"] for r in member_records],
        "best_validation_macro_f1": score,
        "ensemble": {
            "seeds": list(config.ensemble_seeds),
            "member_validation_macro_f1": [r["best_validation_macro_f1"] for r in member_records],
            "members": member_records,
        },
        "train_seconds": round(sum(r["train_seconds"] for r in member_records), 1),
        "parameters": int(model.count_params()),
    }
    if places:
        record["trained_on"] = "; ".join(places)
    return model, record


def train_on_images(
    config: ModelConfig,
    images: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    work_dir: str | Path,
    val_share: float = 0.1,
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train an image-only model on ready images (the class-folder source): no signal, so no
    signal augmentation; balanced class weights; the same callbacks and best-checkpoint reload.
    """
    import keras

    set_seeds(config.seed)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(labels))
    n_val = max(1, int(round(len(order) * val_share)))
    val, tr = order[:n_val], order[n_val:]
    counts = np.bincount(labels[tr], minlength=n_classes)
    weights = {
        c: float(len(tr) / (n_classes * counts[c])) if counts[c] else 0.0 for c in range(n_classes)
    }
    model = (
        build_baseline(config.image_size, n_classes)
        if config.architecture == "baseline"
        else build_cnn(config.image_size, n_classes)
    )
    model.compile(keras.optimizers.Adam(config.learning_rate), "categorical_crossentropy")
    checkpoint = Path(work_dir) / f"{config.name}-images.best.keras"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    y = np.eye(n_classes, dtype=np.float32)
    started = time.perf_counter()
    history = model.fit(
        {"image": images[tr][..., None]},
        y[labels[tr]],
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        class_weight=weights,
        verbose=0,
        callbacks=[
            _macro_f1_callback({"image": images[val][..., None]}, labels[val], n_classes, progress),
            keras.callbacks.ModelCheckpoint(
                checkpoint, monitor="val_macro_f1", mode="max", save_best_only=True
            ),
            keras.callbacks.EarlyStopping(
                monitor="val_macro_f1", mode="max", patience=config.patience
            ),
        ],
    )
    best = keras.saving.load_model(checkpoint, compile=False)
    scores = [float(s) for s in history.history.get("val_macro_f1", [])]
    return best, {
        "config": asdict(config),
        "split": "image-folder (random 10% validation)",
        "train_beats": int(len(tr)),
        "validation_beats": int(len(val)),
        "epochs_run": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1 if scores else None,
        "best_validation_macro_f1": max(scores) if scores else None,
        "train_seconds": round(time.perf_counter() - started, 1),
        "parameters": int(best.count_params()),
    }
