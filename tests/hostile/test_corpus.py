"""The corpus itself: every "hostile image" really is undecodable or over the pixel limit, every
"hostile name" case really is a valid image, so the form tests that use them mean something."""

import io
import zipfile

import pytest
from django.conf import settings
from PIL import Image

from tests.hostile.corpus import IMAGE_CORPUS, NAME_CORPUS, RECORDING_CONTROLS, RECORDING_CORPUS


def decoded_pixels(data: bytes) -> int | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.width * image.height
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


@pytest.mark.parametrize("item", IMAGE_CORPUS, ids=lambda item: item.case)
def test_hostile_images_cannot_be_used(item):
    pixels = decoded_pixels(item.data())
    assert pixels is None or pixels > settings.UPLOAD_MAX_PIXELS
    assert len(item.data()) < settings.UPLOAD_MAX_BYTES  # refused for content, not for size


@pytest.mark.parametrize("item", NAME_CORPUS, ids=lambda item: item.case)
def test_hostile_names_carry_valid_images(item):
    assert decoded_pixels(item.data()) == 64 * 64


def test_zip_bomb_really_inflates_past_a_gigabyte():
    bomb = next(item for item in RECORDING_CORPUS if item.case == "zip-bomb").data()
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(info.file_size for info in archive.infolist()) >= 1 << 30
    assert len(bomb) < 2 << 20


@pytest.mark.parametrize("item", RECORDING_CONTROLS, ids=lambda item: item.case)
def test_recording_controls_parse(item):
    # the hostile recordings are these files with one detail changed
    from ecg.io.recording_io import parse_upload

    parsed = parse_upload([(item.name, item.data())], fs=360.0)
    assert parsed.fs == pytest.approx(360.0, rel=0.01) and parsed.duration_s >= 19.9
