"""Printed multi-lead ECGs for the layout benchmark and tests (issue 19): rows of leads side by
side on ECG paper, lead names, separator marks and a rhythm strip, drawn with Pillow on the
digitise renderers' paper (``digitise_renderers``). None of it is the app's own code.
"""

from __future__ import annotations

import numpy as np
from PIL import ImageFont

from benchmarks.digitise_renderers import GREY_PAPER, LIBERATION_SANS, Drawn, paper_sheet

# Printed multi-lead layouts (issue 19): rows of leads side by side, each showing its share of
# the same 10 s, and the lead of a full-width rhythm strip below them (None: no strip).
TWELVE_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
PRINT_LAYOUTS: dict[str, tuple[tuple[tuple[str, ...], ...], str | None]] = {
    "3x4+rhythm": (
        (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
        "II",
    ),
    "6x2": (tuple((a, b) for a, b in zip(TWELVE_LEADS[:6], TWELVE_LEADS[6:], strict=True)), None),
    "12x1": (tuple((lead,) for lead in TWELVE_LEADS), None),
    "2x2+rhythm": ((("II", "III"), ("V1", "V5")), "II"),
    "3x4": (
        (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
        None,
    ),
}


def multi_lead_paper(
    leads: dict[str, np.ndarray],
    fs: float,
    layout: str = "3x4+rhythm",
    *,
    rows: tuple[tuple[str, ...], ...] | None = None,
    rhythm: str | None = None,
    duration_s: float = 10.0,
    px_per_mm: float = 8.0,
    row_mm: float = 40.0,
    margin_mm: float = 10.0,
    separator: str = "tick",
    labels: bool = True,
    line: int = 2,
    paper: str = "pink",
) -> Drawn:
    """A printed multi-lead ECG (``PRINT_LAYOUTS``, or ``rows`` and ``rhythm`` given): each row's
    leads side by side, each over its share of the same ``duration_s`` (25 mm/s, 10 mm/mV,
    baseline at the middle of a ``row_mm`` row, each lead's median removed; traces of tall
    leads may reach into the next row, as on paper), a lead name written above the start of
    each segment, a separator between neighbouring leads (``"tick"``: a 6 mm vertical mark, as
    printers draw; ``"gap"``: 0.04 s left blank; ``"none"``: the lines just meet), and a
    full-width rhythm strip of lead ``rhythm`` below. ``paper`` "pink" or "grey"."""
    grid, strip = PRINT_LAYOUTS[layout] if rows is None else (rows, rhythm)
    all_rows = [*grid, (strip,)] if strip else list(grid)
    colours = {"pink": {}, "grey": GREY_PAPER}[paper]
    w = int(round((duration_s * 25.0 + 2 * margin_mm) * px_per_mm))
    h = int(round((len(all_rows) * row_mm + 2 * margin_mm) * px_per_mm))
    image, draw = paper_sheet(
        w,
        h,
        px_per_mm,
        minor=colours.get("minor", (250, 200, 200)),
        major=colours.get("major", (235, 120, 120)),
        paper=colours.get("paper", (255, 252, 250)),
    )
    font = ImageFont.truetype(LIBERATION_SANS, int(round(3.5 * px_per_mm)))
    n = int(round(duration_s * fs))
    for r, names in enumerate(all_rows):
        base = (margin_mm + (r + 0.5) * row_mm) * px_per_mm
        share = n // len(names)
        for k, name in enumerate(names):
            x = np.asarray(leads[name], dtype=np.float64)[:n]
            x = x - np.median(x)
            lo, hi = k * share, (k + 1) * share
            if separator == "gap" and k + 1 < len(names):
                hi -= int(round(0.04 * fs))
            t = np.arange(lo, hi) / fs
            px = (margin_mm + t * 25.0) * px_per_mm
            py = base - x[lo:hi] * 10.0 * px_per_mm
            draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=(0, 0, 0), width=line)
            x0 = (margin_mm + lo / fs * 25.0) * px_per_mm
            if labels:
                draw.text((x0 + px_per_mm, base - 9 * px_per_mm), name, fill=(0, 0, 0), font=font)
            if separator == "tick" and k:
                half = 3 * px_per_mm
                draw.line([(x0, base - half), (x0, base + half)], fill=(0, 0, 0), width=line)
    return Drawn(image, px_per_mm)
