"""Training a configuration again on more patients with a run's learning-rate schedule replayed
(``ml_refit_cv.py``). Not shipped: the nested grouped CV over DS1 scored the refit lower on
unseen patients (experiments/README.md, "Refit on the validation records"); moved here from
``ecg.training.training`` after commit db9be0f.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ecg.training.dataset import BeatTable
from ecg.training.training import ModelConfig, model_and_data, rr_inputs_for, set_seeds


def refit(
    config: ModelConfig,
    table: BeatTable,
    train_idx: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    learning_rates: list[float],
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train ``config`` afresh on ``train_idx`` for exactly ``len(learning_rates)`` epochs,
    epoch i at ``learning_rates[i]``: a checkpointed run's best schedule replayed on more
    patients (its validation records join the training side, so nothing is left to stop on).
    """
    import keras

    if not learning_rates:
        raise ValueError(f"{config.name}: a refit needs at least one epoch")
    set_seeds(config.seed)
    started = time.perf_counter()
    rr_all = rr_inputs_for(config, table) if config.use_rr else None
    model, data = model_and_data(config, table, train_idx, labels, n_classes, rr_all)

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if progress:
                loss = (logs or {}).get("loss", float("nan"))
                progress(f"  refit epoch {epoch + 1}/{len(learning_rates)}: loss {loss:.4f}")

    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, _: learning_rates[epoch])
    model.fit(data, epochs=len(learning_rates), callbacks=[schedule, Progress()], verbose=0)
    record = {
        "epochs_run": len(learning_rates),
        "learning_rate_per_epoch": [float(r) for r in learning_rates],
        "train_beats": int(len(train_idx)),
        "train_seconds": round(time.perf_counter() - started, 1),
        "parameters": int(model.count_params()),
    }
    return model, record
