"""Property-based tests (hypothesis) on the upload validator: for ANY bytes it either returns a
decoded image within the limits or raises ValidationError -- never another exception (a 500)."""

import io

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from classifier.validators import ALLOWED_FORMATS, validate_image_file
from tests.hostile.corpus import beat_png

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes, name: str = "x.png"):
    try:
        return validate_image_file(SimpleUploadedFile(name, data))
    except ValidationError as error:
        assert error.messages and all(error.messages), "a refusal must say why"
        return None


@PROPERTY
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_escape_as_another_exception(data):
    check(data)


@PROPERTY
@given(
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=8),
)
def test_damaged_png_never_escapes_as_another_exception(cut, flips):
    data = bytearray(beat_png())
    for position, value in flips:
        if position < len(data):
            data[position] = value
    result = check(bytes(data[: len(data) - cut]))
    if result is not None:
        assert result.image.size == (64, 64)


@PROPERTY
@given(
    width=st.integers(1, 120),
    height=st.integers(1, 120),
    fmt=st.sampled_from(sorted(ALLOWED_FORMATS)),
    mode=st.sampled_from(["L", "RGB", "1", "P"]),
)
def test_every_valid_small_image_is_accepted_with_its_real_extension(width, height, fmt, mode):
    if fmt == "JPEG" and mode in ("1", "P"):
        mode = "L"
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format=fmt)
    result = check(buffer.getvalue(), name="whatever.gif")
    assert result is not None
    assert result.format == fmt and result.extension == ALLOWED_FORMATS[fmt]
    assert result.image.size == (width, height)


@PROPERTY
@given(width=st.integers(1, 400), height=st.integers(1, 400), limit=st.integers(1, 40_000))
def test_pixel_limit_is_exact(width, height, limit):
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    with override_settings(UPLOAD_MAX_PIXELS=limit):
        accepted = check(buffer.getvalue()) is not None
    assert accepted == (width * height <= limit)
