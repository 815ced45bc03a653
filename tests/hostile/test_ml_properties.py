"""Property-based tests (hypothesis) on the framework-free parsers the uploads go through."""

import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from ecg.dsp.signal import prepare_signal
from ecg.imaging import images
from ecg.io.records import RecordError, load_record

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
gray_images = arrays(
    np.uint8,
    st.tuples(st.integers(1, 200), st.integers(1, 200)),
    elements=st.integers(0, 255),
)


@FAST
@given(gray=gray_images, kind=st.sampled_from(["beat_image", "spectrogram"]))
def test_prepare_image_always_gives_model_sized_uint8(gray, kind):
    out = images.prepare_image(gray, size=64, kind=kind)
    assert out.shape == (64, 64) and out.dtype == np.uint8


@FAST
@given(gray=gray_images)
def test_beat_image_polarity_does_not_matter(gray):
    # a dark-on-light plot and the light-on-dark original give the same model input
    assume(np.mean(gray >= 230) != np.mean(gray <= 25))
    np.testing.assert_array_equal(
        images.prepare_image(gray, size=64, kind="beat_image"),
        images.prepare_image(255 - gray, size=64, kind="beat_image"),
    )


@FAST
@given(gray=gray_images)
def test_detected_kind_is_one_of_the_two(gray):
    assert images.detect_image_kind(gray) in ("beat_image", "spectrogram")


@FAST
@given(
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]),
    width=st.integers(1, 80),
    height=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_pillow_mode_becomes_a_2d_grayscale_array(mode, width, height, seed):
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    gray = images.to_grayscale_array(image)
    assert gray.shape == (height, width) and gray.dtype == np.uint8


@FAST
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_either_decode_to_model_input_or_raise_a_decoding_error(data):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        return  # what an upload validator must turn into a 4xx
    out = images.load_image_for_model(image, size=64, kind="beat_image")
    assert out.shape == (64, 64)


@FAST
@given(
    fs=st.sampled_from([128.0, 250.0, 360.0, 500.0, 1000.0]),
    seconds=st.floats(0.5, 4.0),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1e-3, 1e3),
)
def test_prepare_signal_keeps_finite_values_and_the_duration(fs, seconds, seed, scale):
    x = np.random.default_rng(seed).normal(0, scale, int(fs * seconds))
    y = prepare_signal(x, fs)
    assert np.all(np.isfinite(y))
    assert abs(len(y) - len(x) * 360.0 / fs) <= 2


header_lines = st.one_of(
    st.text(max_size=80),
    st.builds(
        "100 {} {} {}".format,
        st.integers(-5, 5),
        st.sampled_from(["360", "0", "-1", "abc", "1e9", "360/0"]),
        st.integers(-10, 10**9),
    ),
)
signal_lines = st.one_of(
    st.text(max_size=80),
    st.just("100.dat 212 200 11 1024 995 -22131 0 MLII"),
    st.builds(
        "100.dat {} 200 11 1024 0 0 0 MLII".format, st.sampled_from(["16", "212", "80", "9"])
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    first=header_lines,
    signals=st.lists(signal_lines, max_size=3),
    dat=st.binary(max_size=3000),
)
def test_any_wfdb_header_loads_or_raises_record_error(tmp_path, first, signals, dat):
    (tmp_path / "100.hea").write_text("\n".join([first, *signals]) + "\n", errors="replace")
    (tmp_path / "100.dat").write_bytes(dat)
    try:
        record = load_record(tmp_path, "100", annotations=False)
    except RecordError as error:
        assert "100.hea" in str(error)
        return
    assert record.signal.ndim == 1 and record.signal.size > 0
    assert np.all(np.isfinite(record.signal))


@pytest.mark.parametrize("n_samples", [650_000, 10**9])
def test_wfdb_header_that_claims_more_samples_than_the_file_holds(tmp_path, n_samples):
    (tmp_path / "100.hea").write_text(
        f"100 1 360 {n_samples}\n100.dat 212 200 11 1024 995 -22131 0 MLII\n"
    )
    (tmp_path / "100.dat").write_bytes(bytes(3 * 1000))
    with pytest.raises(RecordError):
        load_record(tmp_path, "100", annotations=False)
