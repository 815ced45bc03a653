"""Reads the shipped models' metadata and measured metrics for the About page (no TensorFlow).

Figures come only from the files the pipeline writes (``models/<name>.json`` and
``models/<name>.metrics.json``, whose ``splits.<split>.six_class`` blocks hold accuracy,
macro-F1, calibration error and per-class figures); when none exist the page says "not yet
measured". Unknown layouts degrade to the plain numbers found in a summary block.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings

from ecg.classes import class_display_name
from ecg.models.bundle import channel_count, channel_leads, read_metadata, trained_leads
from ecg.models.registry import ModelRegistry
from ecgsite.model_registry import preferred_models

logger = logging.getLogger(__name__)

SPLIT_LABELS = {
    "inter": "New patients (inter-patient test, records never seen in training)",
    "intra": "Random beats (intra-patient test, same people as training)",
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _scalars(data: Any, prefix: str = "", depth: int = 0) -> dict[str, float | int | str]:
    """Flatten the numeric (and short text) leaves of a summary dict into dotted keys."""
    out: dict[str, float | int | str] = {}
    if not isinstance(data, dict) or depth > 2:
        return out
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float | str) and len(str(value)) <= 80:
            out[name] = value
        elif isinstance(value, dict):
            out.update(_scalars(value, f"{name}.", depth + 1))
    return out


def _interval(value: Any) -> tuple[float, float] | None:
    """A [low, high] pair of numbers from a metrics file's bootstrap block, else None."""
    if isinstance(value, list) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None:
            return (low, high)
    return None


def _split_rows(metrics: dict[str, Any], classes: list[str]) -> list[dict[str, Any]]:
    rows = []
    splits = metrics.get("splits") if isinstance(metrics.get("splits"), dict) else {}
    for name, split in splits.items():
        six = split.get("six_class") if isinstance(split, dict) else None
        if not isinstance(six, dict):
            continue
        per_class = six.get("per_class") if isinstance(six.get("per_class"), dict) else {}
        aami = split.get("aami") if isinstance(split.get("aami"), dict) else {}
        # 95% intervals over resampled test records, where the evaluation wrote them
        bootstrap = six.get("bootstrap") if isinstance(six.get("bootstrap"), dict) else {}
        class_intervals = bootstrap.get("per_class")
        class_intervals = class_intervals if isinstance(class_intervals, dict) else {}
        rows.append(
            {
                "split": name,
                "label": SPLIT_LABELS.get(name, split.get("split_description") or name),
                "n_beats": six.get("n_beats"),
                "accuracy": _number(six.get("accuracy")),
                "macro_f1": _number(six.get("macro_f1")),
                "macro_f1_interval": _interval(bootstrap.get("macro_f1")),
                "ece": _number(six.get("ece")),
                "aami_accuracy": _number(aami.get("accuracy")),
                "per_class": [
                    {
                        "code": code,
                        "name": class_display_name(code),
                        "support": values.get("support"),
                        "sensitivity": _number(values.get("sensitivity")),
                        "sensitivity_interval": _interval(
                            (class_intervals.get(code) or {}).get("sensitivity")
                        ),
                        "precision": _number(values.get("precision")),
                        "f1": _number(values.get("f1")),
                    }
                    for code, values in sorted(
                        per_class.items(), key=lambda kv: _order(kv[0], classes)
                    )
                    if isinstance(values, dict)
                ],
            }
        )
    return rows


def _order(code: str, classes: list[str]) -> tuple[int, str]:
    """Per-class rows in the model's class order (the metrics file may sort them by name)."""
    return (classes.index(code) if code in classes else len(classes), code)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("unreadable metrics file %s", path)
        return {}
    return data if isinstance(data, dict) else {}


def _seed_spread(models_dir: Path, name: str) -> dict[str, Any] | None:
    """New-patient macro-F1 over retrainings with other seeds (``models/<name>.seeds.json``),
    or None when there is none, or it was measured on another version of the model."""
    from ecg.training.pipeline import seed_spread
    from ecg.training.report import macro_f1_range

    try:
        spread = seed_spread(models_dir, name)
        summary = macro_f1_range(spread["seeds"]) if spread and spread["seeds"] else None
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("unreadable seed-spread file for %s", name)
        return None
    if summary is None or spread["stale"]:
        return None
    return {"file": Path(spread["path"]).name, **summary}


def _current_sidecar(read, models_dir: Path, name: str, what: str, key: str) -> dict | None:
    """A figures file beside the model (``read(models_dir, name)``, e.g. ``external_figures``)
    when it is readable, measured on this model file and holds ``key``; else None."""
    try:
        found = read(models_dir, name)
    except (OSError, ValueError):
        logger.warning("unreadable %s file for %s", what, name)
        return None
    if not found or found.get("stale") or not isinstance(found.get(key), dict):
        return None
    return found


def _external_rows(models_dir: Path, name: str) -> dict[str, Any] | None:
    """The recording model's figures on the other test sets (PTB-XL fold 10, LUDB, DS2 per
    class: ``models/<name>.external.json``), labelled as in REPORT.md; None when there is no
    such file or it was measured on another version of the model file."""
    from ecg.training.pipeline import external_figures
    from ecg.training.report import EXTERNAL_ROWS

    external = _current_sidecar(external_figures, models_dir, name, "external-figures", "ensemble")
    if external is None:
        return None
    rows = []
    for label, key, _op, _bound, as_share in EXTERNAL_ROWS:
        value = _number(external["ensemble"].get(key))
        if value is not None:
            rows.append({"label": label, "value": value, "as_share": as_share})
    return {"file": Path(external["path"]).name, "rows": rows} if rows else None


def _conduction_rows(models_dir: Path, name: str) -> dict[str, Any] | None:
    """The recording's conduction finding as served on PTB-XL fold 10 (record F1 per class:
    ``models/<name>.conduction.json``), labelled as in REPORT.md; None without a current file."""
    from ecg.training.pipeline import conduction_figures

    found = _current_sidecar(conduction_figures, models_dir, name, "conduction-figures", "figures")
    if found is None:
        return None
    rows = []
    for variant, figures in sorted(found["figures"].items()):
        for code, statement in (("L", "CLBBB"), ("R", "CRBBB"), ("N", "NORM")):
            value = _number((figures.get(code) or {}).get("F1"))
            if value is not None:
                rows.append({"label": f"{variant}: record F1 {statement}", "value": value})
    return {"file": Path(found["path"]).name, "rows": rows} if rows else None


def _roles(registry: ModelRegistry) -> dict[Path, str]:
    """What the app uses each served model file for (the registry's choice), in words; a file
    not in it is kept for comparison only."""
    roles = {}
    recording = registry.recording_model_path()
    if recording is not None:
        roles[recording] = "Answers every recording and strip image"
    for kind, path in registry.image_model_paths().items():
        roles[path] = "Answers beat images" if kind == "beat_image" else "Answers spectral images"
    return roles


def _unused_role(meta: dict[str, Any], path: Path) -> str:
    """A model the registry does not serve; a recording model can be chosen in the settings."""
    if meta.get("task") == "recording":
        return (
            "Not used by the app unless chosen in the settings "
            f"(RECORDING_MODEL={path.stem}); kept for comparison"
        )
    return "Not used by the app: kept for comparison"


def _leads_in_words(meta: dict[str, Any]) -> list[str]:
    """The leads a model reads; a two-channel model's per channel, read together."""
    if channel_count(meta) == 1:
        return trained_leads(meta)
    together = " with ".join(" or ".join(leads) for leads in channel_leads(meta))
    return [f"{together}, read together as one input"]


def _training_data(meta: dict[str, Any]) -> str | None:
    """The training data in words, as the training code wrote it into the metadata."""
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    text = (
        training.get("validation_set") or training.get("data") or training.get("split_description")
    )
    return str(text) if text else None


def _uncertain_below(meta: dict[str, Any]) -> dict[str, Any] | None:
    calibration = meta.get("calibration") if isinstance(meta.get("calibration"), dict) else {}
    threshold = _number(calibration.get("uncertain_below"))
    if threshold is None:
        return None
    return {"threshold": threshold, "fitted_on": calibration.get("fitted_on")}


def models_registry(models_dir: Path | None = None) -> ModelRegistry:
    """A registry of the models folder for its metadata only: not the app's (pages sits below
    classifier); one per page, handed to the selectors below."""
    return ModelRegistry(Path(models_dir or settings.MODELS_DIR), preferred=preferred_models())


def recording_lead_reading(*, registry: ModelRegistry) -> str | None:
    """How the recording model the app serves reads a recording's leads, so the About page says
    only what is done: "fused" (each beat read on a second lead too and the two combined by the
    metadata's lead-fusion rule), "two_channel" (two leads as one input), "one_lead", or None
    when no recording model is installed."""
    from ecg.features.lead_fusion import fusion_setting

    path = registry.recording_model_path()
    if path is None:
        return None
    meta = read_metadata(path)  # readable: the registry found it among the usable models
    if channel_count(meta) == 2:
        return "two_channel"
    try:
        return "fused" if fusion_setting(meta) is not None else "one_lead"
    except ValueError:  # an unknown rule: the analysis refuses it too, say the plain reading
        return "one_lead"


def model_summaries(
    models_dir: Path | None = None, *, registry: ModelRegistry | None = None
) -> list[dict[str, Any]]:
    """One entry per ``models/*.keras``: name, version, task, representation and metrics."""
    registry = registry or models_registry(models_dir)
    models_dir = registry.models_dir
    roles = _roles(registry)
    summaries = []
    for entry in registry.usable():
        path, meta = entry.path, entry.metadata
        metrics_path = path.with_name(f"{path.stem}.metrics.json")
        metrics = _read_json(metrics_path)
        rows = _split_rows(metrics, list(meta["classes"]))
        summary = metrics.get("summary") or meta.get("metrics_summary") or {}
        other = {} if rows else _scalars(summary)
        summaries.append(
            {
                "name": meta["name"],
                "version": meta["version"],
                "task": meta["task"],
                "kind": meta["representation"].get("kind"),
                "classes": meta["classes"],
                "label_set": meta["label_set"],
                "splits": rows,
                "other_metrics": other,
                "measured": bool(rows or other),
                "metrics_file": metrics_path.name if metrics_path.is_file() else None,
                "seed_spread": _seed_spread(models_dir, path.stem) if rows else None,
                "role": roles.get(path, _unused_role(meta, path)),
                "training_data": _training_data(meta),
                "leads": _leads_in_words(meta),
                "uncertain_below": _uncertain_below(meta),
                "external": _external_rows(models_dir, path.stem),
                "conduction": _conduction_rows(models_dir, path.stem),
            }
        )
    return summaries
