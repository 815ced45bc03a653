"""The rhythm episodes as reviewed in the exports (issue 20): the WFDB annotation file carries
them as MIT-BIH rhythm changes read back by ``wfdb.rdann`` and by ``ecg``'s reader of reference
rhythm intervals, the beats unchanged; the events CSV (its own download, the class ZIPs, the
API) lists every episode with its state, rejected ones included; another user gets 404."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from ecg.features.episodes import reference_rhythm_intervals
from ecg.io.wfdb_rhythm import rhythm_annotations
from recordings import episode_services
from recordings.models import Recording

from .review_data import done_recording
from .test_episode_verdicts import AF, PAUSE

pytestmark = pytest.mark.django_db

BIGEMINY = {"kind": "bigeminy", "label": "Ventricular bigeminy", "start_s": 30.0, "end_s": 38.0,
            "duration_s": 8.0, "beats": 9}  # fmt: skip
VT_ADDED = (47.0, 49.5)  # the owner's added ventricular tachycardia


@pytest.fixture
def rec(settings, tmp_path, users) -> Recording:
    """Three stored episodes: AF confirmed, bigeminy rejected, the pause not reviewed; and an
    added VT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    recording = done_recording(users["alice"])
    Recording.objects.filter(pk=recording.pk).update(
        summary=recording.summary | {"episodes": [AF, BIGEMINY, PAUSE]}
    )
    recording.refresh_from_db()
    alice = users["alice"]
    for verdict, episode, note in (("confirmed", AF, "clear"), ("rejected", BIGEMINY, "noise")):
        episode_services.episode_verdict_give(
            user=alice, recording=recording, verdict=verdict, kind=episode["kind"],
            start_s=episode["start_s"], end_s=episode["end_s"], note=note,
        )  # fmt: skip
    episode_services.episode_verdict_give(
        user=alice, recording=recording, verdict="added", kind="VT",
        start_s=VT_ADDED[0], end_s=VT_ADDED[1],
    )  # fmt: skip
    return recording


def _rdann(content: bytes, folder: Path):
    import wfdb

    (folder / "rec.atr").write_bytes(content)
    return wfdb.rdann(str(folder / "rec"), "atr")


def test_atr_carries_reviewed_episodes_as_mitdb_rhythm_changes(client, rec, users, tmp_path):
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:atr", args=[rec.pk]))
    assert response.status_code == 200
    ann = _rdann(response.content, tmp_path)
    fs, n = rec.sampling_rate, rec.n_samples
    # Beats unchanged: the same samples and symbols as without episodes.
    beats = list(rec.beats.order_by("index"))
    is_beat = [s not in ("+", '"') for s in ann.symbol]
    assert [int(s) for s, b in zip(ann.sample, is_beat, strict=True) if b] == [
        b.sample for b in beats
    ]
    beat_symbols = [s for s, b in zip(ann.symbol, is_beat, strict=True) if b]
    assert beat_symbols[3] == "Q" and set(beat_symbols) <= {"N", "V", "Q"}
    # Rhythm changes: AF confirmed, rejected bigeminy left out, added VT in, each back to (N.
    rhythm = [
        (int(s), note)
        for s, sym, note in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
        if sym == "+"
    ]
    assert rhythm == [
        (round(5.0 * fs), "(AFIB"),
        (round(25.0 * fs), "(N"),
        (round(47.0 * fs), "(VT"),
        (round(49.5 * fs), "(N"),
    ]
    # The pause is no rhythm: one comment annotation, which rhythm readers skip.
    notes = [note for sym, note in zip(ann.symbol, ann.aux_note, strict=True) if sym == '"']
    assert notes == ["Pause (RR > 2 s), 2.40 s"]
    # ecg's reader of MIT-BIH reference rhythms gives the same intervals back.
    aux = [a or "" for a in ann.aux_note]

    def intervals(label):
        return reference_rhythm_intervals(ann.sample, ann.symbol, aux, fs, n, (label,))

    assert intervals("(AFIB") == [(5.0, 25.0)]
    assert intervals("(VT") == [VT_ADDED]
    assert intervals("(B") == []  # rejected


def test_atr_is_the_owners_only(client, rec, users):
    client.force_login(users["bob"])
    assert client.get(reverse("recordings:atr", args=[rec.pk])).status_code == 404
    assert client.get(reverse("recordings:episodes_csv", args=[rec.pk])).status_code == 404


def test_rhythm_annotations_overlaps_and_record_end():
    """Overlapping rhythms: the later-started holds until it ends, then the earlier resumes;
    same-rhythm episodes that touch become one; an episode ending at the record's end gets no
    (N after it, and the reader still gives its interval back."""
    fs, n = 100.0, 6000
    episodes = [
        {"kind": "AF", "start_s": 5.0, "end_s": 25.0},
        {"kind": "VT", "start_s": 10.0, "end_s": 12.0},
        {"kind": "bigeminy", "start_s": 30.0, "end_s": 35.0},
        {"kind": "bigeminy", "start_s": 35.0, "end_s": 40.0},
        {"kind": "bradycardia", "start_s": 45.0, "end_s": 60.0},
        {"kind": "tachycardia", "start_s": 41.0, "end_s": 44.0, "label": "Tachycardia"},
    ]
    out = rhythm_annotations(episodes, fs=fs, n_samples=n)
    assert [(s, note) for s, sym, note in out if sym == "+"] == [
        (500, "(AFIB"), (1000, "(VT"), (1200, "(AFIB"), (2500, "(N"),
        (3000, "(B"), (4000, "(N"), (4500, "(SBR"),
    ]  # fmt: skip
    assert [(s, sym, note) for s, sym, note in out if sym != "+"] == [
        (4100, '"', "Tachycardia, 3.00 s")
    ]
    samples = np.array([a[0] for a in out])
    symbols, notes = [a[1] for a in out], [a[2] for a in out]
    assert reference_rhythm_intervals(samples, symbols, notes, fs, n, ("(SBR",)) == [(45.0, 60.0)]
    assert reference_rhythm_intervals(samples, symbols, notes, fs, n, ("(B",)) == [(30.0, 40.0)]


def _csv(content: bytes | str) -> list[dict[str, str]]:
    text = content.decode() if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text)))


def test_episodes_csv_columns_and_states(client, rec, users):
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:episodes_csv", args=[rec.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"recording-{rec.pk}-episodes.csv" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.splitlines()[0] == (
        "kind,label,start_s,end_s,duration_s,beats,state,by,at,note,model_start_s,model_end_s"
    )
    rows = _csv(text)
    got = [(r["kind"], r["start_s"], r["state"], r["by"], r["note"]) for r in rows]
    assert got == [
        ("AF", "5.000", "confirmed", "alice", "clear"),
        ("bigeminy", "30.000", "rejected", "alice", "noise"),  # listed, not hidden
        ("pause", "40.100", "not reviewed", "", ""),
        ("VT", "47.000", "added", "alice", ""),
    ]
    assert rows[1]["duration_s"] == "8.00" and rows[3]["end_s"] == "49.500"
    added = rec.beats.filter(time_s__gte=47.0 - 0.005, time_s__lte=49.5 + 0.005).count()
    # the model's counts; an added episode's counted in its span from the stored beats
    assert [r["beats"] for r in rows] == ["25", "9", "2", str(added)] and added > 0
    assert rows[0]["at"].startswith("20") and rows[2]["at"] == ""
    # The page offers it.
    page = client.get(rec.get_absolute_url()).content.decode()
    assert reverse("recordings:episodes_csv", args=[rec.pk]) in page


def test_episodes_csv_before_episodes_existed_is_404(client, settings, tmp_path, users):
    settings.MEDIA_ROOT = tmp_path / "media"
    old = done_recording(users["alice"])  # its summary has no "episodes"
    client.force_login(users["alice"])
    assert client.get(reverse("recordings:episodes_csv", args=[old.pk])).status_code == 404
    page = client.get(old.get_absolute_url()).content.decode()
    assert reverse("recordings:episodes_csv", args=[old.pk]) not in page


def test_class_zip_holds_the_episodes_csv(client, rec, users):
    client.force_login(users["alice"])
    response = client.get(reverse("recordings:zip", args=[rec.pk, "V"]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = _csv(archive.read("episodes.csv"))
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("AF", "confirmed"), ("bigeminy", "rejected"), ("pause", "not reviewed"), ("VT", "added"),
    ]  # fmt: skip
    assert any(name.endswith(".png") for name in archive.namelist())


def test_rhythm_change_on_a_beats_sample_keeps_both(client, rec, users, tmp_path):
    """WFDB tells two annotations of one sample apart by ``num``: the rhythm change (first) and
    the beat both come back."""
    beat = rec.beats.get(index=10)
    start = beat.sample / rec.sampling_rate
    episode_services.episode_verdict_give(
        user=users["alice"], recording=rec, verdict="added", kind="SVT",
        start_s=start, end_s=start + 2.0,
    )  # fmt: skip
    client.force_login(users["alice"])
    ann = _rdann(client.get(reverse("recordings:atr", args=[rec.pk])).content, tmp_path)
    at = [i for i, s in enumerate(ann.sample) if s == beat.sample]
    assert [ann.symbol[i] for i in at] == ["+", beat.label] and ann.aux_note[at[0]] == "(SVTA"
    assert [int(ann.num[i]) for i in at] == [0, 1]
    assert sum(s not in ("+", '"') for s in ann.symbol) == rec.beats.count()
