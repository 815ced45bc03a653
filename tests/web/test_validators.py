"""Every upload validation rule, checked on real bytes."""

import io

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from classifier.validators import validate_image_file
from tests.factories import beat_image_bytes, encode


def upload(data: bytes, name: str = "beat.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp")])
def test_accepts_png_jpeg_bmp_by_content(fmt, ext):
    checked = validate_image_file(upload(beat_image_bytes(fmt), name="no-extension"))
    assert checked.format == fmt
    assert checked.extension == ext
    assert checked.image.size == (64, 64)


def test_rejects_zero_byte_file():
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(b"", "empty.png"))
    assert err.value.code == "empty"
    assert "empty.png" in err.value.messages[0]


def test_rejects_text_renamed_to_png():
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(b"patient: John Doe\n" * 20, "notes.png"))
    assert err.value.code == "bad_type"


def test_rejects_other_image_format_renamed_to_png():
    gif = io.BytesIO()
    Image.new("L", (32, 32)).save(gif, format="GIF")
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(gif.getvalue(), "beat.png"))
    assert err.value.code == "bad_type"
    assert "GIF" in err.value.messages[0]


def test_rejects_truncated_png():
    data = encode(np.random.default_rng(0).integers(0, 255, (128, 128), dtype=np.uint8))
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(data[: len(data) // 2], "cut.png"))
    assert err.value.code == "corrupt"


def test_rejects_truncated_jpeg():
    data = encode(np.random.default_rng(0).integers(0, 255, (128, 128), dtype=np.uint8), "JPEG")
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(data[: len(data) // 2], "cut.jpg"))
    assert err.value.code == "corrupt"


def test_rejects_corrupt_png_body():
    data = bytearray(beat_image_bytes())
    data[60:90] = b"\x00" * 30  # smash the IDAT chunk: checksum fails
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(bytes(data), "broken.png"))
    assert err.value.code == "corrupt"


def test_rejects_file_over_size_limit(settings):
    settings.UPLOAD_MAX_BYTES = 100
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(beat_image_bytes(), "big.png"))
    assert err.value.code == "too_large"
    assert "limit" in err.value.messages[0]


def test_rejects_decompression_bomb_before_decoding(settings):
    # 1-bit 6000x6000 image: a few KB on disk, 36 million pixels once decoded.
    buffer = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(buffer.getvalue(), "bomb.png"))
    assert err.value.code == "too_many_pixels"


def test_pixel_limit_is_configurable(settings):
    settings.UPLOAD_MAX_PIXELS = 32 * 32
    with pytest.raises(ValidationError) as err:
        validate_image_file(upload(beat_image_bytes(size=64)))
    assert err.value.code == "too_many_pixels"
