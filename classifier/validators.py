"""Checks an uploaded image by its content before anything is stored.

Every rule gives a message a clinician can act on. The type is taken from what Pillow finds in
the bytes, never from the file name; the pixel count is checked from the header *before* the
pixels are decoded, so a decompression bomb never reaches memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS: dict[str, str] = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp"}


@dataclass(frozen=True)
class CheckedImage:
    """A decoded, verified upload: the Pillow image and the extension its real format gets.

    The upload form hands these to the service, so each file is checked and decoded once.
    ``image`` is None when the form let go of the pixels to bound a request's memory
    (``classifier.forms.MultipleImageField``); ``decoded()`` then decodes the file again.
    """

    image: Image.Image | None
    format: str
    extension: str
    upload: Any = None  # the uploaded file it was read from

    @property
    def name(self) -> str:
        """The uploaded file's name, as the user gave it."""
        return getattr(self.upload, "name", "") or ""

    def decoded(self) -> Image.Image:
        return self.image if self.image is not None else validate_image_file(self.upload).image


def validate_image_file(uploaded_file) -> CheckedImage:
    """Return the decoded image, or raise ``ValidationError`` saying what is wrong with it."""
    name = getattr(uploaded_file, "name", "") or "file"
    size = getattr(uploaded_file, "size", None)
    if not size:
        raise ValidationError(f"“{name}” is empty.", code="empty")
    max_bytes = settings.UPLOAD_MAX_BYTES
    if size > max_bytes:
        raise ValidationError(
            f"“{name}” is {filesizeformat(size)}; the limit is {filesizeformat(max_bytes)}.",
            code="too_large",
        )
    max_pixels = settings.UPLOAD_MAX_PIXELS
    try:
        uploaded_file.seek(0)
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(uploaded_file)
            if image.format not in ALLOWED_FORMATS:
                raise ValidationError(
                    f"“{name}” is a {image.format or 'unknown'} file; upload PNG, JPEG or BMP.",
                    code="bad_type",
                )
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(name, width, height, max_pixels)
            image.verify()  # structure and checksums; the image is unusable afterwards
            uploaded_file.seek(0)
            image = Image.open(uploaded_file)
            image.load()  # decodes every pixel: catches truncated data verify() lets through
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            f"“{name}” has too many pixels (limit {max_pixels:,}).", code="too_many_pixels"
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            f"“{name}” is not an image; upload PNG, JPEG or BMP.", code="bad_type"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ValidationError(
            f"“{name}” is damaged or truncated and cannot be read ({exc}).", code="corrupt"
        ) from None
    finally:
        uploaded_file.seek(0)
    return CheckedImage(
        image=image,
        format=image.format,
        extension=ALLOWED_FORMATS[image.format],
        upload=uploaded_file,
    )


def _too_many_pixels(name: str, width: int, height: int, limit: int) -> ValidationError:
    return ValidationError(
        f"“{name}” is {width}×{height} pixels; the limit is {limit:,} pixels.",
        code="too_many_pixels",
    )
