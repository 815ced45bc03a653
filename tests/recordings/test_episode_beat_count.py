"""A corrected episode's beat count (issue 20): counted from the stored beats inside the owner's
span on every read (``episode_selectors.episode_beats_count``), with the beats and states a
detected episode counts -- classified, uncertain and reviewed beats, not unreadable ones -- so
that over a detected span it gives the detector's own count; shown by the page, the events CSV
and the API (the PDF: ``test_episode_corrections``)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.urls import reverse

from ecg.features.episodes import detect_episodes
from recordings import episode_selectors
from recordings.models import Beat, Recording

from .test_episode_corrections import correct
from .test_episode_verdicts import AF, PAUSE, give, with_episodes

pytestmark = pytest.mark.django_db

# The synthetic recording's beats lie at 0.5 + 0.8 k s; beat 3 (2.9 s) is uncertain.


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    settings.MEDIA_ROOT = tmp_path / "media"
    return with_episodes(users["alice"])


def af_row(rec) -> dict:
    rec.refresh_from_db()
    return episode_selectors.episodes_reviewed(recording=rec)["rows"][0]


def test_the_count_takes_the_beats_a_detected_episode_counts_and_follows_a_review(rec, users):
    correct(rec, users["alice"], AF, 2.5, 6.0)
    # 2.9 (uncertain: still a heartbeat), 3.7, 4.5, 5.3
    assert af_row(rec)["beats"] == 4
    beat = rec.beats.get(index=4)  # 3.7 s
    Beat.objects.filter(pk=beat.pk).update(state=Beat.State.UNREADABLE)
    assert af_row(rec)["beats"] == 3  # an unreadable beat is in no detected episode either
    Beat.objects.filter(pk=beat.pk).update(reviewed_label="N")
    assert af_row(rec)["beats"] == 4  # reviewed: counted as classified, as the recount does
    # a beat on an edge is inside (edges are beat times rounded to 10 ms)
    assert episode_selectors.episode_beats_count(recording=rec, start_s=2.9, end_s=5.3) == 4
    assert episode_selectors.episode_beats_count(recording=rec, start_s=2.91, end_s=5.29) == 2


def test_over_a_detected_span_it_gives_the_detectors_own_count(settings, tmp_path, users):
    """The rule is the detector's: bigeminy, trigeminy and a pause detected on the stored beats
    (as a beat review's recount does) are counted again from their spans to the same number."""
    settings.MEDIA_ROOT = tmp_path / "media"
    rec = with_episodes(users["alice"])
    rec.beats.filter(index__in=[50, 51]).delete()  # a 2.4 s gap: a pause
    v_at = [10, 12, 14, 16, 30, 33, 36, 39]  # bigeminy, then trigeminy
    Beat.objects.filter(recording=rec, index__in=v_at).update(label="V")
    Beat.objects.filter(recording=rec).exclude(index__in=v_at).update(label="N")
    Beat.objects.filter(recording=rec, index=60).update(state=Beat.State.UNREADABLE)
    rows = list(rec.beats.order_by("index").values_list("sample", "label", "state"))
    episodes = detect_episodes(
        np.array([r[0] for r in rows]),
        [r[1] for r in rows],
        rec.sampling_rate,
        states=[r[2] for r in rows],
    )
    assert {e.kind for e in episodes} >= {"bigeminy", "trigeminy", "pause"}
    for episode in episodes:
        counted = episode_selectors.episode_beats_count(
            recording=rec, start_s=episode.start_s, end_s=episode.end_s
        )
        assert counted == episode.beats, episode


def test_a_gone_correction_keeps_its_count_and_the_exports_carry_it(client, rec, users):
    alice = users["alice"]
    correct(rec, alice, AF, 3.5, 27.0)
    give(rec, alice, "confirmed", PAUSE)
    client.force_login(alice)
    html = client.get(rec.get_absolute_url()).content.decode()
    row = html.split('data-kind="AF" data-state="corrected"')[1].split("</tr>")[0]
    assert ">30</td>" in row  # the Beats cell

    # a recount took both episodes away: the correction still counts its own span
    Recording.objects.filter(pk=rec.pk).update(summary=rec.summary | {"episodes": []})
    rec.refresh_from_db()
    unmatched = episode_selectors.episodes_reviewed(recording=rec)["unmatched"]
    assert sorted((u["kind"], u["state"], u["beats"]) for u in unmatched) == [
        ("AF", "corrected", 30),
        ("pause", "confirmed", None),  # its episode, and the model's count, are gone
    ]
    text = client.get(reverse("recordings:episodes_csv", args=[rec.pk])).content.decode()
    got = [(r["kind"], r["beats"], r["state"]) for r in csv.DictReader(io.StringIO(text))]
    assert got == [
        ("AF", "30", "corrected; episode gone"),
        ("pause", "", "confirmed; episode gone"),
    ]


@pytest.mark.mitdb
@pytest.mark.parametrize("name", ["201", "207"])
def test_on_mitbih_every_detected_episodes_count_is_given_back(settings, tmp_path, users, name):
    """Records 201 (AF, trigeminy, pauses, bradycardia; its "SVT runs" were AF's conducted
    beats, read as N since A calls inside AF are) and 207 (flutter, bigeminy, SVT, pauses; its
    false AF in ventricular flutter is gone since flutter waves are left out of the AF rule)
    analysed with the shipped recording model, their beats and states stored as
    the app stores them: counted over its detected span, every episode gets the detector's
    count -- rate episodes too (their running-median windows sit one per beat)."""
    from ecg.io.recording_io import parse_upload
    from ecg.io.records import default_data_dir
    from ecg.recording_analysis import analyse

    from .review_data import done_recording
    from .test_long_recordings import shipped_recording_bundle

    data_dir = default_data_dir()
    if data_dir is None or not (data_dir / f"{name}.hea").is_file():
        pytest.skip("MIT-BIH not found (../shared/data/mitdb or $ECG_DATA_DIR)")
    files = [(f"{name}{ext}", (data_dir / f"{name}{ext}").read_bytes()) for ext in (".hea", ".dat")]
    upload = parse_upload(files)
    analysis = analyse(upload, shipped_recording_bundle())
    settings.MEDIA_ROOT = tmp_path / "media"
    rec = done_recording(
        users["alice"],
        signal=upload.signals[0],
        fs=upload.fs,
        peaks=analysis.beats.samples,
        labels=analysis.beats.labels,
    )
    states = np.asarray(analysis.states)
    for state in ("uncertain", "unreadable"):
        rec.beats.filter(index__in=np.flatnonzero(states == state).tolist()).update(state=state)
    episodes = analysis.summary["episodes"]
    assert len({e["kind"] for e in episodes}) >= {"201": 4, "207": 4}[name]
    for episode in episodes:
        counted = episode_selectors.episode_beats_count(
            recording=rec, start_s=episode["start_s"], end_s=episode["end_s"]
        )
        assert counted == episode["beats"], episode
