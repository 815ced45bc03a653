"""Reading a beat on the recording's second lead too: fusing two leads' class probabilities.

Issue 17. The recording model classifies one lead (MLII by default). Bundle-branch blocks are
read clinically on V1, and most MIT-BIH records (and many uploads) carry V1 as their second lead.
The second lead's beats are the SAME R peaks as the primary lead's, their windows cut from the
second lead, so each beat has two probability rows; ``fuse`` combines them by one of ``RULES``:

- ``primary``: the primary lead's probabilities, unchanged (what the app did before);
- ``mean``: the mean of the two leads' probabilities, every beat;
- ``consult``: the mean only for "bundle-branch" beats, those whose primary-lead top class is
  L or R, or N with L or R as runner-up (``consult_mask``); every other beat keeps its primary
  probabilities, and the second lead need only be classified for these beats;
- ``geometric``: the normalised geometric mean of the two leads, every beat;
- ``bundle_vote``: the primary lead keeps the probabilities of A, V and ! and the total it gives
  L + N + R; the second lead decides how that total is shared between L, N and R.

Fusion applies only when the second lead is one the model was trained on (``fusion_applies``);
otherwise the primary probabilities stand. Which rule, if any, serves is chosen in
``benchmarks/lead_fusion_study.py`` and recorded in the model's metadata (``fusion_setting``).

Pure NumPy: no TensorFlow, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecg.io.records import normalised_lead

PRIMARY = "primary"
MEAN = "mean"
CONSULT = "consult"
GEOMETRIC = "geometric"
BUNDLE_VOTE = "bundle_vote"
# Cheapest first: the study breaks ties towards the earlier rule.
RULES = (PRIMARY, CONSULT, MEAN, GEOMETRIC, BUNDLE_VOTE)
BUNDLE_CLASSES = ("L", "R")  # the bundle-branch blocks read on V1
NORMAL = "N"
_EPS = 1e-12


@dataclass(frozen=True)
class FusionSetting:
    """A model's serving fusion: the rule and the "uncertain below" threshold refitted on the
    fused validation probabilities (None: keep the model's calibrated one)."""

    rule: str
    uncertain_below: float | None = None


def fusion_applies(second_lead: str | None, trained_leads: Sequence[str]) -> bool:
    """True when there is a second lead and the model was trained on it (names compared by
    ``normalised_lead``: "Lead V1" and "v1" are V1)."""
    if not second_lead:
        return False
    return normalised_lead(second_lead) in {normalised_lead(lead) for lead in trained_leads}


def _check(primary: np.ndarray, second: np.ndarray, classes: Sequence[str], rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"unknown fusion rule {rule!r} (rules: {', '.join(RULES)})")
    if primary.ndim != 2 or primary.shape[1] != len(classes):
        raise ValueError(
            f"primary probabilities {primary.shape} do not match {len(classes)} classes"
        )
    if second.shape != primary.shape:
        raise ValueError(f"second-lead probabilities {second.shape} differ from {primary.shape}")


def consult_mask(primary: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Beats whose primary-lead top class is L or R, or N with L or R as runner-up: the beats
    the second lead is consulted on by the ``consult`` rule. A label set without L / R: none."""
    primary = np.asarray(primary)
    classes = list(classes)
    blocks = [classes.index(c) for c in BUNDLE_CLASSES if c in classes]
    if not blocks or primary.ndim != 2 or primary.shape[1] < 2 or len(primary) == 0:
        return np.zeros(len(primary), dtype=bool)
    order = np.argsort(-primary, axis=1, kind="stable")
    top, second = order[:, 0], order[:, 1]
    mask = np.isin(top, blocks)
    if NORMAL in classes:
        mask |= (top == classes.index(NORMAL)) & np.isin(second, blocks)
    return mask


def fuse(primary: np.ndarray, second: np.ndarray, classes: Sequence[str], rule: str) -> np.ndarray:
    """Fused (n, k) probabilities of beats classified on both leads (rows: the same beats)."""
    p1 = np.asarray(primary, dtype=np.float64)
    p2 = np.asarray(second, dtype=np.float64)
    _check(p1, p2, classes, rule)
    if rule == PRIMARY or len(p1) == 0:
        return p1.astype(np.float32)
    if rule == MEAN:
        out = (p1 + p2) / 2
    elif rule == CONSULT:
        out = p1.copy()
        mask = consult_mask(p1, classes)
        out[mask] = (p1[mask] + p2[mask]) / 2
    elif rule == GEOMETRIC:
        out = np.sqrt(np.clip(p1, _EPS, 1.0) * np.clip(p2, _EPS, 1.0))
        out /= out.sum(axis=1, keepdims=True)
    else:  # BUNDLE_VOTE
        group = [list(classes).index(c) for c in (*BUNDLE_CLASSES, NORMAL) if c in classes]
        out = p1.copy()
        if group:
            total = p1[:, group].sum(axis=1, keepdims=True)
            shares = p2[:, group] / np.maximum(p2[:, group].sum(axis=1, keepdims=True), _EPS)
            out[:, group] = total * shares
    return out.astype(np.float32)


def fuse_aligned(
    primary_samples: np.ndarray,
    primary: np.ndarray,
    second_samples: np.ndarray,
    second: np.ndarray,
    classes: Sequence[str],
    rule: str,
) -> np.ndarray:
    """``fuse`` for beats identified by their sample: a primary beat the second lead could not
    classify (say, too close to its end) keeps its primary probabilities."""
    primary = np.asarray(primary, dtype=np.float32)
    out = primary.copy()
    where = {int(s): i for i, s in enumerate(np.asarray(second_samples))}
    rows = np.array([where.get(int(s), -1) for s in np.asarray(primary_samples)], dtype=np.int64)
    have = rows >= 0
    if have.any():
        out[have] = fuse(primary[have], np.asarray(second)[rows[have]], classes, rule)
    return out


def fusion_setting(metadata: Mapping[str, Any]) -> FusionSetting | None:
    """The serving fusion in a model's metadata (``"lead_fusion": {"rule": ..., ...}``), or None
    when it has none or its rule is ``primary``."""
    entry = metadata.get("lead_fusion") or {}
    rule = entry.get("rule")
    if not rule or rule == PRIMARY:
        return None
    if rule not in RULES:
        raise ValueError(f"unknown fusion rule {rule!r} in the model's metadata")
    below = entry.get("uncertain_below")
    return FusionSetting(rule=str(rule), uncertain_below=None if below is None else float(below))
