"""Each beat against its recording's typical beat: a second image channel for recording models.

A cardiologist reads an ectopic or aberrant beat against the patient's own usual beats, and
what is "usual" differs from one patient to the next far more than within one recording. The
record-context features (``context``) pass a few numbers of that comparison; this module passes
the picture. A recording's template is the sample-wise median of all its beat windows, aligned
on their R peaks (every detected beat, labels unknown, as in serving). The second channel is
``128 + (beat image - template image)``, clipped to uint8: mid-grey where the beat looks like
the patient's usual beat, brighter or darker where it differs.

Pure functions over arrays: ``template_channels_by_record`` gives the channel of beats from one
or many recordings, each against its own recording's template. Training and the benchmarks use
them; serving does not: the one candidate with this channel (``pipeline.TRIED_CANDIDATES``) did
not earn its place, and ``pipeline.metadata_for`` refuses to describe such a model for serving.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# What a model's image holds besides the beat (metadata key "image_context").
IMAGE_CONTEXTS = ("none", "record_template_diff")


def check_image_context(image_context: str) -> str:
    """``image_context`` itself, or ValueError naming the known ones."""
    if image_context not in IMAGE_CONTEXTS:
        raise ValueError(f"unknown image context {image_context!r}; choose one of {IMAGE_CONTEXTS}")
    return image_context


def image_channels(image_context: str) -> int:
    """Channels of a model's image input: the beat, plus its difference from the template."""
    return 1 if check_image_context(image_context) == "none" else 2


def template_window(windows: np.ndarray) -> np.ndarray:
    """The recording's typical beat: the sample-wise median of its beat windows (n, samples)."""
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 2 or len(windows) == 0:
        raise ValueError(f"expected the windows of at least one beat, got shape {windows.shape}")
    return np.median(windows, axis=0).astype(np.float32)


def difference_image(beat_images: np.ndarray, template_image: np.ndarray) -> np.ndarray:
    """``128 + beat - template`` per pixel, clipped to uint8 (mid-grey: like the template)."""
    diff = 128 + beat_images.astype(np.int16) - template_image.astype(np.int16)
    return np.clip(diff, 0, 255).astype(np.uint8)


def template_channels_by_record(
    beat_images: np.ndarray,
    records: np.ndarray,
    template_windows: dict[str, np.ndarray],
    render: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The second channel (n, H, W) of beats from one or many recordings (``records``: each
    beat's recording), each against the template of its own recording (``template_windows``:
    record -> the recording's median window, from ``template_window``); rows keep their order."""
    records = np.asarray(records)
    out = np.empty_like(beat_images)
    for name in np.unique(records):
        rows = np.flatnonzero(records == name)
        template_image = render(template_windows[str(name)][None])[0]
        out[rows] = difference_image(beat_images[rows], template_image)
    return out


def model_images(beat_images: np.ndarray, channel: np.ndarray | None) -> np.ndarray:
    """The model's "image" input (n, H, W, C): the beat images, and the template channel when
    the model has one."""
    if channel is None:
        return beat_images[..., None]
    return np.stack([beat_images, channel], axis=-1)
