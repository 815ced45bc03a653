"""Small PNG previews for the history list, made on the fly (uploads may be megabytes)."""

from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIDE = 128


def make_thumbnail(file, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """PNG bytes of the image scaled to fit in ``side`` x ``side`` (never enlarged)."""
    with Image.open(file) as image:
        image.thumbnail((side, side))
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue()
