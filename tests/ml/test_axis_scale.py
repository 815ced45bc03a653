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


def _styled_plot(
    values,
    *,
    fmt="{:g}",
    box=False,
    axis_line=True,
    gridlines=None,
    text_colour="black",
    size=12,
    title=None,
    px_per_tick=50,
):
    """A Pillow plot in another tool's look: ``box`` draws all four sides with inward ticks
    (MATLAB's default), ``axis_line=False`` with ``gridlines`` draws no vertical axis, only
    light horizontal gridlines (Excel's), ``title`` a rotated y title beside the labels.
    Labels use an ASCII hyphen; returns the image and the true mV per pixel."""
    font = ImageFont.truetype(LIBERATION, size)
    img = Image.new("RGB", (480, 400), "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 90, 460, 20, 360
    ys = [bottom - 20 - i * px_per_tick for i in range(len(values))]
    if gridlines is not None:
        for y in ys:
            draw.line([(left, y), (right, y)], fill=gridlines)
    if axis_line:
        draw.line([(left, top), (left, bottom)], fill="black")
    draw.line([(left, bottom), (right, bottom)], fill="black" if axis_line else gridlines)
    if box:
        draw.line([(left, top), (right, top)], fill="black")
        draw.line([(right, top), (right, bottom)], fill="black")
    for v, y in zip(values, ys, strict=True):
        if axis_line:
            draw.line([(left, y), (left + 5, y)], fill="black")  # inward
            if box:
                draw.line([(right - 5, y), (right, y)], fill="black")
        label = fmt.format(v)
        w = draw.textlength(label, font=font)
        draw.text((left - 7 - w, y - size * 0.6), label, fill=text_colour, font=font)
    if title:
        strip = Image.new("RGB", (int(draw.textlength(title, font=font)) + 4, size + 6), "white")
        ImageDraw.Draw(strip).text((2, 1), title, fill=text_colour, font=font)
        strip = strip.rotate(90, expand=True)
        img.paste(strip, (12, (top + bottom - strip.height) // 2))
    step = values[1] - values[0]
    return img, step / px_per_tick


def test_reads_a_matlab_like_box_with_inward_ticks_and_a_long_rotated_title():
    # Four sides, inward ticks on both, %g labels with an ASCII hyphen, and a y title long
    # enough to sit beside several labels (it once hid them).
    values = [-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1]
    image, truth = _styled_plot(values, box=True, title="Amplitude (mV)", size=11)
    scale = read_axis_scale(image)
    assert scale is not None
    assert scale.y.values == pytest.approx(tuple(values))
    assert scale.mv_per_px == pytest.approx(truth, rel=0.02)


def test_reads_an_excel_like_chart_with_gridlines_and_no_vertical_axis():
    # No vertical axis line: the light gridlines' shared left end marks the plot's edge;
    # grey labels with fixed decimals ("-1.00", "0.50") keep their faint decimal points.
    values = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]
    image, truth = _styled_plot(
        values,
        fmt="{:.2f}",
        axis_line=False,
        gridlines=(217, 217, 217),
        text_colour=(89, 89, 89),
        size=11,
    )
    scale = read_axis_scale(image)
    assert scale is not None
    assert scale.y.values == pytest.approx(tuple(values))
    assert scale.mv_per_px == pytest.approx(truth, rel=0.02)


@pytest.mark.parametrize("render", ["matlab_like_plot", "excel_like_chart"])
def test_the_benchmark_stand_ins_for_matlab_and_excel_are_read(render):
    from benchmarks import digitise_renderers as R
    from ecg.imaging.digitise import digitise

    t = np.arange(252) / 360.0
    beat = 1.3 * np.exp(-(((t - 0.25) / 0.012) ** 2)) + 0.3 * np.exp(-(((t - 0.5) / 0.04) ** 2))
    d = digitise(getattr(R, render)(beat - 0.2, 360.0).image)
    assert d.scale_source == "axis_labels"
    assert np.ptp(d.signal) == pytest.approx(np.ptp(beat), rel=0.02)
    assert d.fs == pytest.approx(360.0 * (d.trace_x.size / 252), rel=0.05)


def test_gridlines_without_readable_labels_are_refused():
    # Gridlines but the labels not in one step (0, 1, 2, 4, 8): no scale, not a guess.
    image, _ = _styled_plot(
        [0, 1, 2, 4, 8], axis_line=False, gridlines=(217, 217, 217), fmt="{:.2f}"
    )
    assert read_axis_scale(image) is None
    # Two gridlines only: too few to mark the plot's edge or to fit a step.
    image, _ = _styled_plot([0.0, 0.5], axis_line=False, gridlines=(217, 217, 217))
    assert read_axis_scale(image) is None


def _plot_png(x_values: np.ndarray, y: np.ndarray, size: tuple[float, float]) -> bytes:
    """plt.plot(x, y) with matplotlib's default axes and labels, as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=100)
    ax.plot(x_values, y)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _beat_plot(x_values: np.ndarray, beat: np.ndarray):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(_plot_png(x_values, beat, (5, 4)))).convert("RGB")


def _one_beat() -> np.ndarray:
    t = np.arange(252) / 360.0  # 0.7 s at 360 Hz, the R wave at 0.25 s
    return 1.3 * np.exp(-(((t - 0.25) / 0.012) ** 2)) + 0.3 * np.exp(-(((t - 0.5) / 0.04) ** 2))


def test_a_beat_plotted_against_sample_numbers_gets_the_assumed_span():
    """plt.plot(beat) numbers the x axis 0-250 (samples); read as milliseconds the beat
    would last 0.25 s, so the labels are not taken as time and the beat span is assumed."""
    from ecg.imaging.digitise import BEAT_SPAN_S, digitise

    d = digitise(_beat_plot(np.arange(252), _one_beat()))
    assert d.kind == "single_beat" and d.scale_source == "axis_labels"
    assert d.fs == pytest.approx(d.trace_x.size / BEAT_SPAN_S, rel=0.01)
    assert any("sample numbers" in note for note in d.notes)
    # The note is kept apart by its kind too, and stays in the notes where it stood.
    assert len(d.x_label_notes) == 1 and "sample numbers" in d.x_label_notes[0]
    assert d.x_label_notes[0] in d.notes


@pytest.mark.parametrize("unit, scale", [("ms", 1000.0), ("s", 1.0)])
def test_a_beat_plotted_in_milliseconds_or_seconds_keeps_its_read_time_scale(unit, scale):
    from ecg.imaging.digitise import digitise

    d = digitise(_beat_plot(np.arange(252) / 360.0 * scale, _one_beat()))
    assert d.scale_source == "axis_labels"
    assert d.fs == pytest.approx(360.0 * (d.trace_x.size / 252), rel=0.05)
    assert not any("sample numbers" in note for note in d.notes)
    assert d.x_label_notes == ()


@pytest.mark.parametrize(
    "scale, seconds, time_source",
    [
        (360.0, 10.0, "assumed"),  # sample numbers 0-3600: read as ms the strip lasts 3.6 s
        (1000.0, 10.0, "x_labels_ms"),  # milliseconds, read as such
        (1.0, 10.0, "x_labels"),  # seconds
    ],
)
def test_a_strip_plotted_against_sample_numbers_gets_the_standard_length(
    scale, seconds, time_source
):
    """plt.plot(signal) numbers a 10-s strip at 360 Hz 0-3600: read as milliseconds its 12
    beats would come at 200 a minute, at the standard 10 s at 72; the recording keeps 10 s and
    its notes say why. A strip labelled in milliseconds or seconds keeps its read time."""
    from ecg.io.recording_image import parse_image
    from tests.ml.conftest import synthetic_ecg

    signal, _, _ = synthetic_ecg(n_beats=14, seed=2)
    strip = signal[:3600]
    parsed = parse_image("strip.png", _plot_png(np.arange(3600) / 360.0 * scale, strip, (16, 4)))
    duration = parsed.signals.shape[1] / parsed.fs
    assert duration == pytest.approx(seconds, rel=0.03)
    from ecg.io.recording_image import TIME_NOTES

    assert TIME_NOTES[time_source] in parsed.notes
    assert any("sample numbers" in note for note in parsed.notes) == (time_source == "assumed")


def test_a_strip_recording_repeats_the_digitisers_x_label_notes_by_kind_not_by_wording(
    monkeypatch,
):
    """The recording's notes take the digitiser's notes of the x-label kind, whatever their
    wording, and no other digitiser note."""
    import dataclasses

    from ecg.imaging import ecg_check
    from ecg.io import recording_image
    from tests.ml.conftest import synthetic_ecg

    signal, _, _ = synthetic_ecg(n_beats=14, seed=2)
    content = _plot_png(np.arange(3600), signal[:3600], (16, 4))
    real = ecg_check.check_ecg_image

    def reworded(image, **kwargs):
        verdict = real(image, **kwargs)
        d = verdict.digitised
        assert d.x_label_notes  # the sample numbers were not taken as milliseconds
        d = dataclasses.replace(
            d,
            notes=("x labels not taken: an unrelated note", "the x axis was not read as time"),
            x_label_notes=("the x axis was not read as time",),
        )
        return dataclasses.replace(verdict, digitised=d)

    monkeypatch.setattr(recording_image, "check_ecg_image", reworded)
    parsed = recording_image.parse_image("strip.png", content)
    assert "the x axis was not read as time" in parsed.notes
    assert not any("unrelated" in note for note in parsed.notes)
