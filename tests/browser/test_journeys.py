"""A clinician's journeys in a real browser (headless Chromium), against the live Django server
with tiny real Keras models: sign up, log in, upload one and several images, browse and filter
history, open a result, delete, log out; a second user cannot reach the first user's record.
Screenshots of the main pages go to artifacts/screenshots/ (and docs/screenshots/ on request).
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from classifier.models import Prediction
from tests.conftest import BEAT_FAVOURS, SPECTROGRAM_FAVOURS
from tests.factories import beat_image_bytes, spectrogram_image_bytes
from tests.hostile.corpus import SVG

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Browser-test-passphrase-7"
FIRST_INFERENCE_MS = 60_000  # the first upload loads TensorFlow and the model in the server


@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    files = {
        "beat1.png": beat_image_bytes(seed=1),
        "beat2.png": beat_image_bytes(seed=2),
        "beat3.jpg": beat_image_bytes(fmt="JPEG", seed=3),
        "spectral.png": spectrogram_image_bytes(seed=4),
        "drawing.png": SVG,  # an SVG renamed .png
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


def sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("input[type=submit], button[type=submit] >> nth=-1")
    page.wait_for_url("**/predictions/new/")


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/predictions/new/")


def log_out(page, username: str) -> None:
    page.get_by_role("button", name=username).or_(page.get_by_role("link", name=username)).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert page.locator("nav").get_by_role("link", name="Log in").is_visible()


def upload(page, *paths: Path) -> None:
    page.goto("/predictions/new/")
    page.set_input_files("#id_images", [str(p) for p in paths])
    with page.expect_navigation(timeout=FIRST_INFERENCE_MS):
        page.get_by_role("button", name="Classify").click()


def history_rows(page) -> int:
    return page.locator("table tbody tr").count()


def test_full_journey_of_one_clinician(page, screenshot, images, installed_tiny_models):
    page.goto("/")
    screenshot(page, "home")

    page.goto("/accounts/signup/")
    screenshot(page, "signup")
    sign_up(page, "dr_ada")
    log_out(page, "dr_ada")
    page.goto("/accounts/login/")
    screenshot(page, "login")
    log_in(page, "dr_ada")
    screenshot(page, "upload")

    # one image: the result page names the class the model gave
    upload(page, images["beat1.png"])
    assert re.search(r"/predictions/\d+/$", page.url)
    assert f"({BEAT_FAVOURS})" in page.locator("h1").inner_text()
    assert page.locator("img.ecg-result-image").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "result")

    # a bad file gets a clear message, nothing is stored
    upload(page, images["drawing.png"])
    assert "is not an image" in page.locator("main").inner_text()
    assert Prediction.objects.count() == 1

    # several at once
    upload(page, images["beat2.png"], images["beat3.jpg"], images["spectral.png"])
    assert "/predictions/results/" in page.url
    body = page.locator("main").inner_text()
    for name in ("beat2.png", "beat3.jpg", "spectral.png"):
        assert name in body
    screenshot(page, "batch")

    # history, newest first, filtered by class
    page.goto("/predictions/")
    assert history_rows(page) == 4
    screenshot(page, "history")
    page.select_option("#id_predicted_class", SPECTROGRAM_FAVOURS)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert history_rows(page) == 1
    assert "spectral.png" in page.locator("table").inner_text()

    # detail page from the history, then delete it
    page.get_by_role("link", name="spectral.png").click()
    page.wait_for_url(re.compile(r".*/predictions/\d+/$"))
    assert f"({SPECTROGRAM_FAVOURS})" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Delete…").click()
    page.wait_for_url("**/delete/")
    page.locator("main").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/predictions/")
    assert "Deleted" in page.locator("main").inner_text()
    assert history_rows(page) == 3
    assert Prediction.objects.count() == 3
    assert not Prediction.objects.filter(original_name="spectral.png").exists()

    log_out(page, "dr_ada")
    page.goto("/predictions/")
    assert "/accounts/login/" in page.url


def test_second_user_cannot_reach_the_first_users_record(
    page, browser, live_server, images, installed_tiny_models
):
    sign_up(page, "dr_first")
    upload(page, images["beat1.png"])
    detail_path = re.search(r"/predictions/\d+/$", page.url).group(0)
    record = Prediction.objects.get()

    other = browser.new_context(base_url=live_server.url)
    try:
        intruder = other.new_page()
        get_user_model().objects.create_user("dr_second", password=PASSWORD)
        log_in(intruder, "dr_second")
        for path in (detail_path, f"{detail_path}image/", f"{detail_path}delete/"):
            response = intruder.goto(path)
            assert response.status == 404, path
        intruder.goto("/predictions/")
        assert "beat1.png" not in intruder.locator("main").inner_text()
        csv = intruder.request.get("/predictions/export.csv").text()
        assert "beat1.png" not in csv
    finally:
        other.close()
    assert Prediction.objects.filter(pk=record.pk).exists()
