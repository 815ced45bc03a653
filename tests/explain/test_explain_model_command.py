"""The ``explain_model`` command on a small untrained bundle and one MIT-BIH record."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ecg.classes import class_codes
from ecg.io.records import default_data_dir
from ecg.models.bundle import save_bundle
from ecg.training.explain_report import column_times


def small_bundle(models_dir: Path, name: str = "tiny", kind: str = "beat_image") -> None:
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 1), name="image", dtype="uint8")
    rr = keras.Input((6,), name="rr")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Concatenate()([x, rr])
    out = keras.layers.Dense(6, activation="softmax")(x)
    metadata = {
        "name": name,
        "version": "1",
        "classes": class_codes("six"),
        "label_set": "six",
        "representation": {"kind": kind, "params": {}},
        "inputs": ["image", "rr"],
        "image_size": 64,
        "sampling_rate": 360,
        "window": {"pre_s": 0.25, "post_s": 0.45},
        "task": "image",
    }
    save_bundle(keras.Model([image, rr], out), metadata, models_dir / f"{name}.keras")


def test_column_times_span_the_beat_window():
    meta = {"image_size": 64, "window": {"pre_s": 0.25, "post_s": 0.45}}
    beat = column_times({**meta, "representation": {"kind": "beat_image"}})
    assert beat[0] == pytest.approx(-0.25) and beat[-1] == pytest.approx(0.45)
    spec = column_times({**meta, "representation": {"kind": "spectrogram", "params": {}}})
    assert spec[0] == pytest.approx(-0.16) and spec[-1] == pytest.approx(0.36)


@pytest.mark.mitdb
@pytest.mark.skipif(
    default_data_dir() is None or not default_data_dir().is_dir(), reason="MIT-BIH not available"
)
def test_command_writes_figure_summary_and_markdown(tmp_path):
    small_bundle(tmp_path)
    call_command("explain_model", "tiny", models_dir=str(tmp_path), records="100", max_per_class=12)
    png = tmp_path / "tiny.gradcam.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "tiny.gradcam.json").read_text())
    counts = {c["code"]: c["count"] for c in summary["classes"]}
    # Record 100 has 2239 normal beats, 33 PACs and 1 PVC; no bundle branch block.
    assert counts == {"L": 0, "N": 12, "A": 12, "V": 1, "R": 0, "!": 0}
    normal = next(c for c in summary["classes"] if c["code"] == "N")
    shares = normal["heat_before_qrs"] + normal["heat_qrs"] + normal["heat_after_qrs"]
    assert shares == pytest.approx(1.0, abs=0.01)
    assert sum(summary["uniform_map_shares"]) == pytest.approx(1.0, abs=0.01)
    markdown = (tmp_path / "EXPLAIN.md").read_text()
    assert "*a map with no preference, for comparison*" in markdown
    assert "## tiny (v1, beat_image)" in markdown
    assert "![average Grad-CAM per class](tiny.gradcam.png)" in markdown
    assert np.isfinite(normal["peak_ms"])


def test_command_names_a_missing_model(tmp_path):
    # An explicit (empty) data directory: the model check must not depend on MIT-BIH being here.
    data_dir = str(tmp_path)
    with pytest.raises(CommandError, match="ghost"):
        call_command(
            "explain_model", "ghost", models_dir=str(tmp_path), data_dir=data_dir, records="100"
        )
    with pytest.raises(CommandError, match="no models"):
        call_command("explain_model", models_dir=str(tmp_path), data_dir=data_dir)
