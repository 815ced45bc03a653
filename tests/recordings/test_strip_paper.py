"""The strip's ECG-paper display (issue 20, point 4): the strip JSON carries the second lead,
the lead names, whether reference labels exist and which beats disagree with them, and colours
that pass WCAG contrast on the paper."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecg.dsp.signal import bandpass
from recordings.models import CLASS_COLOURS, CLASS_TEXT_COLOURS, Beat, Recording
from recordings.selectors import STRIP_PAPER, beat_disagrees, second_lead_name

from .synth import beat_times, ecg, write_wfdb

FS = 360.0
DURATION = 30.0
CLASSES = ["L", "N", "A", "V", "R", "!"]


def upload(client, user, files: dict[str, bytes], capture, **fields) -> Recording:
    client.force_login(user)
    data = {"files": [SimpleUploadedFile(n, c) for n, c in files.items()], "units": "mV"}
    with capture(execute=True):
        response = client.post(reverse("recordings:upload"), data | fields)
    assert response.status_code == 302, response.content[:500]
    recording = Recording.objects.get()
    assert recording.status == Recording.Status.DONE, recording.error
    return recording


@pytest.fixture
def two_leads(tmp_path):
    """Two leads, V1 first in the file so that the analysed MLII is not the file's first."""
    times = beat_times(DURATION, rr_s=0.8, premature_every=5)
    truth = np.round(times * FS).astype(int)
    symbols = ["V" if i % 5 == 4 else "N" for i in range(len(truth))]
    mlii, v1 = ecg(FS, DURATION, times), -0.6 * ecg(FS, DURATION, times, seed=2)
    signals = np.stack([v1, mlii])
    names = write_wfdb(tmp_path / "p", "p", signals, FS, ["V1", "MLII"], truth, symbols)
    return {n: (tmp_path / "p" / n).read_bytes() for n in names}, mlii, v1


@pytest.mark.django_db
def test_the_strip_has_both_leads_names_and_reference_disagreements(
    client, env, alice, two_leads, django_capture_on_commit_callbacks
):
    files, mlii, v1 = two_leads
    recording = upload(client, alice, files, django_capture_on_commit_callbacks)
    assert recording.lead == "MLII" and recording.lead_names == ["V1", "MLII"]
    # make two beats on the page certain cases: one agrees with its reference, one does not
    beats = list(recording.beats.filter(time_s__gte=5, time_s__lt=15).order_by("index"))
    agree, differ = beats[1], beats[2]
    Beat.objects.filter(pk=agree.pk).update(reference_label="N", label="N", state="classified")
    Beat.objects.filter(pk=differ.pk).update(reference_label="V", label="N", state="classified")

    url = reverse("recordings:strip", args=[recording.pk])
    strip = client.get(url, {"start": 5, "seconds": 10}).json()
    assert strip["lead_name"] == "MLII" and strip["has_reference"] is True
    second = strip["second_lead"]
    assert second["name"] == "V1" and len(second["signal"]) == len(strip["signal"]) == 3600
    # each row is its own lead, band-passed, in mV (WFDB stores them at a finite resolution)
    window = slice(int(5 * FS), int(15 * FS))
    expected_v1, expected_mlii = bandpass(v1, FS)[window], bandpass(mlii, FS)[window]
    assert np.allclose(second["signal"], expected_v1, atol=0.01)
    assert np.allclose(strip["signal"], expected_mlii, atol=0.01)
    assert not np.allclose(second["signal"], strip["signal"], atol=0.05)

    by_index = {b["index"]: b for b in strip["beats"]}
    assert by_index[differ.index]["disagrees"] is True
    assert by_index[agree.index]["disagrees"] is False
    assert set(strip["text_colours"]) == set(CLASS_COLOURS)
    assert strip["paper"] == STRIP_PAPER

    # the second lead is the owner's like the rest: another user gets 404
    client.force_login(type(alice).objects.create_user("mallory", password="pw-mallory-1"))
    assert client.get(url, {"start": 5, "seconds": 10}).status_code == 404


@pytest.mark.django_db
def test_a_one_lead_recording_without_reference_has_no_second_row(
    client, env, alice, django_capture_on_commit_callbacks
):
    x = ecg(FS, DURATION, beat_times(DURATION))
    content = ("\n".join(f"{v:.4f}" for v in x) + "\n").encode()
    recording = upload(
        client, alice, {"ecg.csv": content}, django_capture_on_commit_callbacks, sampling_rate=FS
    )
    strip = client.get(reverse("recordings:strip", args=[recording.pk]), {"seconds": 25}).json()
    assert strip["second_lead"] is None and strip["has_reference"] is False
    assert strip["seconds"] == 25 and strip["lead_name"] == recording.lead
    assert not any(b["disagrees"] for b in strip["beats"])


def beat(label="N", state="classified", reference="", reviewed="") -> Beat:
    return Beat(label=label, state=state, reference_label=reference, reviewed_label=reviewed)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (beat("N", reference="V"), True),
        (beat("V", reference="V"), False),
        (beat("N"), False),  # no matched reference beat
        (beat("N", reference="Q"), False),  # outside the model's classes: not scored
        (beat("N", state="uncertain", reference="V"), False),  # no diagnosis shown
        (beat("N", state="unreadable", reference="V"), False),
        (beat("N", reference="V", reviewed="V"), False),  # the clinician's class is shown
        (beat("V", reference="V", reviewed="A"), True),
        (beat("N", state="uncertain", reference="V", reviewed="A"), True),
    ],
)
def test_a_disagreement_is_the_shown_class_against_the_reference(case, expected):
    assert beat_disagrees(beat=case, classes=CLASSES) is expected


@pytest.mark.parametrize(
    ("names", "lead", "expected"),
    [(["MLII", "V1"], "MLII", "V1"), (["V1", "MLII"], "MLII", "V1"), (["II"], "II", None),
     (["I", "II", "III"], "II", "I"), (["V1", "L" * 40], "L" * 32, "V1")],
)  # fmt: skip
def test_the_second_lead_is_the_first_other_lead(names, lead, expected):
    assert second_lead_name(recording=Recording(lead_names=names, lead=lead)) == expected


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_label_trace_and_grid_colours_pass_wcag_contrast_on_the_paper():
    paper = STRIP_PAPER["paper"]
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the formula itself
    for code, colour in CLASS_TEXT_COLOURS.items():  # label text: WCAG AA, 4.5:1
        assert contrast(colour, paper) >= 4.5, code
    for name in ("text", "disagree", "grey"):
        assert contrast(STRIP_PAPER[name], paper) >= 4.5, name
    # greyed (unreadable) stretches: #d9d9d9 at 60 % over the paper, i.e. #e8e8e8
    assert contrast(STRIP_PAPER["grey"], "#e8e8e8") >= 4.5
    # the trace reads on the paper and on either grid line; the 5 mm grid is a graphic the
    # reader measures with: WCAG's 3:1 for non-text; the 1 mm grid stays faint (decoration)
    for background in (paper, STRIP_PAPER["grid_minor"], STRIP_PAPER["grid_major"]):
        assert contrast(STRIP_PAPER["trace"], background) >= 4.5
    assert contrast(STRIP_PAPER["grid_major"], paper) >= 3.0
    assert contrast(STRIP_PAPER["grid_minor"], paper) < contrast(STRIP_PAPER["grid_major"], paper)
    # most swatch colours would fail as text: the darker text colours are needed
    assert sum(contrast(c, paper) < 4.5 for c in CLASS_COLOURS.values()) >= 4
