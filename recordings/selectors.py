"""Reads for recordings: who may see what (owner or staff, 404 for anyone else), strip data,
beat details, events, exports.

Long on purpose: every read of a recording sits here, so each one is scoped to who may see it
in one place."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from PIL import Image

from ecg.classes import class_display_name
from ecg.dsp.signal import bandpass
from ecg.recording_analysis import render_beat_images

from .episode_selectors import episode_csv_rows, episodes_reviewed
from .filters import RecordingFilterSet
from .models import (
    CLASS_COLOURS,
    CLASS_TEXT_COLOURS,
    Beat,
    Recording,
    beats_shown_as,
    shown_label,
)
from .services import mapped_signals

STRIP_MAX_POINTS = 4000
STRIP_MAX_SECONDS = 120.0
# Class folder names as the pipeline's image-folder reader expects them ("!" is awkward in
# file systems): same mapping as ecg.io.image_folder.
FOLDER_ALIASES = {"!": "VF"}


def recording_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Recording]:
    """The user's own recordings, newest first; filters: ``q`` (name, patient ref, note),
    ``status``."""
    filters = {k: v for k, v in (filters or {}).items() if k in ("q", "status")}
    qs = RecordingFilterSet(filters, queryset=Recording.objects.filter(owner=user)).qs
    return qs.order_by("-created_at", "-id")


HISTORY_LIMIT = 25


def recording_history(*, user, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Recordings for the history page, under the same filters as image predictions.

    ``kind`` "image" hides them; ``predicted_class`` keeps recordings with at least one beat of
    that class; ``date_from`` / ``date_to`` are upload dates. The newest HISTORY_LIMIT are
    listed, with the total, and a link to the full list.
    """
    filters = filters or {}
    if filters.get("kind") == "image":
        return {"shown": False, "items": [], "total": 0}
    wanted = ("q", "predicted_class", "date_from", "date_to")
    narrowed = RecordingFilterSet(
        {k: v for k, v in filters.items() if k in wanted},
        queryset=Recording.objects.filter(owner=user),
    )
    qs = narrowed.qs.order_by("-created_at", "-id")
    return {"shown": True, "items": list(qs[:HISTORY_LIMIT]), "total": qs.count()}


def recording_get(*, user, pk: int) -> Recording:
    """One recording if ``user`` owns it or is staff; ``Http404`` otherwise (never 403)."""
    qs = Recording.objects.select_related("owner")
    if not user.is_staff:
        qs = qs.filter(owner=user)
    try:
        return qs.get(pk=pk)
    except (Recording.DoesNotExist, ValueError, TypeError):
        raise Http404("No such recording.") from None


def recording_get_for_change(*, user, pk: int, permission: str) -> Recording:
    """One recording ``user`` may change (``permission`` "delete", or "change" to re-queue):
    their own, or anyone's with ``recordings.<permission>_recording``. Staff may *see*
    everything (recording_get); seeing is not the right to change. ``Http404`` otherwise."""
    qs = Recording.objects.select_related("owner")
    if not user.has_perm(f"recordings.{permission}_recording"):
        qs = qs.filter(owner=user)
    try:
        return qs.get(pk=pk)
    except (Recording.DoesNotExist, ValueError, TypeError):
        raise Http404("No such recording.") from None


def recording_status(*, recording: Recording) -> dict[str, Any]:
    waiting = recording.status == Recording.Status.QUEUED and no_worker_alive()
    return {
        "status": recording.status,
        "status_display": "Waiting for a worker" if waiting else recording.get_status_display(),
        "progress": recording.progress_percent,
        "message": WAITING_MESSAGE if waiting else recording.progress_message,
        "error": recording.error,
        "finished": recording.is_finished,
        "waiting_for_worker": waiting,
    }


WAITING_MESSAGE = (
    "no analysis worker is running right now; the analysis starts when one is "
    "(tell the site administrator if this lasts)"
)
WORKER_GRACE_S = 15  # an idle worker takes a queued task within a second (poll: 0.5 s)


def no_worker_alive() -> bool:
    """True when the queue is not moving: a task has waited in the database broker for over
    WORKER_GRACE_S while no analysis holds a live lease (a busy worker renews its lease twice a
    second). A worker busy with a long analysis is alive: its queue merely waits."""
    from django.utils import timezone
    from django_q.models import OrmQ

    now = timezone.now()
    if Recording.objects.filter(status=Recording.Status.RUNNING, lease_until__gt=now).exists():
        return False
    # The broker stamps a task's lock with the enqueue time; a worker pulling it moves the lock
    # into the future (its retry time). A lock in the past is a task nobody has taken.
    return OrmQ.objects.filter(lock__lt=now - dt.timedelta(seconds=WORKER_GRACE_S)).exists()


def zip_parts(count: int) -> list[int]:
    """Part numbers of a class's ZIP download (RECORDING_ZIP_MAX_BEATS beats each)."""
    return list(range(1, -(-count // settings.RECORDING_ZIP_MAX_BEATS) + 1))


def class_rows(*, recording: Recording) -> list[dict[str, Any]]:
    """The summary's class table with names and colours, for templates."""
    return [
        row
        | {
            "name": class_display_name(row["code"]),
            "colour": CLASS_COLOURS.get(row["code"], "#666"),
            "folder": folder_name(row["code"]),
            "zip_parts": zip_parts(row["count"]),
            "zip_part_beats": settings.RECORDING_ZIP_MAX_BEATS,
        }  # fmt: skip
        for row in recording.summary.get("classes", [])
    ]


def _envelope(x: np.ndarray, max_points: int) -> tuple[np.ndarray, int]:
    """Min/max pairs per bucket so QRS spikes survive the decimation; returns (y, step)."""
    if x.size <= max_points:
        return x, 1
    step = int(np.ceil(x.size / (max_points / 2)))
    usable = (x.size // step) * step
    buckets = x[:usable].reshape(-1, step)
    out = np.empty(buckets.shape[0] * 2, dtype=x.dtype)
    out[0::2] = buckets.min(axis=1)
    out[1::2] = buckets.max(axis=1)
    return out, step


def recording_strip(
    *, recording: Recording, start_s: float, seconds: float, all_leads: bool = False
) -> dict[str, Any]:
    """The band-passed chosen lead between ``start_s`` and ``start_s + seconds`` and its beats;
    the second lead (when stored) and what the ECG-paper display needs (``strip_paper``); with
    ``all_leads``, every other stored lead too (``other_leads``: a 12-lead ECG's ten more)."""
    seconds = float(min(max(seconds, 1.0), STRIP_MAX_SECONDS))
    start_s = float(min(max(start_s, 0.0), max(recording.duration_s - seconds, 0.0)))
    fs = recording.sampling_rate
    with mapped_signals(recording) as signals:
        y, step = _strip_lead(signals, 0, fs, start_s, seconds)
        second = _strip_second_lead(recording, signals, start_s, seconds)
        others = _strip_other_leads(recording, signals, start_s, seconds) if all_leads else []
    beats = recording.beats.filter(time_s__gte=start_s, time_s__lt=start_s + seconds)
    classes = recording.model_metadata.get("classes") or list(CLASS_COLOURS)
    return {
        "start_s": start_s,
        "seconds": seconds,
        "duration_s": recording.duration_s,
        "fs": fs / step * (2 if step > 1 else 1),
        "signal": y.astype(float).tolist(),
        "beats": [
            {
                "index": b.index,
                "t": b.time_s,
                "label": b.label,
                "confidence": b.confidence,
                "state": b.state,
                "runner_up": b.runner_up,
                "state_reason": b.state_reason,
                "reference": b.reference_label,
                "reviewed": b.reviewed_label,
                "suggested": b.suggested_label,
                "disagrees": beat_disagrees(beat=b, classes=classes),
            }  # fmt: skip
            for b in beats
        ],
        "unreadable": unreadable_stretches(
            recording=recording, start_s=start_s, end_s=start_s + seconds
        ),
        "colours": CLASS_COLOURS,
        "episodes": recording_episodes(
            recording=recording, start_s=start_s, end_s=start_s + seconds
        ),
    } | strip_paper(recording=recording, second=second, others=others)


def _strip_lead(
    signals: np.ndarray, row: int, fs: float, start_s: float, seconds: float
) -> tuple[np.ndarray, int]:
    """Lead ``row`` of the stored signals, band-passed, between ``start_s`` and
    ``start_s + seconds``, in mV (3 decimals), enveloped to STRIP_MAX_POINTS; and the step."""
    margin = int(2 * fs)  # filter context, cut off again below
    lo = int(start_s * fs)
    hi = min(int((start_s + seconds) * fs), signals.shape[1])
    piece = bandpass(np.array(signals[row, max(0, lo - margin) : hi + margin]), fs)
    piece = piece[lo - max(0, lo - margin) :][: hi - lo]
    return _envelope(np.round(piece, 3), STRIP_MAX_POINTS)


def _strip_other_leads(
    recording: Recording, signals: np.ndarray, start_s: float, seconds: float
) -> list[dict[str, Any]]:
    """The stored leads after the second, in stored order, each as the second lead is sent."""
    names = recording.stored_lead_names
    return [
        {"name": names[row], "signal": _strip_lead(signals, row, recording.sampling_rate,
                                                   start_s, seconds)[0].astype(float).tolist()}
        for row in range(2, min(len(names), signals.shape[0]))
    ]  # fmt: skip


def second_lead_name(*, recording: Recording) -> str | None:
    """The name of the signal file's second row (``stored_lead_order``: the lead the two-lead
    model reads beside the analysed one, V1 first); None for one lead."""
    names = recording.stored_lead_names
    return names[1] if len(names) > 1 else None


def _strip_second_lead(
    recording: Recording, signals: np.ndarray, start_s: float, seconds: float
) -> dict[str, Any] | None:
    name = second_lead_name(recording=recording)
    if name is None or signals.shape[0] < 2:
        return None
    y, _step = _strip_lead(signals, 1, recording.sampling_rate, start_s, seconds)
    return {"name": name, "signal": y.astype(float).tolist()}


def beat_disagrees(*, beat: Beat, classes: list[str]) -> bool:
    """The beat's shown class differs from its uploaded reference class: what the strip marks.

    Only a beat shown as a class counts (reviewed, or classified): an uncertain or unreadable
    beat shows no diagnosis to disagree with. A beat without a matched reference beat, or whose
    reference class is outside the model's classes (stored as ""), is not scored."""
    if not beat.reference_label or beat.reference_label not in classes:
        return False
    if beat.reviewed_label:
        return beat.reviewed_label != beat.reference_label
    return beat.state == Beat.State.CLASSIFIED and beat.label != beat.reference_label


# The ECG paper (strip.js draws it): white paper, a faint 1 mm grid (decoration, 1.5:1) and a
# 5 mm grid at >= 3:1 (WCAG non-text contrast), a black trace (>= 4.5:1 on both grids). Label
# text uses CLASS_TEXT_COLOURS, darker than the swatch colours, so that every label reads at
# >= 4.5:1 on the paper (WCAG AA text; tests/recordings/test_strip_paper.py checks).
STRIP_PAPER = {
    "paper": "#ffffff",
    "grid_minor": "#f3c9c9",
    "grid_major": "#d77272",
    "trace": "#000000",
    "text": "#333333",
    "disagree": "#b00020",
    "grey": "#595959",
}


def strip_paper(
    *,
    recording: Recording,
    second: dict[str, Any] | None,
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The strip's display fields: the analysed lead's name, the second lead (name and signal,
    the same window and envelope as ``signal``) or None, the other leads asked for (a list,
    empty unless asked), how many leads are stored, whether reference labels exist, the paper's
    colours and the class label colours."""
    return {
        "lead_name": recording.lead,
        "second_lead": second,
        "other_leads": others or [],
        "stored_lead_count": len(recording.stored_lead_names),  # the leads "All N leads" draws
        "has_reference": recording.has_reference,
        "paper": STRIP_PAPER,
        "text_colours": CLASS_TEXT_COLOURS,
    }


def recording_episodes(
    *, recording: Recording, start_s: float = 0.0, end_s: float | None = None
) -> list[dict[str, Any]]:
    """Rhythm episodes (``summary["episodes"]``, ``ecg.features.episodes``) and the owner's
    added ones overlapping ``start_s``-``end_s`` seconds, in time order, each with its review
    ``state`` ("confirmed", "rejected", "added", "not reviewed") and ``state_text``; a point
    event (start == end) counts when it lies inside the window. The strip draws the rejected
    ones apart (``strip.js``)."""
    end_s = recording.duration_s if end_s is None else end_s
    keys = ("kind", "label", "start_s", "end_s", "duration_s", "beats", "state", "state_text")
    return [
        {key: row[key] for key in keys}
        for row in episodes_reviewed(recording=recording)["rows"]
        if row["end_s"] >= start_s and row["start_s"] < end_s
    ]


EVENTS_SHOWN = 50


def episode_overview(*, recording: Recording) -> dict[str, Any]:
    """The recording page's event list: the first ``EVENTS_SHOWN`` episodes with the owner's
    verdicts and added episodes (``episode_selectors.episodes_reviewed``), how many more, the
    count per kind (rejected left out, added counted in) and the verdicts whose episode is gone.
    ``computed`` is False for a recording analysed before episodes were (its summary has no
    ``episodes``)."""
    reviewed = episodes_reviewed(recording=recording)
    rows = reviewed["rows"]
    return reviewed | {"rows": rows[:EVENTS_SHOWN], "more": max(0, len(rows) - EVENTS_SHOWN)}


def unreadable_stretches(
    *, recording: Recording, start_s: float = 0.0, end_s: float | None = None
) -> list[dict[str, Any]]:
    """Unreadable stretches of the analysed lead overlapping ``start_s``-``end_s`` (seconds),
    neighbouring unreadable segments merged, each with its reasons: what the strip greys out
    and the page lists."""
    end_s = recording.duration_s if end_s is None else end_s
    stretches: list[dict[str, Any]] = []
    for row in (recording.quality or {}).get("segments", []):
        if row["readable"] or row["end_s"] <= start_s or row["start_s"] >= end_s:
            continue
        last = stretches[-1] if stretches else None
        if last is not None and abs(last["end_s"] - row["start_s"]) < 1e-6:
            last["end_s"] = row["end_s"]
            if row["reason"] not in last["reasons"]:
                last["reasons"].append(row["reason"])
        else:
            stretches.append(
                {"start_s": row["start_s"], "end_s": row["end_s"], "reasons": [row["reason"]]}
            )
    return stretches


def quality_overview(*, recording: Recording) -> dict[str, Any]:
    """What the recording page says about what could not be read: the analysable share, the
    beats per state, the unreadable stretches (the first ``QUALITY_STRETCHES_SHOWN``) and the
    input sanity warnings (``ecg.features.sanity``)."""
    stretches = unreadable_stretches(recording=recording)
    share = (recording.quality or {}).get("readable_share")
    return {
        "analysable_percent": None if share is None else round(100 * share, 1),
        "states": recording.summary.get("states") or {},
        "stretches": stretches[:QUALITY_STRETCHES_SHOWN],
        "more_stretches": max(0, len(stretches) - QUALITY_STRETCHES_SHOWN),
        "warnings": (recording.quality or {}).get("warnings") or [],
        # runs of "!" calls whose signal failed the VF detectors: uncertain, not flutter
        "flutter_unconfirmed": [
            c for c in recording.summary.get("flutter_checks") or [] if not c["confirmed"]
        ][:QUALITY_STRETCHES_SHOWN],
        "atrial_in_af": _atrial_in_af_note(recording.summary),
    }


def _atrial_in_af_note(summary: dict[str, Any]) -> str:
    """The sentence on A calls read as N inside AF (``ecg.features.af_context``), "" if none."""
    from ecg.features.af_context import merged_note

    count = int(summary.get("atrial_calls_in_af") or 0)
    return merged_note(count) if count else ""


QUALITY_STRETCHES_SHOWN = 20


def recording_next_beat(
    *, recording: Recording, after_s: float, label: str, backwards: bool = False
) -> Beat | None:
    """The next (or previous) beat shown as class ``label`` after ``after_s`` seconds."""
    beats = recording.beats.filter(beats_shown_as(label))
    if backwards:
        return beats.filter(time_s__lt=after_s).order_by("-time_s").first()
    return beats.filter(time_s__gt=after_s).order_by("time_s").first()


def _probabilities(recording: Recording) -> np.ndarray:
    with recording.results_file.open("rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def recording_beat(*, recording: Recording, index: int) -> dict[str, Any]:
    beat = recording.beats.filter(index=index).first()
    if beat is None or not recording.results_file:
        raise Http404("No such beat.")
    probs = _probabilities(recording)[index].astype(float)
    classes = recording.model_metadata.get("classes", [])
    return {
        "index": beat.index,
        "time_s": beat.time_s,
        "label": beat.label,
        "label_name": class_display_name(beat.label),
        "confidence": beat.confidence,
        "state": beat.state,
        "runner_up": beat.runner_up,
        "state_reason": beat.state_reason,
        "shown_label": shown_label(beat.label, beat.state, beat.runner_up),  # the model's
        "reference": beat.reference_label,
        "reviewed_label": beat.reviewed_label,
        "reviewed_by": beat.reviewed_by.get_username() if beat.reviewed_by else "",
        "suggested_label": beat.suggested_label,
        "probabilities": [
            {"code": c, "name": class_display_name(c), "percent": round(100 * float(p), 1)}
            for c, p in zip(classes, probs, strict=False)
        ],
    }


def recording_beat_images(*, recording: Recording, samples: np.ndarray) -> np.ndarray:
    """The model's input images for beats at ``samples``, redrawn from the stored signal."""
    with mapped_signals(recording) as signals:
        images, _kept = render_beat_images(
            recording.model_metadata, signals[0], recording.sampling_rate, samples
        )
    return images


def recording_beat_png(*, recording: Recording, index: int) -> bytes:
    beat = recording.beats.filter(index=index).first()
    if beat is None:
        raise Http404("No such beat.")
    image = recording_beat_images(recording=recording, samples=np.array([beat.sample]))
    if len(image) == 0:
        raise Http404("No image for this beat.")
    buffer = io.BytesIO()
    Image.fromarray(image[0]).save(buffer, format="PNG")
    return buffer.getvalue()


def recording_csv_rows(*, recording: Recording) -> Iterator[list[str]]:
    """Per-beat CSV: header then one row per beat (probabilities from the results file)."""
    classes = recording.model_metadata.get("classes", [])
    probs = _probabilities(recording) if recording.results_file else None
    yield (
        ["beat", "time_s", "sample", "class", "confidence"]
        + [f"p_{c}" for c in classes]
        # "class" is the model's output whatever the state; state_reason says why not shown
        + ["state", "runner_up", "state_reason"]
        + (["reference_class"] if recording.has_reference else [])
        # the clinician's label (latest correction) and who gave it; a suggestion is no review
        + ["reviewed_class", "reviewed_by", "suggested_class"]
    )
    beats = recording.beats.select_related("reviewed_by").order_by("index")
    for beat in beats.iterator(chunk_size=5000):
        row = [str(beat.index), f"{beat.time_s:.4f}", str(beat.sample), beat.label,
               f"{beat.confidence:.4f}"]  # fmt: skip
        if probs is not None:
            values = [float(p) for p in probs[beat.index]]
            if beat.label in classes:  # the stored file is float16: give the class's column
                values[classes.index(beat.label)] = beat.confidence  # the beat's own value
            row += [f"{p:.4f}" for p in values]
        row += [beat.state, beat.runner_up, beat.state_reason]
        if recording.has_reference:
            row.append(beat.reference_label)
        reviewer = beat.reviewed_by.get_username() if beat.reviewed_by else ""
        row += [beat.reviewed_label, reviewer if beat.reviewed_label else "", beat.suggested_label]
        yield row


def csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue()


def folder_name(code: str) -> str:
    return FOLDER_ALIASES.get(code, code)


def recording_class_zip(
    *, recording: Recording, label: str, max_beats: int, part: int = 1
) -> tuple[BinaryIO, int]:
    """A ZIP of the images of the beats shown as class ``label`` (classified, as counted on the
    page) as ``<class folder>/<record>_beat<index>.png``, in an open temporary file (too much
    to build in memory), and the number of beats in it. Part
    ``part`` (from 1) holds the class's beats ``(part - 1) * max_beats`` up to ``max_beats``
    PNGs: drawing takes 0.6-1.2 ms a beat, so the cap bounds a request's time. Every part also
    holds ``episodes.csv``, the rhythm events as reviewed (``episode_csv_rows``), when the
    recording has them; an image-folder reader reads class folders only."""
    if part < 1:
        raise Http404("No such part.")
    first = (part - 1) * max_beats
    beats = list(
        recording.beats.filter(beats_shown_as(label))
        .order_by("index")
        .values_list("index", "sample")[first : first + max_beats]
    )
    if not beats:
        raise Http404("No beat of this class." if part == 1 else "No such part.")
    buffer = tempfile.TemporaryFile()
    folder = folder_name(label)
    with (
        mapped_signals(recording) as signals,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for start in range(0, len(beats), 2000):
            chunk = beats[start : start + 2000]
            samples = np.array([s for _, s in chunk], dtype=np.int64)
            images, kept = render_beat_images(
                recording.model_metadata, signals[0], recording.sampling_rate, samples
            )
            for position, image in zip(kept.tolist(), images, strict=True):
                index = chunk[position][0]
                png = io.BytesIO()
                Image.fromarray(image).save(png, format="PNG")
                archive.writestr(f"{folder}/{recording.name}_beat{index:06d}.png", png.getvalue())
        if recording.summary.get("episodes") is not None:  # the rhythm events beside the beats
            rows = episode_csv_rows(recording=recording)
            archive.writestr("episodes.csv", "".join(csv_line(row) for row in rows))
    buffer.seek(0)
    return buffer, len(beats)
