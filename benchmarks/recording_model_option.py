"""The ``--model`` option of the recording benchmarks (issues 17, 18, 20): which recording model
a benchmark runs, and where its results go.

Without ``--model`` a benchmark keeps what it always did: the registry's first recording model by
file name (``recording_mixed``, the served one) and its usual results file. A named model (e.g.
``recording_two_lead``) is looked up by name and must be installed -- the registry would
otherwise fall back on the first one found and the figures would silently be another model's --
and its results go to a file named after it (``noise_stress.json`` ->
``noise_stress_two_lead.json``), so the served model's results are never overwritten.
"""

from __future__ import annotations

from pathlib import Path

from ecg.models.registry import ModelRegistry

PREFIX = "recording_"  # dropped from a model's name in its results file name


def recording_registry(models_dir: str | Path, model: str | None = None) -> ModelRegistry:
    """A registry whose recording model is ``model`` (None: the default pick, as before).
    ``SystemExit`` naming the installed recording models when ``model`` is not one of them."""
    if model is None:
        return ModelRegistry(models_dir)
    registry = ModelRegistry(models_dir, preferred={"recording": model})
    installed = [e for e in registry.usable() if e.task == "recording"]
    if not any(model in (e.metadata["name"], e.path.stem) for e in installed):
        names = ", ".join(e.path.stem for e in installed) or "none"
        raise SystemExit(f"no recording model {model!r} in {models_dir} (installed: {names})")
    return registry


def results_path(default: str | Path, model: str | None) -> Path:
    """``default`` when no model was named, else ``default`` with the model's short name added
    before the extension (``recording_two_lead``: ``<stem>_two_lead.json``)."""
    default = Path(default)
    if model is None:
        return default
    short = model.removeprefix(PREFIX)
    return default.with_name(f"{default.stem}_{short}{default.suffix}")
