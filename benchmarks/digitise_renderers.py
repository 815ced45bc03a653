"""Independent ways to draw a signal as an image, and non-ECG images, for the digitiser's
benchmark and tests (matplotlib styles, Pillow drawings, min-max 64x64 plots, ECG paper).

Every renderer takes a signal in mV and its sampling rate and returns a PIL image and, for
ECG paper, the true pixels per millimetre. None of them is the digitiser's own code.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LIBERATION_SANS = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
CARLITO = "/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf"


@dataclass(frozen=True)
class Drawn:
    image: Image.Image
    px_per_mm: float | None = None


def _figure_to_image(fig) -> Image.Image:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def mpl_plot(
    x: np.ndarray,
    fs: float,
    *,
    axes: bool = True,
    color: str = "C0",
    linewidth: float = 1.5,
    dark: bool = False,
    size: tuple[float, float] = (6.4, 4.8),
    dpi: int = 100,
    grid: str | None = None,
) -> Drawn:
    """matplotlib line plot (default style: axes, ticks, labels, blue line); ``grid``:
    "major" gridlines at the ticks, "both" with minor ticks and their gridlines too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style = "dark_background" if dark else "default"
    with plt.style.context(style):
        fig = plt.figure(figsize=size, dpi=dpi)
        ax = fig.add_subplot(111)
        t = np.arange(len(x)) / fs
        ax.plot(t, x, color=color, linewidth=linewidth)
        if grid == "both":
            ax.minorticks_on()
            ax.grid(True, which="major", linewidth=0.8)
            ax.grid(True, which="minor", linewidth=0.3, alpha=0.5)
        elif grid == "major":
            ax.grid(True)
        if axes:
            ax.set_xlabel("time (s)")
            ax.set_ylabel("mV")
            ax.set_title("ECG")
        else:
            ax.axis("off")
        return Drawn(_figure_to_image(fig))


def pillow_line(
    x: np.ndarray,
    *,
    width: int,
    height: int,
    line: int = 2,
    fg=(0, 0, 0),
    bg=(255, 255, 255),
    margin: float = 0.08,
) -> Drawn:
    """A polyline scaled to the image (min-max with a margin), drawn with Pillow."""
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    n = len(x)
    lo, hi = float(np.min(x)), float(np.max(x))
    span = (hi - lo) or 1.0
    px = np.linspace(margin * width, (1 - margin) * width - 1, n)
    py = (1 - margin) * height - 1 - (x - lo) / span * (1 - 2 * margin) * (height - 1)
    draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=fg, width=line)
    return Drawn(image)


def minmax_64(x: np.ndarray) -> Drawn:
    """As the original student project drew beats: 64x64, black line on white, the beat's own
    min and max at the image edges."""
    return pillow_line(x, width=64, height=64, line=1, margin=0.0)


def ecg_paper(
    x: np.ndarray,
    fs: float,
    *,
    px_per_mm: float = 8.0,
    margin_mm: float = 5.0,
    height_mm: float | None = None,
    line: int = 2,
    minor: tuple[int, int, int] = (250, 200, 200),
    major: tuple[int, int, int] = (235, 120, 120),
    paper: tuple[int, int, int] = (255, 252, 250),
) -> Drawn:
    """ECG paper: pink 1 mm and red 5 mm lines (``minor`` / ``major``: other paper colours),
    25 mm/s, 10 mm/mV, black trace."""
    duration_mm = len(x) / fs * 25.0
    amp_mm = (np.max(x) - np.min(x)) * 10.0
    if height_mm is None:
        height_mm = amp_mm + 2 * margin_mm
    w = int(round((duration_mm + 2 * margin_mm) * px_per_mm))
    h = int(round(height_mm * px_per_mm))
    image, draw = paper_sheet(w, h, px_per_mm, minor=minor, major=major, paper=paper)
    px = margin_mm * px_per_mm + np.arange(len(x)) / fs * 25.0 * px_per_mm
    mid = (np.max(x) + np.min(x)) / 2
    py = h / 2 - (x - mid) * 10.0 * px_per_mm
    draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=(0, 0, 0), width=line)
    return Drawn(image, px_per_mm)


def paper_sheet(w: int, h: int, px_per_mm: float, *, minor, major, paper):
    """A blank sheet of ECG paper: 1 mm ``minor`` and 5 mm ``major`` lines."""
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    for k in range(int(w / px_per_mm) + 1):
        pos = k * px_per_mm
        draw.line([(pos, 0), (pos, h)], fill=major if k % 5 == 0 else minor, width=1)
    for k in range(int(h / px_per_mm) + 1):
        pos = k * px_per_mm
        draw.line([(0, pos), (w, pos)], fill=major if k % 5 == 0 else minor, width=1)
    return image, draw


def wfdb_plot(x: np.ndarray, fs: float, *, size: tuple[float, float] = (6.4, 4.8)) -> Drawn:
    """wfdb-python's own plot (``wfdb.plot_items`` with ``ecg_grids="all"``), the field's
    library: a blue line over grey 0.2 s / 0.5 mV major and 0.04 s / 0.1 mV minor gridlines
    in data units (so not square millimetres), axes numbered in samples and mV. A real third
    party's drawing, not a stand-in."""
    import matplotlib

    matplotlib.use("Agg")
    import wfdb

    fig = wfdb.plot_items(
        signal=np.asarray(x, dtype=np.float64)[:, None],
        fs=fs,
        sig_name=["MLII"],
        sig_units=["mV"],
        ecg_grids="all",
        figsize=size,
        return_fig=True,
    )
    return Drawn(_figure_to_image(fig))


# Paper that is not pink: grey lines (printers that print the grid in black ink), blue lines.
GREY_PAPER = {"minor": (218, 218, 218), "major": (150, 150, 150), "paper": (255, 255, 255)}
BLUE_PAPER = {"minor": (205, 222, 245), "major": (110, 150, 215), "paper": (252, 253, 255)}
# Pink paper drawn with every line alike (no heavier 5 mm line), as simple generators draw it.
EQUAL_LINES_PAPER = {"minor": (240, 170, 170), "major": (240, 170, 170)}


def greyscale(drawn: Drawn) -> Drawn:
    """A greyscale scan or photocopy: the colour gone, pink lines turned light grey."""
    return Drawn(drawn.image.convert("L").convert("RGB"), drawn.px_per_mm)


def jpeg(drawn: Drawn, quality: int = 60) -> Drawn:
    buffer = io.BytesIO()
    drawn.image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Drawn(Image.open(buffer).convert("RGB"), drawn.px_per_mm)


def rotated(drawn: Drawn, degrees: float) -> Drawn:
    """Rotated about the centre (counter-clockwise), corners filled with the background."""
    rgb = np.asarray(drawn.image.convert("RGB"))
    fill = tuple(int(v) for v in np.median(rgb.reshape(-1, 3), axis=0))
    return Drawn(
        drawn.image.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=fill),
        drawn.px_per_mm,
    )


# --- images that are not ECGs -------------------------------------------------------------


def photo_like(rng: np.random.Generator, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A textured 'photo': smooth colour gradients, blobs and noise."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack(
        [np.sin(xx * rng.uniform(2, 9) + rng.uniform(0, 6)) for _ in range(3)], axis=2
    ) * 60 + rng.uniform(60, 190, 3)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(5, 25)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        r = rng.integers(10, 120)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=colour)
    arr = np.asarray(image, dtype=np.float32) + rng.normal(0, rng.uniform(3, 25), (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def noise_image(rng: np.random.Generator, size: tuple[int, int] = (320, 240)) -> Image.Image:
    w, h = size
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


_WORDS = "the patient was seen in clinic and reported no chest pain heart rate normal".split()


def document(rng: np.random.Generator, size: tuple[int, int] = (600, 800)) -> Image.Image:
    """A page of text lines."""
    w, h = size
    image = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    y = 30
    while y < h - 30:
        words = rng.choice(_WORDS, size=rng.integers(6, 14))
        draw.text((30, y), " ".join(words), fill=(0, 0, 0), font=font)
        y += int(rng.integers(14, 22))
    return image


def screenshot(rng: np.random.Generator, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A web-page-like screenshot: a header bar, boxes, buttons and text."""
    w, h = size
    image = Image.new("RGB", (w, h), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.rectangle([0, 0, w, 50], fill=tuple(int(c) for c in rng.integers(0, 120, 3)))
    draw.text((20, 18), "Example site  Home  About  Contact", fill=(255, 255, 255), font=font)
    for _ in range(rng.integers(3, 7)):
        x0, y0 = int(rng.integers(10, w // 2)), int(rng.integers(60, h - 120))
        x1, y1 = x0 + int(rng.integers(120, w // 2)), y0 + int(rng.integers(40, 110))
        draw.rectangle([x0, y0, x1, y1], outline=(180, 180, 180), fill=(255, 255, 255))
        for k in range(3):
            words = rng.choice(_WORDS, size=5)
            draw.text((x0 + 8, y0 + 8 + 12 * k), " ".join(words), fill=(40, 40, 40), font=font)
    bx, by = int(rng.integers(20, w - 140)), int(rng.integers(h - 90, h - 40))
    draw.rectangle([bx, by, bx + 110, by + 30], fill=(30, 110, 220))
    draw.text((bx + 20, by + 10), "Sign up", fill=(255, 255, 255), font=font)
    return image


def sine_image(cycles: float = 3.0, width: int = 600, height: int = 300) -> Image.Image:
    t = np.linspace(0, 1, 600)
    return pillow_line(np.sin(2 * np.pi * cycles * t), width=width, height=height).image


def random_walk_image(rng: np.random.Generator, width: int = 600, height: int = 300):
    return pillow_line(np.cumsum(rng.normal(size=600)), width=width, height=height).image


def pillow_axes_plot(x: np.ndarray, fs: float, *, px_per_mv: float = 120.0) -> Drawn:
    """A plot drawn with Pillow: Liberation Sans tick labels ("−0.5", "1.0"), inward ticks
    every 0.5 mV and 0.1 s -- a stand-in for plotting tools the project does not have."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", 14)
    lo, hi = float(np.floor(x.min() * 2) / 2), float(np.ceil(x.max() * 2) / 2)
    px_per_s = 600.0
    left, top = 70, 20
    height = int(round((hi - lo) * px_per_mv))
    width = int(round(len(x) / fs * px_per_s))
    img = Image.new("RGB", (left + width + 30, top + height + 50), "white")
    draw = ImageDraw.Draw(img)
    bottom = top + height
    draw.line([(left, top), (left, bottom)], fill="black")
    draw.line([(left, bottom), (left + width, bottom)], fill="black")
    for v in np.arange(lo, hi + 1e-9, 0.5):
        y = bottom - (v - lo) * px_per_mv
        draw.line([(left, y), (left + 6, y)], fill="black")
        text = f"{v:.1f}".replace("-", "\u2212")
        draw.text((left - 8 - draw.textlength(text, font=font), y - 9), text, "black", font=font)
    for s in np.arange(0, len(x) / fs + 1e-9, 0.1):
        px = left + s * px_per_s
        draw.line([(px, bottom), (px, bottom - 6)], fill="black")
        text = f"{s:.1f}"
        draw.text((px - draw.textlength(text, font=font) / 2, bottom + 6), text, "black", font=font)
    t = np.arange(len(x)) / fs
    points = list(zip(left + t * px_per_s, bottom - (x - lo) * px_per_mv, strict=True))
    draw.line(points, fill=(0, 0, 160), width=2)
    return Drawn(img)


def _liberation_or(preferred: str) -> str:
    """``preferred`` font family if fontconfig lists it (Carlito, Excel's Calibri metric
    twin), else Liberation Sans (Arial's): both local, nothing fetched. The font files are
    added to matplotlib's font list (its cache may predate them)."""
    import subprocess

    from matplotlib import font_manager

    for path in (LIBERATION_SANS, CARLITO):
        if Path(path).exists():
            font_manager.fontManager.addfont(path)

    try:
        listed = subprocess.run(
            ["fc-list", ":", "family"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    return preferred if preferred.lower() in listed.lower() else "Liberation Sans"


def matlab_like_plot(x: np.ndarray, fs: float, *, size=(5.6, 4.2), dpi: int = 100) -> Drawn:
    """A STAND-IN for a MATLAB ``plot`` (MATLAB is not available here), drawn with matplotlib
    in MATLAB's default look: a box on all four sides, ticks inward on all four, light grey
    grid lines, Liberation Sans labels in %g form ("-0.5", "0", "1"), the blue line
    [0 0.447 0.741] half a point wide. Not MATLAB's own rasteriser."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    rc = {
        "font.family": _liberation_or("Liberation Sans"),
        "font.size": 10,
        "axes.unicode_minus": False,
    }
    with plt.style.context("default"), plt.rc_context(rc):
        fig = plt.figure(figsize=size, dpi=dpi)
        ax = fig.add_subplot(111)
        t = np.arange(len(x)) / fs
        ax.plot(t, x, color=(0, 0.447, 0.741), linewidth=0.5 * 72 / dpi * 2)
        ax.set_xlim(t[0], t[-1])
        ax.grid(True, color=(0.15, 0.15, 0.15), alpha=0.15, linewidth=0.5)
        ax.tick_params(direction="in", top=True, right=True, colors=(0.15, 0.15, 0.15))
        for spine in ax.spines.values():
            spine.set_color((0.15, 0.15, 0.15))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.set_xlabel("Time (s)")
        ax.set_ylabel("Amplitude (mV)")
        return Drawn(_figure_to_image(fig))


def excel_like_chart(x: np.ndarray, fs: float, *, size=(6.0, 3.6), dpi: int = 96) -> Drawn:
    """A STAND-IN for an Excel line chart (Excel is not available here), drawn with
    matplotlib in Excel's default look: horizontal major gridlines only (#D9D9D9), no
    vertical axis line, a grey horizontal axis line, no tick marks, value labels with fixed
    decimals ("0.50", "-1.00"), Carlito if fontconfig lists it else Liberation Sans, the blue
    #4472C4 line 2.25 pt wide, a light grey chart-area border. Not Excel's own rasteriser."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    grey = "#D9D9D9"
    rc = {"font.family": _liberation_or("Carlito"), "font.size": 9, "axes.unicode_minus": False}
    with plt.style.context("default"), plt.rc_context(rc):
        fig = plt.figure(figsize=size, dpi=dpi, edgecolor=grey, linewidth=1)
        ax = fig.add_subplot(111)
        t = np.arange(len(x)) / fs
        ax.plot(t, x, color="#4472C4", linewidth=2.25)
        ax.set_xlim(t[0], t[-1])
        ax.yaxis.grid(True, color=grey, linewidth=0.75)
        ax.set_axisbelow(True)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(grey)
        ax.tick_params(length=0, colors="#595959")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%.2f"))
        fig.suptitle("Chart Title", color="#595959", fontsize=12)
        return Drawn(_figure_to_image(fig))
