"""The shipped models through the upload path: no train/serve skew (needs MIT-BIH and models/).

A beat rendered by the pipeline, saved as PNG and classified like an upload must be detected as
its own kind and get the very probabilities the pipeline computes from the rendered array.
"""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.model_service import classify_image
from ecg.dsp.signal import prepare_signal
from ecg.features.beats import beat_annotations, extract_windows
from ecg.io.records import default_data_dir, load_record
from ecg.models.calibration import calibrated_probabilities
from ecg.models.registry import ModelRegistry

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def shipped() -> ModelRegistry:
    service = ModelRegistry(MODELS)
    if service.installed_image_kinds() != ["beat_image", "spectrogram"]:
        pytest.skip("the shipped image models are not in models/")
    return service


@pytest.mark.mitdb
@pytest.mark.parametrize("kind", ["beat_image", "spectrogram"])
def test_uploaded_png_of_a_rendered_beat_matches_the_pipeline(shipped, kind):
    data_dir = default_data_dir()
    if data_dir is None or not (data_dir / "119.hea").is_file():
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    bundle = shipped.serving_bundle(kind=kind)
    record = load_record(data_dir, "119")
    fs = float(bundle.metadata["sampling_rate"])
    signal = prepare_signal(record.signal, record.fs, fs)
    peaks, _ = beat_annotations(record.ann_samples, record.ann_symbols)
    scaled = np.round(peaks[100:120] * fs / record.fs).astype(np.int64)
    windows, _ = extract_windows(signal, scaled, fs, **bundle.metadata["window"])
    images = bundle.render(windows)
    # as served: the model's calibration (its temperature) applied to the network's output
    expected = calibrated_probabilities(
        bundle.predict_proba(images), bundle.metadata.get("calibration")
    )
    for image, probs in zip(images, expected, strict=True):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        result = classify_image(Image.open(buffer), image_type="auto", registry=shipped)
        assert (result.kind, result.model_name) == (kind, bundle.name)
        np.testing.assert_allclose(list(result.probabilities.values()), probs, atol=1e-6)
