"""The model factory: inputs as the metadata describes them, preprocessing inside the model."""

import numpy as np
import pytest

from ecg.models.architectures import build_cnn

pytestmark = pytest.mark.slow


def test_the_cnn_takes_uint8_images_and_optional_rhythm_features():
    rr_train = np.random.default_rng(0).normal(1.0, 0.2, (50, 14)).astype(np.float32)
    model = build_cnn(64, 6, rr_train=rr_train)
    assert [t.name for t in model.inputs] == ["image", "rr"]
    assert tuple(model.inputs[0].shape) == (None, 64, 64, 1)
    images = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 1), dtype=np.uint8)
    probs = model.predict({"image": images, "rr": rr_train[:3]}, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.count_params() < 1_000_000


def test_images_of_several_leads_are_stacked_as_channels():
    model = build_cnn(64, 6, channels=2)
    assert [t.name for t in model.inputs] == ["image"]
    assert tuple(model.inputs[0].shape) == (None, 64, 64, 2)
    two = np.zeros((2, 64, 64, 2), dtype=np.uint8)
    assert model.predict(two, verbose=0).shape == (2, 6)
