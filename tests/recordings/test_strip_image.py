"""A rhythm strip uploaded as an image becomes a recording (issue 19, point 2): digitised, its
beats detected and classified like any recording; images that are not a strip are refused with
the reason and leave nothing behind."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from benchmarks import digitise_renderers as R
from recordings.models import Recording
from tests.factories import build_tiny_bundle

from .synth import beat_times, ecg

FS = 360.0


def png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client, user, name: str, content: bytes, capture):
    client.force_login(user)
    with capture(execute=True):
        data = {"files": [SimpleUploadedFile(name, content)], "units": "mV"}
        return client.post(reverse("recordings:upload"), data)


@pytest.mark.django_db
def test_an_ecg_paper_strip_is_analysed_as_a_recording(
    client, env, alice, django_capture_on_commit_callbacks
):
    times = beat_times(10.0)  # 12 beats, 75 bpm
    strip = R.ecg_paper(ecg(FS, 10.0, times), FS, px_per_mm=6.0).image
    response = upload(client, alice, "strip.png", png(strip), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content[:400]
    recording = Recording.objects.get()
    assert recording.file_format == "image" and recording.status == Recording.Status.DONE
    assert recording.duration_s == pytest.approx(10.0, abs=0.2)  # the trace, not the margins
    assert abs(recording.beat_count - times.size) <= 1
    assert any("ECG-paper grid" in note for note in recording.notes)
    rate = recording.summary["heart_rate"]["mean_bpm"]
    assert rate == pytest.approx(75, abs=5)
    html = client.get(recording.get_absolute_url()).content.decode()
    assert "read from an image" in html


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("noise.png", lambda: R.noise_image(np.random.default_rng(0)), "No ECG trace"),
        ("beat.png", lambda: R.mpl_plot(ecg(FS, 0.7, np.array([0.25])), FS).image, "single beat"),
    ],
)
@pytest.mark.django_db
def test_images_that_are_not_a_strip_are_refused_and_nothing_is_stored(
    client, env, alice, django_capture_on_commit_callbacks, settings, name, make, message
):
    response = upload(client, alice, name, png(make()), django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert not Recording.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.django_db
def test_a_strip_image_takes_the_lead_typed_at_upload(
    client, env, alice, django_capture_on_commit_callbacks, tmp_path
):
    # a recording model that says which leads it was trained on, as the shipped one does
    folder = tmp_path / "models-with-leads"
    folder.mkdir()
    build_tiny_bundle(folder, "leads_model", task="recording", leads=["MLII", "II", "V1", "V5"])
    env.MODELS_DIR = folder
    times = beat_times(10.0)
    strip = png(R.ecg_paper(ecg(FS, 10.0, times), FS, px_per_mm=6.0).image)

    def lead_warning(lead: str) -> list[str]:
        client.force_login(alice)
        with django_capture_on_commit_callbacks(execute=True):
            data = {"files": [SimpleUploadedFile("s.png", strip)], "units": "mV", "lead": lead}
            assert client.post(reverse("recordings:upload"), data).status_code == 302
        recording = Recording.objects.latest("pk")
        warnings = (recording.quality or {}).get("warnings") or []
        return recording.lead, [w["message"] for w in warnings if w["code"] == "lead"]

    lead, unnamed = lead_warning("")
    assert lead == "image" and "an image whose lead is not known" in unnamed[0]
    lead, named = lead_warning("II")
    assert lead == "II" and named == []  # the model was trained on lead II


def test_a_grid_strips_scale_note_comes_from_the_time_notes_table():
    from ecg.io.recording_image import TIME_NOTES, parse_image

    image = R.ecg_paper(ecg(FS, 10.0, beat_times(10.0)), FS, px_per_mm=6.0).image
    parsed = parse_image("strip.png", png(image))
    # One place for these notes: the grid gives time and amplitude, and its note says both.
    assert TIME_NOTES["grid"] in parsed.notes
    assert "25 mm/s" in TIME_NOTES["grid"] and "10 mm/mV" in TIME_NOTES["grid"]


def test_a_rotated_strip_without_a_grid_is_turned_back_and_read_as_a_recording():
    from ecg.io.recording_image import parse_image

    truth = ecg(FS, 10.0, beat_times(10.0))
    image = R.rotated(R.pillow_line(truth, width=1600, height=400), -2.5).image
    parsed = parse_image("tilted.png", png(image))
    turned = [note for note in parsed.notes if note.startswith("turned back by")]
    assert turned and float(turned[0].split()[3]) == pytest.approx(2.5, abs=0.3), parsed.notes
    # No grid: 10 s assumed, one sample a trace column resampled to the recording's rate.
    signal = parsed.signals[0]
    assert signal.size / parsed.fs == pytest.approx(10.0, rel=0.02)
    stretched = np.interp(np.linspace(0, 1, truth.size), np.linspace(0, 1, signal.size), signal)
    assert np.corrcoef(stretched, truth)[0, 1] > 0.8  # 0.87: see test_digitise (tilt tests)


def test_a_bare_strip_takes_the_trace_height_given_and_a_grid_strip_its_own_scale():
    from ecg.imaging.digitise import ASSUMED_BEAT_PTP_MV
    from ecg.io.recording_image import parse_image

    bare = png(R.pillow_line(ecg(FS, 10.0, beat_times(10.0)), width=1600, height=400).image)
    assumed = parse_image("bare.png", bare)
    given = parse_image("bare.png", bare, trace_height_mv=1.2)
    assert np.ptp(assumed.signals[0]) == pytest.approx(ASSUMED_BEAT_PTP_MV, rel=0.02)
    assert np.ptp(given.signals[0]) == pytest.approx(1.2, rel=0.02)
    assert any("as given at upload (the trace 1.2 mV" in note for note in given.notes)
    assert not any("drawn to" in note for note in given.notes)

    truth = ecg(FS, 10.0, beat_times(10.0))
    paper = png(R.ecg_paper(truth, FS, px_per_mm=6.0).image)
    read = parse_image("paper.png", paper)
    also = parse_image("paper.png", paper, trace_height_mv=5.0)
    np.testing.assert_allclose(also.signals[0], read.signals[0])  # the grid's scale, not 5 mV
    assert "the trace height given at upload was not used: the image gives its scale" in also.notes


@pytest.mark.django_db
def test_a_strip_upload_with_a_trace_height_says_so_and_a_bad_one_is_refused(
    client, env, alice, django_capture_on_commit_callbacks
):
    image = png(R.pillow_line(ecg(FS, 10.0, beat_times(10.0)), width=1600, height=400).image)
    client.force_login(alice)

    def post(height: str):
        with django_capture_on_commit_callbacks(execute=True):
            data = {"files": [SimpleUploadedFile("strip.png", image)], "units": "mV",
                    "trace_height_mv": height}  # fmt: skip
            return client.post(reverse("recordings:upload"), data)

    response = post("0.01")
    assert response.status_code == 400
    assert "greater than or equal to 0.1" in response.content.decode()
    assert not Recording.objects.exists()
    response = post("1.5")
    assert response.status_code == 302, response.content[:400]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE
    assert any("as given at upload (the trace 1.5 mV" in note for note in recording.notes)
    assert "as given at upload" in client.get(recording.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_bare_strip_with_one_beat_twice_the_others_is_analysed_not_refused(
    client, env, alice, django_capture_on_commit_callbacks
):
    """Refused as "a single beat" before: the large beat hid the others from the beat count
    (benchmarks/strip_image_classification.py)."""
    times = beat_times(10.0)
    signal = ecg(FS, 10.0, times)
    at = int(times[5] * FS)
    signal[at - 40 : at + 60] *= 2.5  # one ventricular-sized beat
    image = R.pillow_line(signal, width=1600, height=400).image
    response = upload(client, alice, "pvc.png", png(image), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content[:400]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE
    assert abs(recording.beat_count - times.size) <= 1


@pytest.mark.django_db
def test_an_upload_of_a_rotated_bare_strip_is_analysed(
    client, env, alice, django_capture_on_commit_callbacks
):
    times = beat_times(10.0)
    image = R.rotated(R.pillow_line(ecg(FS, 10.0, times), width=1600, height=400), 3.0).image
    response = upload(client, alice, "tilted.png", png(image), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content[:400]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE and recording.owner == alice
    turned = [note for note in recording.notes if note.startswith("turned back by")]
    assert turned and float(turned[0].split()[3]) == pytest.approx(-3.0, abs=0.3)
    assert abs(recording.beat_count - times.size) <= 1


# -- printouts with several rows of leads (issue 19) -------------------------------------------


@pytest.mark.django_db
def test_a_3x4_printout_with_a_rhythm_strip_is_read_from_its_rhythm_strip(
    client, env, alice, django_capture_on_commit_callbacks
):
    from tests.printouts import printout, twelve_leads

    _leads, times = twelve_leads()
    image = printout("3x4+rhythm")
    response = upload(client, alice, "ecg.png", png(image), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content[:400]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE and recording.owner == alice
    assert recording.notes[0] == (
        "an ECG printout with 4 rows of leads: read row 4 of 4, a full-width rhythm strip; "
        "the lead is not named in the image"
    )
    assert any("ECG-paper grid" in note for note in recording.notes)
    assert recording.duration_s == pytest.approx(10.0, abs=0.3)  # the strip, not four leads
    assert abs(recording.beat_count - times.size) <= 1


def test_a_rotated_printout_is_turned_upright_before_its_rhythm_strip_is_cut():
    from benchmarks import printout_renderers as P
    from ecg.io.recording_image import parse_image
    from tests.printouts import twelve_leads

    leads, times = twelve_leads()
    page = R.rotated(P.multi_lead_paper(leads, FS, "3x4+rhythm"), 2.0).image
    parsed = parse_image("page.png", png(page))
    assert parsed.notes[0].startswith("an ECG printout with 4 rows of leads: read row 4 of 4")
    turned = [note for note in parsed.notes if note.startswith("the page turned back by")]
    assert turned and float(turned[0].split()[5]) == pytest.approx(-2.0, abs=0.2)
    signal = parsed.signals[0]
    assert signal.size / parsed.fs == pytest.approx(10.0, abs=0.3)
    truth = leads["II"]
    stretched = np.interp(np.linspace(0, 1, truth.size), np.linspace(0, 1, signal.size), signal)
    assert np.corrcoef(stretched, truth)[0, 1] > 0.9


@pytest.mark.django_db
def test_a_printout_without_a_rhythm_strip_is_refused_and_nothing_is_stored(
    client, env, alice, django_capture_on_commit_callbacks, settings
):
    from tests.printouts import printout

    image = printout("3x4")
    response = upload(client, alice, "ecg.png", png(image), django_capture_on_commit_callbacks)
    assert response.status_code == 400
    text = response.content.decode()
    assert "ECG printout with 3 rows of leads without a rhythm strip" in text
    assert "Crop one row" in text
    assert not Recording.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize(
    "draw",
    [
        lambda x: R.ecg_paper(x, FS, px_per_mm=6.0).image,
        lambda x: R.jpeg(R.ecg_paper(x, FS)).image,
        lambda x: R.pillow_line(x, width=1600, height=400).image,
        lambda x: R.rotated(R.pillow_line(x, width=1600, height=400), 2.5).image,
    ],
)
def test_a_single_row_strip_is_read_exactly_as_without_the_row_finder(monkeypatch, draw):
    from ecg.imaging.layout import Layout
    from ecg.io import recording_image

    content = png(draw(ecg(FS, 10.0, beat_times(10.0))))
    with_rows = recording_image.parse_image("s.png", content)
    monkeypatch.setattr(
        recording_image, "find_rows", lambda image: Layout(rows=(), angle=0.0, size=image.size)
    )
    without = recording_image.parse_image("s.png", content)
    assert np.array_equal(with_rows.signals, without.signals)  # the same code path, no model
    assert with_rows.notes == without.notes


@pytest.mark.parametrize("px_per_mm", [4.0, 6.0])
def test_a_wide_slow_strip_keeps_its_time_scale(px_per_mm):
    """A strip over digitise.MAX_WIDTH is shrunk (to 3.4 px/mm at 4 px/mm), where its 1 mm
    lines blur; its 28-mm height holds about one 25-mm fold, too few to tell heavier lines, and
    that axis alone once read the 5 mm lines as 1 mm ones (30.3 s read as 10.2 s at 4 px/mm, 37.5
    bpm as 111.5). The fuzzing helper found it; the axis with more folds now decides."""
    from ecg.io.recording_io import parse_upload
    from tests.recordings.synth import long_ecg

    strip = R.ecg_paper(long_ecg(FS, 30.3, rr_s=1.6), FS, px_per_mm=px_per_mm).image
    assert strip.size[0] > 3000
    recording = parse_upload([("strip.png", png(strip))])
    assert recording.duration_s == pytest.approx(30.3, abs=0.5)
