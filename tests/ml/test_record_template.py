"""Each beat against its recording's median beat: the template channel (record_template.py)."""

import numpy as np
import pytest

from ecg.imaging import representations
from ecg.training import pipeline
from ecg.training.record_template import (
    difference_image,
    image_channels,
    model_images,
    template_channels_by_record,
    template_window,
)
from ecg.training.training import ModelConfig, clean_inputs, train

from .conftest import TINY_TRAINING, tiny_inter_patient_table

FS = 360.0


def render(windows: np.ndarray) -> np.ndarray:
    return representations.render("spectrogram", windows, FS, None)


def beats(n: int, amplitude: float, seed: int) -> np.ndarray:
    """n windows of 0.7 s: a Gaussian 'QRS' at 0.25 s plus a little noise."""
    t = np.arange(int(0.7 * FS)) / FS
    rng = np.random.default_rng(seed)
    qrs = amplitude * np.exp(-(((t - 0.25) / 0.015) ** 2))
    return (qrs[None, :] + rng.normal(0, 0.002, (n, len(t)))).astype(np.float32)


def test_the_template_is_the_median_beat_so_a_few_odd_beats_do_not_move_it():
    usual = beats(20, 1.0, seed=0)
    odd = beats(3, 3.0, seed=1)
    template = template_window(np.concatenate([usual, odd]))
    assert template.dtype == np.float32 and template.shape == usual.shape[1:]
    np.testing.assert_allclose(template.max(), 1.0, atol=0.05)


def test_a_usual_beat_is_mid_grey_and_an_odd_one_stands_out():
    usual, odd = beats(20, 1.0, seed=0), beats(1, 3.0, seed=1)
    windows = np.concatenate([usual, odd])
    records = np.array(["a"] * len(windows))
    channel = template_channels_by_record(
        render(windows), records, {"a": template_window(windows)}, render
    )
    assert channel.dtype == np.uint8 and channel.shape == (21, 64, 64)
    distance = np.abs(channel.astype(int) - 128).mean(axis=(1, 2))
    assert distance[-1] > 4 * distance[:-1].max()


def test_the_difference_is_clipped_to_uint8():
    beat = np.array([[[255, 0, 100]]], dtype=np.uint8)
    template = np.array([[0, 255, 100]], dtype=np.uint8)
    np.testing.assert_array_equal(difference_image(beat, template), [[[255, 0, 128]]])


def test_each_recording_is_compared_with_its_own_template():
    """The same beat reads as usual in its own recording and odd in another."""
    quiet, loud = beats(10, 1.0, seed=0), beats(10, 3.0, seed=1)
    windows = np.concatenate([quiet, loud])
    records = np.array(["a"] * 10 + ["b"] * 10)
    templates = {"a": template_window(quiet), "b": template_window(loud)}
    channels = template_channels_by_record(render(windows), records, templates, render)
    own = [difference_image(render(w), render(template_window(w)[None])[0]) for w in (quiet, loud)]
    np.testing.assert_array_equal(channels[:10], own[0])
    np.testing.assert_array_equal(channels[10:], own[1])
    swapped = template_channels_by_record(render(windows), records[::-1], templates, render)
    assert np.abs(swapped.astype(int) - 128).mean() > np.abs(channels.astype(int) - 128).mean()


def test_model_images_stack_the_channels():
    images = np.zeros((4, 64, 64), np.uint8)
    assert model_images(images, None).shape == (4, 64, 64, 1)
    assert model_images(images, images).shape == (4, 64, 64, 2)
    assert image_channels("none") == 1 and image_channels("record_template_diff") == 2
    with pytest.raises(ValueError, match="unknown image context"):
        image_channels("neighbours")


@pytest.mark.slow
def test_a_template_model_trains_on_two_channels_and_is_never_shipped(tmp_path):
    table, labels, split = tiny_inter_patient_table(tmp_path)
    config = ModelConfig(
        "tiny_template",
        "spectrogram",
        use_rr=True,
        image_context="record_template_diff",
        **TINY_TRAINING,
    )
    model, record = train(config, table, split, labels, 6, work_dir=tmp_path / "runs")
    inputs = clean_inputs(config, table, split.val, None)
    assert inputs["image"].shape[1:] == (64, 64, 2)
    rows = table.records == "106"
    expected = template_window(table.crop(0.25, 0.45)[rows])
    np.testing.assert_array_equal(table.record_templates(0.25, 0.45)["106"], expected)
    assert model.predict(inputs, verbose=0).shape == (len(split.val), 6)
    candidate = pipeline.Candidate(config, "recording", "recording")
    with pytest.raises(ValueError, match="serving builds no"):
        pipeline.metadata_for(candidate, record, table)
