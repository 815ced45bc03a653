"""Reads the shipped models' metadata and measured metrics for the About page (no TensorFlow).

Figures come only from the files the pipeline writes (``models/<name>.json`` and
``models/<name>.metrics.json``); when none exist the page says "not yet measured".
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings

from classifier.ml.bundle import BundleError, read_metadata

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("metrics_summary", "summary")


def _scalars(data: Any, prefix: str = "", depth: int = 0) -> dict[str, float | int | str]:
    """Flatten the numeric (and short text) leaves of a summary dict into dotted keys."""
    out: dict[str, float | int | str] = {}
    if not isinstance(data, dict) or depth > 2:
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = value
        elif isinstance(value, str) and len(value) <= 80:
            out[name] = value
        elif isinstance(value, dict):
            out.update(_scalars(value, f"{name}.", depth + 1))
    return out


def _metrics_file_summary(path: Path) -> dict[str, float | int | str]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("unreadable metrics file %s", path)
        return {}
    for key in SUMMARY_KEYS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            return _scalars(data[key])
    return {k: v for k, v in _scalars(data).items() if "." not in k}


def model_summaries(models_dir: Path | None = None) -> list[dict[str, Any]]:
    """One entry per ``models/*.keras``: name, version, task, representation and metrics."""
    models_dir = Path(models_dir or settings.MODELS_DIR)
    summaries = []
    for path in sorted(models_dir.glob("*.keras")):
        try:
            meta = read_metadata(path)
        except BundleError as exc:
            logger.warning("skipping model: %s", exc)
            continue
        metrics_path = path.with_name(f"{path.stem}.metrics.json")
        metrics = _scalars(meta.get("metrics_summary") or {})
        metrics.update(_metrics_file_summary(metrics_path))
        summaries.append(
            {
                "name": meta["name"],
                "version": meta["version"],
                "task": meta["task"],
                "kind": meta["representation"].get("kind"),
                "classes": meta["classes"],
                "label_set": meta["label_set"],
                "training": meta.get("training") if isinstance(meta.get("training"), dict) else {},
                "metrics": metrics,
                "metrics_file": metrics_path.name if metrics_path.is_file() else None,
            }
        )
    return summaries
