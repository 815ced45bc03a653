"""Upload a rhythm strip as an image in a real browser (issue 19): the recording page says it
was read from an image and its strip shows the detected beats."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from benchmarks import digitise_renderers as R
from recordings.models import Recording
from tests.recordings.synth import beat_times, ecg

from .test_journeys import PASSWORD, log_in
from .test_strip import recording_env  # noqa: F401 -- the strip tests' fixture

pytestmark = pytest.mark.django_db(transaction=True)

FS = 360.0


def test_a_strip_image_becomes_a_recording_with_its_beats(page, recording_env, tmp_path):  # noqa: F811
    times = beat_times(10.0)
    path = tmp_path / "paper-strip.png"
    R.ecg_paper(ecg(FS, 10.0, times), FS, px_per_mm=6.0).image.save(path)
    get_user_model().objects.create_user("strip-image-user", password=PASSWORD)
    log_in(page, "strip-image-user")
    page.goto("/recordings/upload/")
    page.set_input_files("#id_files", [str(path)])
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Upload and analyse").click()
    recording = Recording.objects.get()
    assert recording.file_format == "image" and recording.status == Recording.Status.DONE
    page.goto(f"/recordings/{recording.pk}/")
    assert page.get_by_text("read from an image").count() >= 1
    strip = page.evaluate(
        "() => fetch(document.getElementById('strip').dataset.stripUrl"
        " + '?start=0&seconds=10').then(r => r.json())"
    )
    assert abs(len(strip["beats"]) - times.size) <= 1
    detected = np.array([b["t"] for b in strip["beats"]])
    # each drawn beat lies where the strip's beat was (the grid gives the time scale)
    assert np.median(np.abs(detected - times[np.abs(times[:, None] - detected).argmin(0)])) < 0.05
