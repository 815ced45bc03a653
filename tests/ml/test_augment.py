import numpy as np

from ecg.training.augment import AugmentParams, augment_windows, random_shifts
from ecg.training.dataset import crop_windows

FS = 360.0


def p_then_r_window(n: int = 324) -> np.ndarray:
    t = np.arange(n) / FS
    p_wave = 0.25 * np.exp(-(((t - 0.20) / 0.02) ** 2))
    r_wave = 1.5 * np.exp(-(((t - 0.35) / 0.01) ** 2))
    return (p_wave + r_wave).astype(np.float32)[None, :]


def test_augmentation_never_reverses_time():
    rng = np.random.default_rng(0)
    windows = np.repeat(p_then_r_window(), 200, axis=0)
    shifts = random_shifts(200, FS, rng, AugmentParams())
    cropped = crop_windows(windows, FS, 0.35, 0.25, 0.45, shifts)
    out = augment_windows(cropped, FS, rng)
    r_pos = out.argmax(axis=1)
    # The R peak stays within the allowed shift of its place 0.25 s into the window ...
    assert np.all(np.abs(r_pos - 90) <= int(0.02 * FS) + 1)
    # ... and the P wave still comes BEFORE it (a flip would put it after).
    before = out[:, 30:80].max(axis=1)
    after = np.array([w[r + 20 : r + 70].max() for w, r in zip(out, r_pos, strict=True)])
    assert np.all(before > after)
    # correlation with the original stays high and positive: no flip, no inversion
    ref = crop_windows(windows[:1], FS, 0.35, 0.25, 0.45)[0]
    corr = [np.corrcoef(ref, w)[0, 1] for w in crop_windows(windows, FS, 0.35, 0.25, 0.45)]
    assert min(corr) > 0.99


def test_augmentation_changes_amplitude_and_is_seeded():
    windows = np.repeat(p_then_r_window(), 50, axis=0)
    a = augment_windows(windows, FS, np.random.default_rng(1))
    b = augment_windows(windows, FS, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    peaks = a.max(axis=1)
    assert peaks.min() < 1.5 * 0.95 and peaks.max() > 1.5 * 1.05
