"""CSV export of predictions, shared by the history page and the admin action."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from classifier.models import Prediction
from ecg.classes import class_codes

CSV_COLUMNS = (
    "id", "created_at", "original_name", "image_type", "image_type_detected",
    "predicted_class", "predicted_class_name", "confidence", "model_name", "model_version",
    "patient_reference", "note", "state", "shown_label", "source", "scale_source",
    "trace_height_mv",
)  # fmt: skip


def csv_response_name() -> str:
    return f"predictions-{timezone.localtime():%Y%m%d-%H%M}.csv"


def prediction_csv_rows(predictions: Iterable[Prediction]) -> Iterator[list[Any]]:
    """Header, then one row per prediction; one probability column per class (``p_<code>``)."""
    predictions = list(predictions)
    classes = class_codes("six")
    for p in predictions:  # a model with other classes still exports every probability
        classes += [c for c in p.ordered_probabilities() if c not in classes]
    yield [*CSV_COLUMNS, *(f"p_{c}" for c in classes)]
    for p in predictions:
        row = [getattr(p, col) for col in CSV_COLUMNS]
        row[1] = p.created_at.isoformat()
        yield [*(_safe_cell(v) for v in row), *(p.probabilities.get(c, "") for c in classes)]


def _safe_cell(value: Any) -> Any:
    # Spreadsheet apps run cells starting with these as formulas (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
