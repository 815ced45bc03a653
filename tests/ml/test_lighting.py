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
