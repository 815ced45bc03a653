"""Scoring a model bundle on a split through the serving path, and measuring its speed.

Images are rendered by ``ModelBundle.render`` and scored by ``ModelBundle.predict_proba`` -- the
functions the web app calls -- from beat windows cut by the same ``prepare_signal`` /
``extract_windows`` / ``rr_features`` path as ``ModelBundle.classify_beats``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ecg.classes import DS2_RECORDS, class_codes, symbol_to_index
from ecg.models.bundle import ModelBundle
from ecg.training.aami import aami_metrics
from ecg.training.dataset import BeatTable, Split
from ecg.training.metrics import classification_metrics


def bundle_rr_inputs(bundle: ModelBundle, table: BeatTable) -> np.ndarray | None:
    """The bundle's "rr" input for every beat of the table (each record described against
    itself, as ``ModelBundle.beat_inputs`` does for one recording); None if it has none."""
    if "rr" not in bundle.metadata["inputs"]:
        return None
    window = bundle.metadata["window"]
    return table.rhythm_inputs(window["pre_s"], window["post_s"], bundle.rhythm_features)


def bundle_probabilities(
    bundle: ModelBundle, table: BeatTable, index: np.ndarray, rr_all: np.ndarray | None = None
) -> np.ndarray:
    """Probabilities of the table's beats ``index``; ``rr_all``: the bundle's "rr" input for the
    whole table when the caller has it already (the record context needs whole records)."""
    window = bundle.metadata["window"]
    if rr_all is None:
        rr_all = bundle_rr_inputs(bundle, table)
    probs = []
    for start in range(0, len(index), 4096):  # bounded memory for the images
        part = index[start : start + 4096]
        windows = table.subset(part).crop(window["pre_s"], window["post_s"])
        rr = rr_all[part] if rr_all is not None else None
        probs.append(bundle.predict_proba(bundle.render(windows), rr))
    return np.concatenate(probs) if probs else np.zeros((0, len(bundle.classes)))


def evaluate_on_split(
    bundle: ModelBundle,
    table: BeatTable,
    split: Split,
    rr_all: np.ndarray | None = None,
    *,
    probabilities: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Six-class metrics on the split's test beats; on the inter-patient split also AAMI EC57
    figures over every annotated beat of the DS2 records (including those outside six classes).
    ``rr_all``: the bundle's "rr" input for the whole table, if the caller has it already;
    ``probabilities``: scores table rows where the table's windows are not the model's inputs
    (a two-channel model: ``two_lead_eval.TwoLeadScorer``); default ``bundle_probabilities``.
    """
    labels = table.labels(bundle.metadata["label_set"])
    if probabilities is None:
        if rr_all is None:
            rr_all = bundle_rr_inputs(bundle, table)
        probabilities = partial(bundle_probabilities, bundle, table, rr_all=rr_all)
    if split.name == "inter":
        # The AAMI beats are every annotated DS2 beat, a superset of the six-class test beats:
        # each beat is classified once and the test beats are read from the same probabilities.
        aami_index = symbol_to_index("aami")
        in_ds2 = np.flatnonzero(np.isin(table.records, list(DS2_RECORDS)))
        true_aami = np.array([aami_index.get(str(s), -1) for s in table.symbols[in_ds2]])
        keep = in_ds2[true_aami >= 0]
        probs_all = probabilities(keep)
        at = np.searchsorted(keep, split.test)
        if not np.array_equal(keep[np.minimum(at, len(keep) - 1)], split.test):
            raise ValueError("the inter-patient test beats are not all annotated DS2 beats")
        probs = probs_all[at]
    else:
        probs = probabilities(split.test)
    # with each beat's record: how far the figures would move with other test patients
    records = table.records[split.test]
    result = {
        "split": split.name,
        "split_description": split.description,
        "six_class": classification_metrics(labels[split.test], probs, bundle.classes, records),
    }
    if split.name == "inter":
        result["aami"] = aami_metrics(
            true_aami[true_aami >= 0],
            probs_all.argmax(axis=1),
            bundle.classes,
            class_codes("aami"),
            table.records[keep],
        )
    return result


def measure_speed(
    bundle: ModelBundle, signal: np.ndarray, fs: float, peaks: np.ndarray, repeats: int = 3
) -> dict[str, Any]:
    """Beats/s of ``classify_beats`` on a whole recording (signal preparation and image
    rendering included) and the latency of one already-rendered image."""
    bundle.classify_beats(signal, fs, peaks[:50])  # warm-up: graph tracing, thread pools
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        kept, images, _ = bundle.classify_beats(signal, fs, peaks)
        best = min(best, time.perf_counter() - start)
    one = images[:1]
    rr = np.ones((1, bundle.rr_width), dtype=np.float32) if bundle.rr_width else None
    latencies = []
    for _ in range(30):
        start = time.perf_counter()
        bundle.predict_proba(one, rr)
        latencies.append(time.perf_counter() - start)
    return {
        "batch_beats": int(len(kept)),
        "batch_beats_per_s": round(len(kept) / best, 1),
        "single_image_ms_median": round(1000 * float(np.median(latencies[5:])), 2),
    }
