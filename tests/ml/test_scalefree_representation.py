"""The scale-free beat drawing (issue 19): one peak-to-peak amplitude for every window, applied
by the same render function at training and serving through the bundle metadata."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ecg.imaging import representations
from ecg.models.bundle import load_bundle, save_bundle
from ecg.models.registry import is_scale_free
from ecg.training import pipeline
from ecg.training.training import inputs_for
from tests.factories import build_tiny_model, synthetic_beat

FS = 360.0
SCALE_FREE = {"amplitude": "normalised_ptp", "ptp_mv": 2.0}


def beats(n: int = 3) -> np.ndarray:
    return np.stack([synthetic_beat(seed) for seed in range(n)])


def test_normalised_drawing_does_not_depend_on_the_amplitude():
    windows = beats()
    drawn = representations.render("beat_image", windows, FS, SCALE_FREE)
    for gain in (0.3, 0.8, 2.5):
        again = representations.render("beat_image", windows * gain + 0.4, FS, SCALE_FREE)
        np.testing.assert_array_equal(again, drawn)
    # ... while the millivolt drawing does (the shipped model's): the scale is what it reads.
    assert not np.array_equal(
        representations.render("beat_image", windows * 0.5, FS),
        representations.render("beat_image", windows, FS),
    )


def test_normalised_drawing_is_the_mv_drawing_at_two_mv_peak_to_peak():
    windows = beats()
    centred = windows - np.median(windows, axis=1, keepdims=True)
    at_two_mv = centred * (2.0 / np.ptp(centred, axis=1, keepdims=True))
    np.testing.assert_array_equal(
        representations.render("beat_image", windows, FS, SCALE_FREE),
        representations.render("beat_image", at_two_mv, FS),
    )


def test_default_amplitude_is_the_millivolt_drawing_unchanged():
    windows = beats()
    np.testing.assert_array_equal(
        representations.render("beat_image", windows, FS, {"amplitude": "fixed_mv"}),
        representations.render("beat_image", windows, FS),
    )


def test_a_flat_window_is_not_blown_up_and_an_unknown_mode_is_refused():
    flat = np.zeros((1, 252), np.float32)
    image = representations.render("beat_image", flat, FS, SCALE_FREE)
    assert image.shape == (1, 64, 64) and (image > 0).sum(axis=1).max() <= 2  # one flat line
    with pytest.raises(ValueError, match="unknown amplitude"):
        representations.render("beat_image", flat, FS, {"amplitude": "per_beat"})


def test_the_candidate_trains_and_serves_the_same_drawing(tmp_path):
    """Metadata round trip: the training config's drawing is what the saved bundle draws."""
    candidate = pipeline.SCALE_FREE_BEAT
    assert candidate in pipeline.ON_REQUEST and candidate not in pipeline.CANDIDATES
    assert candidate.role == "beat_image_unknown_amplitude"
    config = replace(candidate.config, ensemble_seeds=())
    assert config.image_params["amplitude"] == "normalised_ptp"

    class Table:  # what metadata_for and inputs_for read of a beat table
        lead = "MLII"
        fs = FS

    meta = pipeline.metadata_for(replace(candidate, config=config), {"note": "test"}, Table())
    path = save_bundle(build_tiny_model(), meta, tmp_path / config.name)
    bundle = load_bundle(path)
    assert is_scale_free(bundle.metadata)
    windows = beats() * np.array([[0.4], [1.0], [3.0]], np.float32)
    training_images = inputs_for(config, Table(), windows, np.arange(3))["image"][..., 0]
    np.testing.assert_array_equal(bundle.render(windows), training_images)
    # Serving a digitised beat draws with render() and the bundle's metadata params.
    params = bundle.metadata["representation"]["params"]
    np.testing.assert_array_equal(
        representations.render("beat_image", windows, FS, params), training_images
    )
    # ... and a shipped millivolt model's metadata (no "amplitude") is not scale-free.
    assert not is_scale_free({"representation": {"params": {"size": 64}}})
