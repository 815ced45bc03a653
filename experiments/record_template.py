"""Each beat against its recording's typical beat (``ml_template_probe.py``).

A cardiologist reads an ectopic or aberrant beat against the patient's own usual beats, and
what is "usual" differs from one patient to the next far more than within one recording. A
recording's template is the sample-wise median of all its beat windows, aligned on their R
peaks (every detected beat, labels unknown, as in serving). The probe's "diff" channel is
``128 + (beat image - template image)``, clipped to uint8: mid-grey where the beat looks like
the patient's usual beat, brighter or darker where it differs.

Not shipped (experiments/README.md, "Record template channel"): the pipeline's training of a
two-channel model (``recording_spec_ctx_diff``) was removed from the library after commit
db9be0f; this module keeps what the probe needs.
"""

from __future__ import annotations

import numpy as np

from ecg.training.dataset import BeatTable


def template_window(windows: np.ndarray) -> np.ndarray:
    """The recording's typical beat: the sample-wise median of its beat windows (n, samples)."""
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 2 or len(windows) == 0:
        raise ValueError(f"expected the windows of at least one beat, got shape {windows.shape}")
    return np.median(windows, axis=0).astype(np.float32)


def record_templates(table: BeatTable, pre_s: float, post_s: float) -> dict[str, np.ndarray]:
    """Each record's template (``template_window``) of its clean model windows (``pre_s`` /
    ``post_s`` around the R peak), every beat of the record in the table."""
    windows = table.crop(pre_s, post_s)
    return {
        str(name): template_window(windows[table.records == name])
        for name in np.unique(table.records)
    }


def difference_image(beat_images: np.ndarray, template_image: np.ndarray) -> np.ndarray:
    """``128 + beat - template`` per pixel, clipped to uint8 (mid-grey: like the template)."""
    diff = 128 + beat_images.astype(np.int16) - template_image.astype(np.int16)
    return np.clip(diff, 0, 255).astype(np.uint8)
