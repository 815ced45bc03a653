"""Pictures for reports, drawn with matplotlib's object API (no pyplot state, no Django)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


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
    """An ECG strip (mV against seconds) on ECG-paper-like grid, each beat's class above it.

    ``signal`` is the piece to draw, starting at ``start_s`` seconds into the recording.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    signal = np.asarray(signal, dtype=np.float32)
    t = start_s + np.arange(signal.size) / fs
    fig = Figure(figsize=(10, 2.4), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(t, signal, color="black", linewidth=0.7)
    ax.set_xlim(t[0] if t.size else start_s, t[-1] if t.size else start_s + 1)
    low, high = (float(signal.min()), float(signal.max())) if signal.size else (-1.0, 1.0)
    pad = 0.25 * max(high - low, 0.5)
    ax.set_ylim(low - pad, high + pad)
    ax.set_xticks(np.arange(np.ceil(start_s), t[-1] + 1e-9 if t.size else start_s, 1.0))
    ax.grid(True, color="#f4b6b6", linewidth=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mV")
    colours = colours or {}
    for when, label in zip(beat_times_s, beat_labels, strict=False):
        ax.text(
            when,
            high + 0.1 * pad,
            label,
            ha="center",
            fontsize=8,
            color=colours.get(label, "#333333"),
            fontweight="bold",
        )
    if highlight_s is not None:
        ax.axvspan(highlight_s - 0.25, highlight_s + 0.45, color="#ffd24d", alpha=0.35)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
