"""Which lead is analysed and which leads are stored (``ecg.lead_choice``): an upload keeps
every lead the conduction finding reads, the two-lead model's V1 beside the analysed lead, and
is analysed on a readable lead when the file's preferred lead is unreadable throughout."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from ecg.io.recording_base import ParsedRecording
from ecg.lead_choice import as_stored, stored_lead_order, with_readable_lead
from recordings.models import Recording
from recordings.services import mapped_signals

from .synth import beat_times, ecg
from .test_episodes_web import pdf_text

FS = 360.0
TWELVE = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_a_short_recording_keeps_every_lead_with_v1_second():
    order = stored_lead_order(TWELVE, 1, duration_s=10.0)
    assert [TWELVE[i] for i in order] == [
        "II", "V1", "III", "V5", "I", "aVR", "aVL", "aVF", "V2", "V3", "V4", "V6"
    ]  # fmt: skip


def test_a_long_recording_keeps_the_analysed_lead_and_the_second_one_only():
    assert stored_lead_order(TWELVE, 1, duration_s=3600.0) == [1, 6]
    assert stored_lead_order(["MLII", "V5"], 0, duration_s=3600.0) == [0, 1]
    assert stored_lead_order(["II"], 0, duration_s=10.0) == [0]


def recording(leads: list[str], noisy: tuple[int, ...] = (), seconds: float = 30.0):
    times = beat_times(seconds)
    signals = np.stack([ecg(FS, seconds, times, seed=i) for i in range(len(leads))])
    for index in noisy:  # an electrode off: loud broadband noise, no ECG
        signals[index] = np.random.default_rng(index).normal(0, 0.5, signals.shape[1])
    return ParsedRecording(name="r", format="csv", fs=FS, lead_names=list(leads),
                           signals=signals.astype(np.float32), lead_index=1,
                           source_files=["r.csv"])  # fmt: skip


def test_as_stored_reorders_the_leads_the_analysed_one_first():
    rec = recording(["I", "II", "III", "V1"])
    stored = as_stored(rec)
    assert stored.lead_names == ["II", "V1", "III", "I"] and stored.lead == "II"
    assert np.array_equal(stored.signals[1], rec.signals[3])


def test_an_unreadable_preferred_lead_gives_way_to_a_readable_one():
    rec = recording(["I", "II", "III", "V1"], noisy=(1,))
    chosen = with_readable_lead(rec)
    assert chosen.lead == "V1"  # V1 and III equally readable: V1 comes first in preference
    assert chosen.notes == ["lead II has no readable ECG; lead V1 analysed instead"]
    assert rec.lead == "II" and rec.notes == []  # the parsed recording is left as it was


def test_a_readable_lead_or_nothing_better_leaves_the_choice_alone():
    clean = recording(["I", "II", "III", "V1"])
    assert with_readable_lead(clean) is clean
    every = recording(["I", "II", "III", "V1"], noisy=(1, 2, 3))
    assert with_readable_lead(every) is every  # the analysis says "no readable ECG"
    untrained = recording(["I", "II", "aVR"], noisy=(1,))
    assert with_readable_lead(untrained) is untrained  # I and aVR: leads it was not trained on


def csv_upload(client, user, rec: ParsedRecording, capture, lead: str = "") -> Recording:
    lines = [",".join(rec.lead_names)]
    lines += [",".join(f"{v:.4f}" for v in row) for row in rec.signals.T]
    content = ("\n".join(lines) + "\n").encode()
    data = {"files": [SimpleUploadedFile("ecg.csv", content)], "units": "mV",
            "sampling_rate": FS, "lead": lead}  # fmt: skip
    client.force_login(user)
    with capture(execute=True):
        response = client.post(reverse("recordings:upload"), data)
    assert response.status_code == 302, response.content[:500]
    return Recording.objects.get()


@pytest.fixture
def four_lead_env(settings, tmp_path):
    from tests.factories import build_tiny_bundle

    settings.MEDIA_ROOT = tmp_path / "media"
    path = build_tiny_bundle(tmp_path / "models", "tiny_four_lead", task="recording",
                             leads=["MLII", "II", "III", "V1", "V5"])  # fmt: skip
    settings.MODELS_DIR = path.parent
    settings.RECORDING_TASKS_SYNC = True
    return settings


@pytest.mark.django_db
def test_an_uploaded_twelve_lead_style_file_is_stored_and_read_on_every_trained_lead(
    client, four_lead_env, alice, django_capture_on_commit_callbacks
):
    rec = recording(["I", "II", "III", "V1"])
    uploaded = csv_upload(client, alice, rec, django_capture_on_commit_callbacks)
    assert uploaded.status == Recording.Status.DONE, uploaded.error
    assert uploaded.stored_leads == ["II", "V1", "III", "I"]
    with mapped_signals(uploaded) as signals:
        assert signals.shape[0] == 4
        assert np.allclose(signals[1], rec.signals[3], atol=1e-4)  # V1, second
    leads = [entry["lead"] for entry in uploaded.summary["conduction"]["leads"]]
    assert leads == ["II", "V1", "III"]  # lead I: not a trained lead
    url = reverse("recordings:strip", args=[uploaded.pk])
    strip = client.get(url, {"seconds": 5}).json()
    assert strip["second_lead"]["name"] == "V1" and strip["other_leads"] == []
    assert strip["stored_lead_count"] == 4
    every = client.get(url, {"seconds": 5, "leads": "all"}).json()
    assert [lead["name"] for lead in every["other_leads"]] == ["III", "I"]
    assert len(every["other_leads"][0]["signal"]) == len(every["signal"])
    page = client.get(uploaded.get_absolute_url()).content.decode()
    assert 'id="strip-all-leads"' in page and "All 4 leads" in page
    pdf, text = pdf_text(client, uploaded)  # the PDF draws the other stored leads too
    assert "The other stored leads (V1, III, I)" in text
    assert pdf.count(b"/Subtype /Image") >= 5  # the strip and three leads at least


@pytest.mark.django_db
def test_an_upload_with_its_preferred_lead_unreadable_is_analysed_on_a_readable_one(
    client, four_lead_env, alice, django_capture_on_commit_callbacks
):
    rec = recording(["I", "II", "III", "V1"], noisy=(1,))
    uploaded = csv_upload(client, alice, rec, django_capture_on_commit_callbacks)
    assert uploaded.status == Recording.Status.DONE, uploaded.error
    assert uploaded.lead == "V1" and uploaded.stored_leads[0] == "V1"
    note = "lead II has no readable ECG; lead V1 analysed instead"
    assert note in uploaded.notes
    page = client.get(uploaded.get_absolute_url()).content.decode()
    assert note in page
    _pdf, text = pdf_text(client, uploaded)  # every surface says which lead was read, and why
    assert "Note Lead II has no readable ECG; lead V1 analysed instead" in text
    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(f"/api/v1/recordings/{uploaded.pk}/").json()
    assert body["lead"] == "V1" and note in body["notes"]
    assert body["lead_names"] == ["I", "II", "III", "V1"]
    assert body["stored_leads"] == ["V1", "II", "III", "I"]


@pytest.mark.django_db
def test_a_lead_the_user_named_is_analysed_even_when_unreadable(
    client, four_lead_env, alice, django_capture_on_commit_callbacks
):
    rec = recording(["I", "II", "III", "V1"], noisy=(1,))
    uploaded = csv_upload(client, alice, rec, django_capture_on_commit_callbacks, lead="II")
    assert uploaded.lead == "II"
    assert uploaded.status == Recording.Status.FAILED
    assert uploaded.error.startswith("no readable ECG on lead II: ")
    assert uploaded.error.endswith(
        "; leads V1, III are readable: upload the recording again naming one of them in Lead, "
        "or leaving Lead empty"
    )
    page = client.get(uploaded.get_absolute_url()).content.decode()
    assert "leads V1, III are readable" in page
    assert 'name="lead" value="V1"' in page  # a button per other stored lead


@pytest.mark.django_db
def test_a_failed_recording_is_analysed_again_on_the_lead_its_owner_picks(
    client, four_lead_env, alice, django_capture_on_commit_callbacks
):
    rec = recording(["I", "II", "III", "V1"], noisy=(1,))
    failed = csv_upload(client, alice, rec, django_capture_on_commit_callbacks, lead="II")
    old_file = failed.signal_file.name
    url = reverse("recordings:retry", args=[failed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"lead": "aVR"})  # not a stored lead: refused, unchanged
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Recording.Status.FAILED and failed.signal_file.name == old_file

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"lead": "III"})
    done = Recording.objects.get(pk=failed.pk)
    assert done.status == Recording.Status.DONE, done.error
    assert done.lead == "III" and done.stored_leads == ["III", "V1", "II", "I"]
    assert "analysed on lead III at the owner's request (lead II failed)" in done.notes
    with mapped_signals(done) as signals:
        assert np.allclose(signals[0], rec.signals[2], atol=1e-4)  # III, now the first row
        assert np.allclose(signals[2], rec.signals[1], atol=1e-4)  # the noisy II kept
    assert done.signal_file.name != old_file
    assert not default_storage.exists(old_file)  # the old layout's file is gone


@pytest.mark.django_db
def test_the_api_analyses_a_failed_recording_again_on_another_lead(
    client, four_lead_env, users, django_capture_on_commit_callbacks
):
    rec = recording(["I", "II", "III", "V1"], noisy=(1,))
    failed = csv_upload(client, users["alice"], rec, django_capture_on_commit_callbacks, "II")
    url = f"/api/v1/recordings/{failed.pk}/retry/"
    api = APIClient()
    api.force_authenticate(users["bob"])
    assert api.post(url, {"lead": "V1"}, format="json").status_code == 404  # not his
    api.force_authenticate(users["alice"])
    refused = api.post(url, {"lead": "aVR"}, format="json")
    assert refused.status_code == 400 and "not another stored lead" in refused.json()["message"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(url, {"lead": "V1"}, format="json")
    assert answer.status_code == 202 and answer.json()["links"]["retry"].endswith(url)
    done = api.get(f"/api/v1/recordings/{failed.pk}/").json()
    assert done["status"] == "done" and done["lead"] == "V1"
    assert done["stored_leads"][0] == "V1"
    again = api.post(url, {}, format="json")  # only a failed analysis runs again
    assert again.status_code == 400
