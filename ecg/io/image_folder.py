"""The original project's image layout: ``<root>/<class code>/*.png`` (e.g. ``Dataset/train``).

``export_images`` writes it from beat windows with the model's representation; ``read_images``
reads it back through ``images.load_image_for_model`` -- the upload path -- so a folder of images
trains exactly what an upload would feed. Class folder names are the six-class codes; ``!`` is
written as ``VF`` (``!`` is awkward in shells and on some file systems).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ecg.classes import UnknownClassError, class_codes
from ecg.imaging.images import load_image_for_model

FOLDER_ALIASES = {"!": "VF"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def folder_name(code: str) -> str:
    return FOLDER_ALIASES.get(code, code)


def code_for_folder(name: str, classes: list[str]) -> str:
    reverse = {folder_name(c): c for c in classes}
    if name in reverse:
        return reverse[name]
    raise UnknownClassError(f"folder {name!r} is not a class; expected one of {sorted(reverse)}")


def export_images(
    images: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    root: str | Path,
    classes: list[str] | None = None,
) -> int:
    """Write uint8 images (n, H, W) as PNGs under ``root/<class>/<name>.png``."""
    classes = classes or class_codes("six")
    root = Path(root)
    for image, label, name in zip(images, labels, names, strict=True):
        folder = root / folder_name(classes[int(label)])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(folder / f"{name}.png")
    return len(names)


def read_images(
    root: str | Path,
    *,
    size: int,
    kind: str,
    classes: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, size, size), labels) from class-named subfolders of ``root``."""
    classes = classes or class_codes("six")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    images, labels = [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        index = classes.index(code_for_folder(sub.name, classes))
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for path in files:
            try:
                with Image.open(path) as img:
                    images.append(load_image_for_model(img, size=size, kind=kind))
            except OSError as exc:
                raise ValueError(f"{path}: not a readable image ({exc})") from exc
            labels.append(index)
        if progress:
            progress(f"{sub.name}: {len(files)} images")
    if not images:
        raise ValueError(f"no images found under {root}/<class>/")
    return np.stack(images), np.asarray(labels, dtype=np.int64)
