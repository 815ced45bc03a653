"""Layout checks for the PDF reports: where each piece of text lands, and the pages as PNGs.

pypdf's text extraction reports every piece of text with its matrix and font; reportlab's font
metrics give its width, so each piece gets a box on the page. Two boxes that overlap are text
drawn over text (a long label running into the value beside it), which a reader cannot read.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "pdf"


@dataclass(frozen=True)
class TextBox:
    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: TextBox, slack: float = 0.5) -> bool:
        return (
            self.page == other.page
            and min(self.x1, other.x1) - max(self.x0, other.x0) > slack
            and min(self.y1, other.y1) - max(self.y0, other.y0) > slack
        )


def _multiply(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    g, h, i, j, k, l_ = n
    return [
        a * g + b * i,
        a * h + b * j,
        c * g + d * i,
        c * h + d * j,
        e * g + f * i + k,
        e * h + f * j + l_,
    ]


def text_boxes(pdf: bytes) -> list[TextBox]:
    boxes: list[TextBox] = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text, cm, tm, font, size, number=number):
            text = text.replace("\n", "")
            if not text.strip() or font is None:
                return
            a, b, _, _, x, y = _multiply(list(tm), list(cm))
            scale = (a * a + b * b) ** 0.5
            points = size * scale
            name = str(font.get("/BaseFont", "/Helvetica")).lstrip("/")
            width = stringWidth(text.rstrip(), name, points)
            lead = len(text) - len(text.lstrip())
            x += stringWidth(text[:lead], name, points)
            width -= stringWidth(text[:lead], name, points)
            # the glyphs of Helvetica reach about 0.2 em below and 0.75 em above the baseline
            boxes.append(
                TextBox(number, text.strip(), x, y - 0.2 * points, x + width, y + 0.75 * points)
            )

        page.extract_text(visitor_text=visit)
    return boxes


def overlapping_text(pdf: bytes) -> list[tuple[str, str]]:
    """Every pair of pieces of text drawn over each other."""
    boxes = text_boxes(pdf)
    return [
        (first.text, second.text)
        for i, first in enumerate(boxes)
        for second in boxes[i + 1 :]
        if first.overlaps(second)
    ]


def render_png(pdf: bytes, name: str, tmp_path: Path) -> list[Path]:
    """The pages as PNGs (poppler's pdftoppm), kept under artifacts/pdf/ to be looked at."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        reason = "pdftoppm not found (Debian: apt-get install poppler-utils)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the PDF cannot be rendered: {reason}")
        pytest.skip(reason)
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", str(source), str(ARTIFACTS / name)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))
