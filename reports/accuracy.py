"""A model's measured accuracy, read from what the pipeline wrote (no Django).

Looked up, in order, in the bundle metadata's ``metrics_summary`` and in
``<models_dir>/<name>.metrics.json``; the patient-wise ("inter") figure wins over others
because it is the honest one for unseen patients. ``None`` when nothing was measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPLIT_PREFERENCE = ("inter", "test", "intra")


def _find(data: Any) -> tuple[float, str] | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("splits"), dict):  # models/<name>.metrics.json: one entry per split
        found = _find(data["splits"])
        if found:
            return found
    for split in SPLIT_PREFERENCE:
        if split in data:
            found = _find(data[split])
            if found:
                accuracy, basis = found
                return accuracy, basis or str(data[split].get("split_description", split))
    if isinstance(data.get("six_class"), dict):
        found = _find(data["six_class"])
        if found:
            return found[0], found[1] or str(data.get("split_description", ""))
    value = data.get("accuracy")
    if isinstance(value, int | float) and 0.0 <= float(value) <= 1.0:
        return float(value), str(data.get("split_description", ""))
    return None


def measured_accuracy(metadata: dict[str, Any], models_dir: Path) -> tuple[float | None, str]:
    """(accuracy 0..1 or None, what it was measured on)."""
    found = _find(metadata.get("metrics_summary"))
    if found is None:
        path = Path(models_dir) / f"{metadata.get('name', '')}.metrics.json"
        try:
            found = _find(json.loads(path.read_text()))
        except (OSError, ValueError):
            found = None
    return found if found else (None, "")
