"""Pictures for reports, drawn with matplotlib's object API (no pyplot state, no Django)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

# Standard ECG paper: 25 mm/s, 10 mm/mV, 1 mm minor and 5 mm major lines; a 1 mV, 200 ms
# calibration pulse in a 10 mm margin at the left.
PAPER_MM_PER_S = 25.0
PAPER_MM_PER_MV = 10.0
PULSE_MARGIN_MM = 10.0
LABEL_BAND_MM = 6.0
STRIP_DPI = 200
MINOR_GRID = "#f6c9c9"
MAJOR_GRID = "#e07a7a"


def paper_width_mm(seconds: float) -> float:
    """The printed width of a strip of ``seconds`` at 25 mm/s, its pulse margin included."""
    return PULSE_MARGIN_MM + seconds * PAPER_MM_PER_S


def strip_png(
    signal: np.ndarray,
    fs: float,
    *,
    start_s: float,
    beat_times_s: Sequence[float] = (),
    beat_labels: Sequence[str] = (),
    colours: dict[str, str] | None = None,
    highlight_s: float | None = None,
    title: str = "",
) -> bytes:
    """An ECG strip on standard ECG paper (25 mm/s, 10 mm/mV, 1 and 5 mm grid, a 1 mV calibration
    pulse), each beat's class above it. The PNG is ``paper_width_mm`` wide at ``STRIP_DPI``:
    placed at that width the scale is true.

    ``signal`` (mV) is the piece to draw, starting at ``start_s`` seconds into the recording.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    signal = np.asarray(signal, dtype=np.float32)
    seconds = max(signal.size / fs, 0.2)
    low, high = (float(signal.min()), float(signal.max())) if signal.size else (-0.5, 0.5)
    # Whole 5 mm squares from below the trace (and the pulse's 0 mV) to above it and the pulse.
    bottom = np.floor(min(low, 0.0) * 2) / 2 - 0.5
    top = np.ceil(max(high, 1.0) * 2) / 2 + 0.5
    width_mm = paper_width_mm(seconds)
    paper_mm = (top - bottom) * PAPER_MM_PER_MV
    height_mm = paper_mm + LABEL_BAND_MM + (5.0 if title else 0.0)
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=STRIP_DPI)
    FigureCanvasAgg(fig)
    # The axes span the paper exactly, so one data unit is a fixed number of millimetres.
    ax = fig.add_axes((0.0, 0.0, 1.0, paper_mm / height_mm))
    left_s = start_s - PULSE_MARGIN_MM / PAPER_MM_PER_S
    ax.set_xlim(left_s, start_s + seconds)
    ax.set_ylim(bottom, top)
    ax.set_axis_off()
    for step, colour, width in ((0.04, MINOR_GRID, 0.3), (0.2, MAJOR_GRID, 0.6)):
        for x in np.arange(np.ceil(left_s / step) * step, start_s + seconds + 1e-9, step):
            ax.axvline(x, color=colour, linewidth=width, zorder=0)
    for step, colour, width in ((0.1, MINOR_GRID, 0.3), (0.5, MAJOR_GRID, 0.6)):
        for y in np.arange(bottom, top + 1e-9, step):
            ax.axhline(y, color=colour, linewidth=width, zorder=0)
    # 1 mV for 200 ms, from 0 mV, in the margin
    p0 = left_s + 0.1
    ax.plot([p0 - 0.04, p0, p0, p0 + 0.2, p0 + 0.2, p0 + 0.24], [0, 0, 1, 1, 0, 0],
            color="black", linewidth=0.9)  # fmt: skip
    t = start_s + np.arange(signal.size) / fs
    ax.plot(t, signal, color="black", linewidth=0.7)
    if highlight_s is not None:
        ax.axvspan(highlight_s - 0.25, highlight_s + 0.45, color="#ffd24d", alpha=0.35, zorder=1)
    ax.text(start_s + seconds - 0.02, bottom + 0.05, "25 mm/s  10 mm/mV", ha="right",
            va="bottom", fontsize=6, color="#333333")  # fmt: skip
    label_ax = fig.add_axes((0.0, paper_mm / height_mm, 1.0, LABEL_BAND_MM / height_mm))
    label_ax.set_xlim(left_s, start_s + seconds)
    label_ax.set_ylim(0, 1)
    label_ax.set_axis_off()
    colours = colours or {}
    for when, label in zip(beat_times_s, beat_labels, strict=False):
        label_ax.text(when, 0.4, label, ha="center", va="center", fontsize=8,
                      color=colours.get(label, "#333333"), fontweight="bold")  # fmt: skip
    if title:
        fig.text(0.01, 1 - 2.5 / height_mm, title, fontsize=8, va="center")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
