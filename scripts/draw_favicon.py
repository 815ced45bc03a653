"""Draws the site icon, an ECG trace (one beat: P wave, QRS spike, T wave) on a dark tile.

    .venv/bin/python scripts/draw_favicon.py   # writes static/favicon.ico and static/favicon.png

The files are committed; run this only to change the drawing.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parent.parent / "static"
# (x, y) on a 0..1 square: baseline, P wave, Q dip, R spike, S dip, T wave, baseline
TRACE = [
    (0.00, 0.58), (0.16, 0.58), (0.22, 0.50), (0.28, 0.58), (0.36, 0.58), (0.40, 0.66),
    (0.47, 0.12), (0.54, 0.86), (0.59, 0.58), (0.68, 0.58), (0.76, 0.44), (0.84, 0.58),
    (1.00, 0.58),
]  # fmt: skip


def draw_icon(size: int) -> Image.Image:
    """The icon at `size` pixels, drawn 4x larger and scaled down (smooth line)."""
    big = size * 4
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=(33, 37, 41, 255))
    margin = big * 0.08
    points = [(margin + x * (big - 2 * margin), y * big) for x, y in TRACE]
    draw.line(points, fill=(25, 214, 120, 255), width=max(4, big // 11), joint="curve")
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    draw_icon(64).save(STATIC / "favicon.png", optimize=True)
    draw_icon(48).save(STATIC / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
