"""Reading a plot's scale from its axis tick labels (ecg.imaging.axis_scale, issue 19)."""

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ecg.imaging.axis_scale import read_axis_scale

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LIBERATION = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"


def _matplotlib_plot(ylim, *, labels=True, yticks=None):
    t = np.linspace(0, 0.8, 300)
    y = 1.2 * np.exp(-(((t - 0.4) / 0.02) ** 2)) - 0.3
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(t, y)
    ax.set_ylim(*ylim)
    if yticks is not None:
        ax.set_yticks(yticks)
    if not labels:
        ax.set_yticklabels([])
        ax.set_xticklabels([])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    # Ground truth: the axes' height in pixels spans the y limits.
    mv_per_px = (ylim[1] - ylim[0]) / (400 * ax.get_position().height)
    plt.close(fig)
    return Image.open(buf).convert("RGB"), mv_per_px


def _pillow_plot(values_mv, px_per_tick=60, fmt="{:.1f}"):
    """A Pillow-drawn plot: Liberation Sans labels, inward ticks every 0.5 mV."""
    font = ImageFont.truetype(LIBERATION, 13)
    img = Image.new("RGB", (420, 360), "white")
    draw = ImageDraw.Draw(img)
    left, bottom, top = 70, 320, 20
    draw.line([(left, top), (left, bottom)], fill="black", width=1)
    draw.line([(left, bottom), (400, bottom)], fill="black", width=1)
    for i, v in enumerate(values_mv):
        y = bottom - 20 - i * px_per_tick
        draw.line([(left, y), (left + 5, y)], fill="black")
        text = fmt.format(v).replace("-", "\u2212")
        w = draw.textlength(text, font=font)
        draw.text((left - 6 - w, y - 8), text, fill="black", font=font)
    return img, 0.5 / px_per_tick


@pytest.mark.parametrize("ylim", [(-0.5, 1.5), (-2.0, 2.0), (-0.4, 1.3)])
def test_reads_matplotlib_axes(ylim):
    image, truth = _matplotlib_plot(ylim)
    scale = read_axis_scale(image)
    assert scale is not None
    assert scale.mv_per_px == pytest.approx(truth, rel=0.02)
    assert min(scale.y.values) < 0  # the Unicode minus matplotlib draws is read
    assert scale.x is not None and scale.x.step == pytest.approx(0.1)


def test_reads_pillow_liberation_axes_with_minus_and_decimals():
    image, truth = _pillow_plot([-1.0, -0.5, 0.0, 0.5, 1.0])
    scale = read_axis_scale(image)
    assert scale is not None
    assert scale.y.values == pytest.approx((-1.0, -0.5, 0.0, 0.5, 1.0))
    assert scale.y.step == pytest.approx(0.5)
    assert scale.mv_per_px == pytest.approx(truth, rel=0.02)
    assert scale.x is None


def test_none_without_labels():
    image, _ = _matplotlib_plot((-0.5, 1.5), labels=False)
    assert read_axis_scale(image) is None


def test_none_for_a_bare_trace():
    img = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(img).line([(0, 100), (140, 100), (150, 20), (160, 150), (300, 100)], "black")
    assert read_axis_scale(img) is None


def test_none_for_non_linear_labels():
    # Labels 0, 1, 2, 4, 8 evenly spaced: a log-like axis is not a linear scale.
    font = ImageFont.truetype(LIBERATION, 13)
    img = Image.new("RGB", (420, 360), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(70, 20), (70, 320)], fill="black")
    for i, v in enumerate(["0", "1", "2", "4", "8"]):
        y = 300 - i * 60
        draw.line([(70, y), (75, y)], fill="black")
        draw.text((70 - 6 - draw.textlength(v, font=font), y - 8), v, fill="black", font=font)
    assert read_axis_scale(img) is None


def test_none_for_implausible_units():
    # ADC counts: labels in the hundreds give a beat of hundreds of "mV".
    image, _ = _pillow_plot([-400, -200, 0, 200, 400], fmt="{:.0f}")
    scale = read_axis_scale(image)
    assert scale is not None and scale.y.step == pytest.approx(200.0)
    assert read_axis_scale(image, trace_span_px=150) is None
    plausible, _ = _pillow_plot([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert read_axis_scale(plausible, trace_span_px=150) is not None


def test_a_matplotlib_strip_on_the_recording_upload_keeps_its_read_mv_scale():
    from benchmarks import digitise_renderers as R
    from ecg.io.recording_image import parse_image
    from tests.ml.conftest import synthetic_ecg

    signal, _, _ = synthetic_ecg(n_beats=12, seed=2)
    strip = signal[:2520]  # 7 s at 360 Hz
    buf = io.BytesIO()
    R.mpl_plot(strip, 360.0, size=(12.0, 4.0)).image.save(buf, format="PNG")
    parsed = parse_image("strip.png", buf.getvalue())
    assert any("axis labels" in note for note in parsed.notes)
    # In mV as read, not scaled again to the assumed 2 mV.
    assert np.ptp(parsed.signals[0]) == pytest.approx(np.ptp(strip), rel=0.15)
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(7.0, rel=0.05)
