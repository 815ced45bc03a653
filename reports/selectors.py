"""Reads of the reports app."""

from __future__ import annotations

from typing import Any

from ecg.models.bundle import BundleError, channel_count, read_metadata
from ecgsite.model_registry import get_model_registry


def model_metadata(*, name: str, version: str) -> dict[str, Any] | None:
    """Metadata of the installed model with this name and version, or None."""
    return get_model_registry().metadata_for(name=name, version=version)


def heatmap_unavailable_reason(*, prediction) -> str | None:
    """Why no heat map can be made for ``prediction`` (None when it can), without loading
    TensorFlow: the page decides from this whether to show the heat map at all."""
    if prediction.source == "digitised":
        # The model saw the beat redrawn from the digitised trace, not these pixels.
        return "the image was digitised and redrawn; a heat map over it would mislead."
    path = get_model_registry().image_model_paths().get(prediction.image_type)
    if path is None:
        return f"no {prediction.get_image_type_display().lower()} model is installed."
    try:
        metadata = read_metadata(path)
    except BundleError:
        return "the model cannot be read."
    if (metadata["name"], str(metadata["version"])) != (
        prediction.model_name,
        prediction.model_version,
    ):
        return (
            f"the model that made this prediction ({prediction.model_name} "
            f"v{prediction.model_version}) is no longer installed."
        )
    if "rr" in metadata["inputs"]:
        return "this model also needs the rhythm around the beat."
    return None


def recording_heatmap_unavailable_reason(*, recording) -> str | None:
    """Why beats of ``recording`` cannot be explained (None when they can), without loading
    TensorFlow."""
    if recording.status != recording.Status.DONE:
        return "the analysis is not finished."
    path = get_model_registry().recording_model_path()
    if path is None:
        return "no recording model is installed."
    try:
        metadata = read_metadata(path)
    except BundleError:
        return "the model cannot be read."
    if (metadata["name"], str(metadata["version"])) != (
        recording.model_name,
        recording.model_version,
    ):
        return (
            f"the model that analysed this recording ({recording.model_name} "
            f"v{recording.model_version}) is no longer installed."
        )
    if channel_count(metadata) > 1:
        # Issue 17: its beat image has a second lead's channel, which the heat-map path (one
        # lead's image and overlay) does not draw yet.
        return "heat maps are not available for the two-lead model yet."
    return None
