import io

import numpy as np
import pytest
from PIL import Image

from ecg.features.beats import extract_windows, rr_features
from ecg.imaging import images, representations

FS = 360.0


def synthetic_windows(n: int = 4) -> np.ndarray:
    t = np.arange(252) / FS
    qrs = np.exp(-(((t - 0.25) / 0.012) ** 2)) * 1.5  # 1.5 mV R peak at 250 ms
    return np.stack([qrs * (1 + 0.1 * i) for i in range(n)]).astype(np.float32)


@pytest.mark.parametrize("kind", ["beat_image", "spectrogram"])
def test_representation_shape_dtype_range_and_determinism(kind):
    windows = synthetic_windows()
    first = representations.render(kind, windows, FS)
    second = representations.render(kind, windows, FS)
    assert first.shape == (4, 64, 64)
    assert first.dtype == np.uint8
    assert first.max() > 0 and first.min() == 0
    np.testing.assert_array_equal(first, second)


def test_beat_image_keeps_physical_amplitude():
    # A taller R wave reaches a higher row on the fixed mV scale (per-beat min-max would not).
    small, tall = representations.render("beat_image", synthetic_windows(2) * [[1.0], [1.6]], FS)
    top_row = lambda img: int(np.flatnonzero(img.max(axis=1))[0])  # noqa: E731
    assert top_row(tall) < top_row(small)


def test_exported_png_round_trips_bit_identical_through_the_upload_path():
    image = representations.render("beat_image", synthetic_windows(1), FS)[0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    buffer.seek(0)
    loaded = images.load_image_for_model(Image.open(buffer), size=64, kind="beat_image")
    np.testing.assert_array_equal(loaded, image)
    assert images.detect_image_kind(loaded) == "beat_image"
    spec = representations.render("spectrogram", synthetic_windows(1), FS)[0]
    assert images.detect_image_kind(spec) == "spectrogram"


def test_windows_near_the_edges_are_dropped_not_padded():
    signal = np.zeros(1000, dtype=np.float32)
    windows, kept = extract_windows(signal, np.array([10, 500, 990]), FS, pre_s=0.25, post_s=0.45)
    assert kept.tolist() == [1]
    assert windows.shape == (1, 252)


def test_rr_features_flag_a_premature_beat():
    peaks = np.array([0, 360, 720, 900, 1440, 1800]) * 1.0
    feats = rr_features(peaks, FS)
    assert feats.shape == (6, 6)
    assert feats[3, 0] == pytest.approx(0.5)  # 180 samples after the previous beat
    assert feats[3, 3] < 0.7  # prev / local mean: clearly premature


def test_spectrogram_matches_scipy_stft():
    """The matrix-product STFT gives scipy.signal.stft's values (within one grey level)."""
    from scipy import signal as sps

    rng = np.random.default_rng(0)
    windows = synthetic_windows(8) + 0.05 * rng.standard_normal((8, 252)).astype(np.float32)
    p = representations.SPECTROGRAM_DEFAULTS
    fast = representations.render("spectrogram", windows, FS)
    centred = windows - windows.mean(axis=1, keepdims=True)
    nperseg, hop = round(p["segment_s"] * FS), round(p["hop_s"] * FS)
    freqs, _, z = sps.stft(
        centred,
        fs=FS,
        window="hann",
        nperseg=nperseg,
        noverlap=nperseg - hop,
        nfft=256,
        boundary=None,
        padded=False,
    )
    db = 20 * np.log10(np.abs(z[:, freqs <= p["fmax_hz"], :]) + 1e-6)
    low, high = p["db_range"]
    scaled = (np.clip(db, low, high) - low) / (high - low)
    rows = representations._interp_matrix(scaled.shape[1], 64)
    cols = representations._interp_matrix(scaled.shape[2], 64)
    ref = np.round(np.clip(np.flip(rows @ scaled @ cols.T, axis=1), 0, 1) * 255).astype(int)
    assert np.abs(ref - fast.astype(int)).max() <= 1


@pytest.mark.parametrize("n", [1, 63, 64, 65, 127, 128, 129, 2 * 64 + 7, 512])
def test_spectrogram_in_blocks_draws_the_pixels_of_one_call(monkeypatch, n):
    """``spectrogram`` draws SPECTROGRAM_BLOCK windows at a time (the CPU caches): the same
    pixels as one product over the whole batch, with BLAS on one thread (as ``analyse`` runs
    it) or not, whatever the batch's size and wherever its blocks fall."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(3)
    drawn = (rng.standard_normal((135, 252)).cumsum(axis=1) * 0.05).astype(np.float32)
    # Window 14 drawn alone (a product of 47 rows) is one grey level off somewhere: it comes
    # last, so a block of its own would show.
    windows = np.concatenate([np.resize(drawn, (n + 4, 252)), drawn[14:15]])
    for limit in (1, None):
        with threadpool_limits(limits=limit, user_api="blas"):
            blocks = representations.render("spectrogram", windows, FS)
            shifted = representations.render("spectrogram", windows[5:], FS)
            monkeypatch.setattr(representations, "SPECTROGRAM_BLOCK", 10**9)
            whole = representations.render("spectrogram", windows, FS)
            whole_shifted = representations.render("spectrogram", windows[5:], FS)
            monkeypatch.undo()
        assert blocks.shape == (n + 5, 64, 64) and blocks.dtype == np.uint8
        assert np.array_equal(blocks, whole)
        assert np.array_equal(shifted, whole_shifted)
    assert representations.render("spectrogram", windows[:0], FS).shape == (0, 64, 64)
