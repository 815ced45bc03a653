"""A beat plotted by matplotlib, uploaded in a real browser (issue 19): the result page draws
the digitised trace over the uploaded image and says how the amplitude was scaled."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from benchmarks import digitise_renderers as R
from classifier.models import Prediction
from tests.ml.conftest import synthetic_ecg

from .test_journeys import PASSWORD, log_in, upload

pytestmark = pytest.mark.django_db(transaction=True)

FS = 360.0


def test_a_matplotlib_beat_shows_its_digitised_trace_over_the_image(
    page, screenshot, installed_tiny_models, tmp_path
):
    signal, peaks, _ = synthetic_ecg(n_beats=10, seed=1)
    p = int(peaks[3])
    image = R.mpl_plot(signal[p - 90 : p + 162], FS).image
    path = tmp_path / "matplotlib-beat.png"
    image.save(path)
    get_user_model().objects.create_user("plot-user", password=PASSWORD)
    log_in(page, "plot-user")

    upload(page, path)

    assert re.search(r"/predictions/\d+/$", page.url)
    assert Prediction.objects.get().source == "digitised"
    svg = page.locator("svg[aria-label^='Digitised trace']")
    assert svg.get_attribute("viewBox") == f"0 0 {image.width} {image.height}"
    points = [
        tuple(map(float, pair.split(",")))
        for pair in svg.locator("polyline").get_attribute("points").split()
    ]
    assert len(points) >= 50
    assert all(0 <= x <= image.width and 0 <= y <= image.height for x, y in points)
    # The overlay is drawn where the uploaded image is shown, and the beat window is shaded.
    shown = page.locator("img.ecg-result-image").bounding_box()
    line = svg.locator("polyline").bounding_box()
    assert shown["width"] > 0 and line["width"] > 0.5 * shown["width"]
    assert (
        shown["x"] - 1 <= line["x"] and line["x"] + line["width"] <= shown["x"] + shown["width"] + 1
    )
    assert (
        shown["y"] - 1 <= line["y"]
        and line["y"] + line["height"] <= shown["y"] + shown["height"] + 1
    )
    assert float(svg.locator("rect.ecg-trace-window").get_attribute("width")) > 0
    details = page.locator("main").inner_text()
    assert "Amplitude scale" in details
    assert "read from the axis labels (0.2 mV per tick)" in details  # matplotlib ticks (issue 19)
    screenshot(page, "result-digitised-plot")
