"""The hostile recording corpus (CSV, WFDB, ZIP) through the recording upload form: each gets a
4xx with a clear message and leaves no row and no file; a valid recording is the control."""

import re
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recordings.models import Recording
from tests.hostile.corpus import RECORDING_CORPUS, csv_signal

pytestmark = pytest.mark.django_db


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


def post(client, *files: SimpleUploadedFile):
    return client.post(reverse("recordings:upload"), {"files": list(files), "units": "mV"})


def synthetic_csv(seconds: float = 20.0, fs: float = 360.0) -> bytes:
    t = np.arange(int(seconds * fs)) / fs
    beats = np.arange(0.5, seconds - 0.5, 0.8)
    x = sum(1.2 * np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in beats)
    return csv_signal([f"{v:.4f}" for v in x])


def test_a_valid_recording_is_accepted(user_client, recording_model, settings):
    # the control: the model is installed and good input gets through, so the refusals below
    # are about the files
    response = post(user_client, SimpleUploadedFile("ok.csv", synthetic_csv(), "text/csv"))
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert Recording.objects.count() == 1


@pytest.mark.parametrize("item", RECORDING_CORPUS, ids=lambda item: item.case)
def test_hostile_recording_is_refused_with_a_clear_message(
    user_client, recording_model, settings, item
):
    upload = SimpleUploadedFile(item.name, item.data(), content_type=item.content_type)
    response = post(user_client, upload)
    assert response.status_code == 400, item.case
    assert "alert" in response.content.decode() or "invalid-feedback" in response.content.decode()
    assert Recording.objects.count() == 0
    assert media_files(settings) == []
    assert not Path("/tmp/evil.hea").exists() and not Path("/tmp/abs.hea").exists()


def test_a_single_missing_sample_is_bridged_and_noted(user_client, recording_model, settings):
    # WFDB marks invalid samples as NaN; one of them is bridged, not refused -- and said so
    lines = synthetic_csv().decode().splitlines()
    time_value = lines[500].split(",")[0]
    lines[500] = f"{time_value},NaN"
    data = ("\n".join(lines) + "\n").encode()
    response = post(user_client, SimpleUploadedFile("gap.csv", data, "text/csv"))
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert any("bridged" in note for note in recording.notes)
    signal = np.load(Path(settings.MEDIA_ROOT) / recording.signal_file.name)
    assert np.all(np.isfinite(signal))


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("zip-encrypted", "is encrypted"),
        ("edf-samples-per-record-plus-minus-360", "-360 samples per data record"),
        ("edf-physical-min-equals-max", "physical minimum 5 and maximum 5"),
        ("csv-3e38-mv", "a value of 3e+38 mV at 10.0"),
        ("csv-1e39-cell", "an infinite value at 10.0"),
        ("csv-inf-cell", "an infinite value at 10.0"),
        ("csv-20-volts", "check the file and its units"),
        ("csv-empty-lead-column", "lead V1: every sample is missing"),
    ],
)
def test_crafted_recordings_are_refused_by_the_parser_with_the_reason(case, says):
    from ecg.io.recording_io import RecordingFormatError, parse_upload

    item = next(item for item in RECORDING_CORPUS if item.case == case)
    with pytest.raises(RecordingFormatError, match=re.escape(says)):
        parse_upload([(item.name, item.data())], fs=360.0)


CRAFTED = [item for item in RECORDING_CORPUS if item.case.startswith(("zip-encrypted", "edf-"))]
CRAFTED += [item for item in RECORDING_CORPUS if item.case in ("csv-3e38-mv", "csv-1e39-cell")]


@pytest.mark.parametrize("item", CRAFTED, ids=lambda item: item.case)
def test_crafted_recording_through_the_api_is_a_json_400(
    user_client, recording_model, settings, item
):
    upload = SimpleUploadedFile(item.name, item.data(), content_type=item.content_type)
    response = user_client.post("/api/v1/recordings/", {"files": [upload], "units": "mV"})
    assert response.status_code == 400, item.case
    body = response.json()
    assert body["status"] == 400 and item.name in body["message"]
    assert Recording.objects.count() == 0 and media_files(settings) == []
