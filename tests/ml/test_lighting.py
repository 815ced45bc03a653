"""Uneven light evened out before an image is read (issue 19, photos of ECG paper):
``ecg.imaging.lighting`` on synthetic strips drawn by the benchmark's renderers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from benchmarks import digitise_renderers as R
from ecg.imaging import lighting as L
from ecg.imaging.ecg_check import check_ecg_image
from ecg.io.recording_base import RecordingFormatError
from ecg.io.recording_image import parse_image
from tests.recordings.synth import long_ecg

FS = 360.0


@pytest.fixture(scope="module")
def strip() -> np.ndarray:
    return long_ecg(FS, 10.0, rr_s=0.8)


def shadowed(image: Image.Image, strength: float, *, share: float = 0.45) -> Image.Image:
    """``image`` with the left ``share`` of it in a shadow ``strength`` darker, its edge a
    little soft, under warm light (as a phone photo of a printout), saved as JPEG."""
    a = np.asarray(image.convert("RGB"), np.float32)
    h, w = a.shape[:2]
    field = np.ones((h, w), np.float32)
    field[:, : int(share * w)] = 1 - strength
    soft = Image.fromarray((field * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(6))
    out = a * (np.asarray(soft, np.float32) / 255)[..., None] * np.array([1.0, 0.96, 0.9])
    buffer = io.BytesIO()
    Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "draw",
    [
        lambda x: R.ecg_paper(x, FS, px_per_mm=10.0),
        lambda x: R.ecg_paper(x, FS, **R.GREY_PAPER),
        lambda x: R.pillow_line(x, width=1600, height=400),
        lambda x: R.mpl_plot(x, FS, size=(16, 4)),
        lambda x: R.mpl_plot(x[:252], FS, dark=True),
        lambda x: R.minmax_64(x[:252]),
    ],
    ids=["pink paper", "grey paper", "bare line", "matplotlib axes", "dark plot", "64x64"],
)
def test_evenly_lit_images_are_returned_as_they_are(strip, draw):
    image = draw(strip).image.convert("RGB")
    lit = L.even_lighting(image)
    assert lit.image is image and not lit.evened and lit.notes == []
    if np.median(np.asarray(image)) > L.MIN_PAPER_BRIGHTNESS:  # light paper (not the dark plot)
        assert lit.spread < 10  # the trace, grid and labels are not taken for the light


def test_a_shadow_across_ecg_paper_is_evened_and_the_strip_read_at_its_grid(strip):
    photo = shadowed(R.ecg_paper(strip, FS, px_per_mm=10.0).image, 0.45)
    # the defect: read without the evening, the shadow's paper is ink
    assert check_ecg_image(photo).status != "ecg"
    lit = L.even_lighting(photo)
    assert lit.evened and lit.spread > L.MIN_SPREAD and lit.notes == [L.NOTE]
    verdict = check_ecg_image(lit.image)
    assert verdict.status == "ecg", verdict.reason
    d = verdict.digitised
    assert d.scale_source == "grid" and d.duration_s == pytest.approx(10.0, rel=0.03)
    assert np.ptp(d.signal) == pytest.approx(np.ptp(strip), rel=0.1)
    # the paper in and out of the shadow is one colour again (within the JPEG's noise)
    paper = np.asarray(lit.image, np.float32)[2:6, :, :].mean(axis=-1)
    assert np.percentile(paper, 90) - np.percentile(paper[:, : int(0.3 * paper.shape[1])], 90) < 12


def test_the_recording_upload_reads_a_shadowed_strip_and_says_so(strip):
    photo = shadowed(R.ecg_paper(strip, FS, px_per_mm=8.0).image, 0.4)
    parsed = parse_image("photo.jpg", jpeg_bytes(photo))
    assert parsed.notes[0] == L.NOTE
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(10.0, rel=0.03)


def test_light_trace_on_dark_paper_is_left_alone(strip):
    """A white-on-black plot with a light gradient: not light paper, nothing evened."""
    image = R.pillow_line(strip, width=1200, height=400, fg=(255, 255, 255), bg=(0, 0, 0)).image
    a = np.asarray(image, np.float32) + np.linspace(0, 90, image.size[0])[None, :, None]
    dark = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    lit = L.even_lighting(dark)
    assert lit.image is dark and not lit.evened


def test_a_colour_gradient_is_not_taken_for_uneven_light():
    """Light changes how bright paper is, not its hue: a pink-to-blue gradient is left as it is
    (and so refused as before, not flattened into blank paper)."""
    t = np.linspace(0, 1, 600)[None, :, None]
    pink, blue = np.array([250, 190, 200]), np.array([100, 140, 240])
    gradient = Image.fromarray(np.repeat(pink * (1 - t) + blue * t, 300, 0).astype(np.uint8))
    lit = L.even_lighting(gradient)
    assert lit.spread > L.MIN_SPREAD and not lit.evened and lit.image is gradient


def on_desk(image: Image.Image, colour: tuple[int, int, int], margin: int) -> Image.Image:
    """``image`` laid on a grainy desk of ``colour``, ``margin`` pixels of it on every side."""
    w, h = image.size
    rng = np.random.default_rng(0)
    desk = np.array(colour, np.float32) + rng.normal(0, 6, (h + 2 * margin, w + 2 * margin, 1))
    photo = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8))
    photo.paste(image.convert("RGB"), (margin, margin))
    return photo


@pytest.mark.parametrize("colour", [(120, 85, 60), (60, 60, 60)], ids=["wood", "dark table"])
def test_a_photo_showing_the_desk_around_the_page_is_refused_with_a_request_to_crop(strip, colour):
    """Red-brown wood was taken for grid lines (a strip read at 17 s for 10), a dark table for
    ink: the recording upload refuses such a photo and asks for it cropped to the paper."""
    photo = jpeg_bytes(on_desk(R.ecg_paper(strip, FS, px_per_mm=8.0).image, colour, 60))
    lit = L.even_lighting(Image.open(io.BytesIO(photo)).convert("RGB"))
    assert lit.surroundings > 0.2 and L.crop_refusal(lit) == L.NOT_CROPPED
    with pytest.raises(RecordingFormatError, match="crop the photo to the paper"):
        parse_image("desk.jpg", photo)


def test_a_light_grey_table_reads_as_paper_in_shade_and_is_not_refused(strip):
    """Grey as light as a shadow on the page is not told from one: evened, read, not refused."""
    photo = on_desk(R.ecg_paper(strip, FS, px_per_mm=8.0).image, (200, 200, 205), 60)
    lit = L.even_lighting(photo)
    assert lit.evened and L.crop_refusal(lit) is None
    assert check_ecg_image(lit.image).digitised.duration_s == pytest.approx(10.0, rel=0.03)


@pytest.mark.parametrize(
    "draw",
    [
        lambda x: R.mpl_plot(x, FS, dark=True, size=(16, 4)),
        lambda x: R.pillow_line(x, width=1600, height=400, fg=(255, 255, 255), bg=(0, 0, 0)),
        lambda x: R.wfdb_plot(x, FS, size=(16, 4)),
        lambda x: R.excel_like_chart(x, FS),
    ],
    ids=["dark matplotlib strip", "white on black", "wfdb", "excel-like"],
)
def test_plots_with_dark_or_framed_backgrounds_are_not_taken_for_a_desk(strip, draw):
    lit = L.even_lighting(draw(strip).image.convert("RGB"))
    assert lit.surroundings == 0 and L.crop_refusal(lit) is None


def under_light(image: Image.Image, cast: tuple[float, float, float]) -> Image.Image:
    """``image`` under an even light of colour ``cast`` (R, G, B gains), saved as JPEG."""
    a = np.asarray(image.convert("RGB"), np.float32) * np.array(cast, np.float32)
    return Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)))))


WARM, WARM_STRONG = (1.0, 0.97, 0.9), (1.0, 0.92, 0.78)


@pytest.mark.parametrize("cast", [WARM, WARM_STRONG], ids=["warm", "strong warm"])
def test_a_warm_cast_on_grey_paper_is_taken_out_and_the_grid_read(strip, cast, monkeypatch):
    """A lamp's cast gives white paper the red excess of a pink grid line: the page read as
    "red" all over and its grey grid not read, or read at a wrong scale as a pink one (the
    defect, without the step)."""
    photo = under_light(R.ecg_paper(strip, FS, **R.GREY_PAPER).image, cast).convert("RGB")
    lit = L.even_lighting(photo)
    assert lit.cast_removed and not lit.evened and lit.notes == [L.CAST_NOTE]
    paper = np.median(np.asarray(lit.image, np.float32).reshape(-1, 3), axis=0)
    assert np.ptp(paper) <= 8  # near neutral (its channels were 20-55 apart)
    d = check_ecg_image(lit.image).digitised
    assert d.scale_source == "grid" and d.px_per_mm == pytest.approx(8.0, rel=0.02)
    monkeypatch.setattr(L, "REMOVE_CAST", False)
    before = check_ecg_image(L.even_lighting(photo).image).digitised
    assert not (before.scale_source == "grid" and before.px_per_mm == pytest.approx(8.0, rel=0.03))


def test_a_plot_under_a_strong_warm_cast_is_read_at_its_axis_labels(strip):
    beat = strip[200:452]
    photo = under_light(R.mpl_plot(beat, FS).image, WARM_STRONG).convert("RGB")
    lit = L.even_lighting(photo)
    assert lit.cast_removed
    verdict = check_ecg_image(lit.image)
    assert verdict.status == "ecg" and verdict.digitised.scale_source == "axis_labels"


@pytest.mark.parametrize(
    "cast",
    [(1.0, 0.92, 0.92), (0.93, 0.97, 1.0), (0.85, 0.93, 1.0), (1.0, 0.99, 0.97)],
    ids=["pink tint", "cool", "strong cool", "faint warm"],
)
def test_pink_tints_cool_casts_and_faint_warm_ones_are_left(strip, cast):
    """Pink paper leans red with green and blue alike; a cool cast did no harm (taking it out
    cost pink beats their grid: CAST_RULE v1); a faint warm one is under MIN_CAST_LEAN."""
    photo = under_light(R.ecg_paper(strip, FS).image, cast).convert("RGB")
    lit = L.even_lighting(photo)
    assert not lit.cast_removed and lit.image is photo


def test_the_recording_upload_says_the_cast_was_taken_out(strip):
    photo = under_light(R.ecg_paper(strip, FS, **R.GREY_PAPER).image, WARM_STRONG)
    parsed = parse_image("photo.jpg", jpeg_bytes(photo.convert("RGB")))
    assert L.CAST_NOTE in parsed.notes
    assert parsed.signals.shape[1] / parsed.fs == pytest.approx(10.0, rel=0.03)
