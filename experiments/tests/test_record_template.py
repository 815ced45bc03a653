"""Each beat against its recording's median beat (experiments/record_template.py)."""

import numpy as np

from ecg.training.dataset import BeatTable
from experiments.record_template import difference_image, record_templates, template_window

FS = 360.0


def beats(n: int, amplitude: float, seed: int, seconds: float = 0.7) -> np.ndarray:
    """n windows: a Gaussian 'QRS' at 0.25 s plus a little noise."""
    t = np.arange(int(seconds * FS)) / FS
    rng = np.random.default_rng(seed)
    qrs = amplitude * np.exp(-(((t - 0.25) / 0.015) ** 2))
    return (qrs[None, :] + rng.normal(0, 0.002, (n, len(t)))).astype(np.float32)


def test_the_template_is_the_median_beat_so_a_few_odd_beats_do_not_move_it():
    usual = beats(20, 1.0, seed=0)
    odd = beats(3, 3.0, seed=1)
    template = template_window(np.concatenate([usual, odd]))
    assert template.dtype == np.float32 and template.shape == usual.shape[1:]
    np.testing.assert_allclose(template.max(), 1.0, atol=0.05)


def test_the_difference_is_clipped_to_uint8():
    beat = np.array([[[255, 0, 100]]], dtype=np.uint8)
    template = np.array([[0, 255, 100]], dtype=np.uint8)
    np.testing.assert_array_equal(difference_image(beat, template), [[[255, 0, 128]]])


def test_each_record_gets_the_template_of_its_own_clean_model_windows():
    # stored windows 0.35 s before and 0.55 s after the R peak, as dataset.build_beat_table
    quiet, loud = beats(10, 1.0, seed=0, seconds=0.9), beats(10, 3.0, seed=1, seconds=0.9)
    windows = np.concatenate([quiet, loud])
    records = np.array(["a"] * 10 + ["b"] * 10)
    table = BeatTable(
        windows, np.zeros((20, 6), np.float32), np.array(["N"] * 20), records,
        FS, 0.35, 0.55, "MLII",
    )  # fmt: skip
    templates = record_templates(table, 0.25, 0.45)
    assert sorted(templates) == ["a", "b"]
    crop = table.crop(0.25, 0.45)
    np.testing.assert_array_equal(templates["a"], template_window(crop[:10]))
    np.testing.assert_array_equal(templates["b"], template_window(crop[10:]))
