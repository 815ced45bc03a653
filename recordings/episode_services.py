"""Writes of the owner's episode verdicts (issue 20): confirm, reject or correct (move the
edges of) a rhythm episode, add one the detector missed, confirm or reject every episode of a
kind not yet reviewed in one action, withdraw (undo) a verdict or such a batch.

Rules, as for the beat review (``review_services``): only the recording's owner writes (anyone
else: 404, nothing written); each write decides and writes in one transaction holding the
recording's row (``review_services._lock``), so it reads the episodes a beat review's recount
just wrote; the episodes in ``summary`` are never changed; verdict rows are never deleted (an
undo marks the row withdrawn, a new verdict on the same episode marks the one it replaces).
How a verdict finds its episode after a recount: ``episode_selectors``.
"""

from __future__ import annotations

import math
import re
import uuid

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from ecg.features.episodes import EPISODE_KINDS, EPISODE_LABELS

from .episode_selectors import verdicts_active, verdicts_match
from .errors import EpisodeNotFound, EpisodeVerdictRefused
from .models import EpisodeVerdict, Recording
from .review_services import _check, _lock

NOTE_MAX = 200
SAME_S = 0.005  # a span named by a page or a client matches a stored one within this
# "95", "95.5", "1:35", "01:35.5", "1:01:35": seconds, or minutes and seconds as a clock shows
CLOCK = re.compile(r"^(?:(\d+):)?(\d+):([0-5]?\d(?:\.\d*)?)$")


def _number(value, name: str) -> float:
    text = str(value).strip() if isinstance(value, str) else None
    clock = CLOCK.match(text) if text else None
    if clock:
        hours, minutes, seconds = clock.groups()
        number = (int(hours or 0) * 60 + int(minutes)) * 60 + float(seconds)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
    if not math.isfinite(number):
        raise EpisodeVerdictRefused(
            f"The {name} must be a number of seconds (95.5) or minutes and seconds (1:35.5)."
        )
    return number


def _span(*, recording: Recording, start_s, end_s) -> tuple[float, float]:
    start, end = _number(start_s, "start"), _number(end_s, "end")
    if start < 0 or end > recording.duration_s:
        raise EpisodeVerdictRefused(
            f"The event must lie within the recording (0 to {recording.duration_s:.2f} s)."
        )
    if end <= start:
        raise EpisodeVerdictRefused("The end must come after the start.")
    return start, end


def _note(note) -> str:
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise EpisodeVerdictRefused(f"The note is {len(note)} characters; at most {NOTE_MAX}.")
    return note


def _find(
    *, episodes: list[dict], applied: dict, kind: str, start: float, end: float
) -> int | None:
    """The position of the episode of ``kind`` named by ``start``-``end``: its span in the
    summary or, for a corrected one, the corrected span the surfaces list it with."""

    def same(a: float, b: float) -> bool:
        return abs(a - b) <= SAME_S

    for i, row in enumerate(episodes):
        if row["kind"] == kind and same(row["start_s"], start) and same(row["end_s"], end):
            return i
    for i, verdict in applied.items():
        if (
            verdict.verdict == EpisodeVerdict.Verdict.CORRECTED
            and episodes[i]["kind"] == kind
            and same(verdict.corrected_start_s, start)
            and same(verdict.corrected_end_s, end)
        ):
            return i
    return None


def _episodes(recording: Recording) -> list[dict]:
    episodes = recording.summary.get("episodes")
    if episodes is None:
        raise EpisodeVerdictRefused(
            "This recording was analysed before rhythm events were detected; "
            "its events cannot be reviewed."
        )
    return episodes


def episode_verdict_give(
    *,
    user,
    recording: Recording,
    verdict: str,
    kind: str,
    start_s,
    end_s,
    note: str = "",
    corrected_start_s: float | str | None = None,
    corrected_end_s: float | str | None = None,
) -> EpisodeVerdict:
    """Store ``user``'s (the owner's) ``verdict`` -- "confirmed", "rejected" or "corrected" on
    the episode of ``kind`` spanning ``start_s``-``end_s`` now (as the summary holds it, or as
    listed after an earlier correction), or "added" for an episode the detector missed, over
    that span -- with an optional short ``note``. A correction gives the span the owner reads,
    ``corrected_start_s``-``corrected_end_s`` (seconds, or "m:ss" as a clock shows them); the
    verdict keeps the episode's own span too, which is what a recount is matched on. A
    confirm, reject or correct replaces the verdict that applied to that episode before
    (marked withdrawn, replaced by this one). Refused with a message, nothing written: an
    unknown verdict or kind, a span (given, added or corrected) outside the recording or
    ending before it starts, a correction that moves no edge, a note over 200 characters, an
    episode not there now (``EpisodeNotFound``, 409), a recording analysed before episodes
    existed."""
    _check(user=user, recording=recording)
    if verdict not in EpisodeVerdict.Verdict.values:
        raise EpisodeVerdictRefused(
            f"Unknown verdict {str(verdict)[:12]!r}: use confirmed, rejected, corrected or added."
        )
    if kind not in EPISODE_KINDS:
        raise EpisodeVerdictRefused(
            f"Unknown kind of event {str(kind)[:12]!r}: use one of {', '.join(EPISODE_KINDS)}."
        )
    text = _note(note)
    start, end = (
        _span(recording=recording, start_s=start_s, end_s=end_s)
        if verdict == EpisodeVerdict.Verdict.ADDED
        else (_number(start_s, "start"), _number(end_s, "end"))
    )
    corrected = None
    if verdict == EpisodeVerdict.Verdict.CORRECTED:
        if corrected_start_s in (None, "") or corrected_end_s in (None, ""):
            raise EpisodeVerdictRefused("A correction needs the event's new start and end.")
        corrected = _span(recording=recording, start_s=corrected_start_s, end_s=corrected_end_s)
    now = timezone.now()
    with transaction.atomic():
        _lock(recording)  # the episodes as the latest recount left them
        episodes = _episodes(recording)
        replaced = None
        if verdict != EpisodeVerdict.Verdict.ADDED:
            applied, _ = verdicts_match(
                episodes=episodes, verdicts=verdicts_active(recording=recording)
            )
            position = _find(episodes=episodes, applied=applied, kind=kind, start=start, end=end)
            if position is None:
                raise EpisodeNotFound()
            start, end = episodes[position]["start_s"], episodes[position]["end_s"]
            replaced = applied.get(position)
            if (
                corrected is not None
                and max(abs(corrected[0] - start), abs(corrected[1] - end)) <= SAME_S
            ):
                raise EpisodeVerdictRefused(
                    "The new span is the detected one: undo the correction to go back to it."
                    if replaced is not None and replaced.verdict == verdict
                    else "The new span is the detected one; confirm the event instead."
                )
        row = EpisodeVerdict.objects.create(
            recording=recording,
            verdict=verdict,
            kind=kind,
            start_s=start,
            end_s=end,
            corrected_start_s=corrected[0] if corrected else None,
            corrected_end_s=corrected[1] if corrected else None,
            note=text,
            created_by=user,
            created_at=now,
        )
        if replaced is not None:
            EpisodeVerdict.objects.filter(pk=replaced.pk).update(
                withdrawn_at=now, withdrawn_by=user, replaced_by=row
            )
    return row


def _count(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None  # matches no count: refused as a stale page would be


# The verdicts one action may give every episode of a kind: a span correction is per episode.
KIND_VERDICTS = (EpisodeVerdict.Verdict.CONFIRMED, EpisodeVerdict.Verdict.REJECTED)


def episode_verdicts_give_kind(
    *,
    user,
    recording: Recording,
    verdict: str,
    kind: str,
    expected: int | str | None = None,
    note: str = "",
) -> list[EpisodeVerdict]:
    """Confirm or reject (``verdict``), in one action, every episode of ``kind`` now in the
    summary that has no verdict (one that has one -- confirmed, rejected, corrected -- is left
    as it is), each a row of its own with the same optional ``note``, sharing one ``batch`` id,
    so that ``episode_verdicts_withdraw_batch`` undoes them together (and each row's own undo
    still undoes that one). ``expected``, the count the page showed: refused when the
    episodes were recounted to another count since. Refused with a message, nothing written:
    a verdict other than confirmed / rejected, an unknown kind, none left, a note over 200
    characters, a recording analysed before episodes existed."""
    _check(user=user, recording=recording)
    if verdict not in KIND_VERDICTS:
        raise EpisodeVerdictRefused(
            f"Unknown verdict {str(verdict)[:12]!r} for all events of a kind: use confirmed or "
            "rejected."
        )
    if kind not in EPISODE_KINDS:
        raise EpisodeVerdictRefused(
            f"Unknown kind of event {str(kind)[:12]!r}: use one of {', '.join(EPISODE_KINDS)}."
        )
    text = _note(note)
    label = EPISODE_LABELS[kind]
    now, batch = timezone.now(), uuid.uuid4()
    with transaction.atomic():
        _lock(recording)
        episodes = _episodes(recording)
        applied, _ = verdicts_match(
            episodes=episodes, verdicts=verdicts_active(recording=recording)
        )
        todo = [
            row
            for position, row in enumerate(episodes)
            if row["kind"] == kind and position not in applied
        ]
        if not todo:
            raise EpisodeVerdictRefused(f"No {label} event without a verdict; nothing {verdict}.")
        if expected not in (None, "") and _count(expected) != len(todo):
            raise EpisodeVerdictRefused(
                f"{len(todo)} {label} events have no verdict now, not {str(expected)[:6]}: the "
                "events were recounted since this page was shown. Reload it; nothing was saved."
            )
        rows = EpisodeVerdict.objects.bulk_create(
            EpisodeVerdict(
                recording=recording,
                verdict=verdict,
                kind=kind,
                start_s=row["start_s"],
                end_s=row["end_s"],
                note=text,
                created_by=user,
                created_at=now,
                batch=batch,
            )
            for row in todo
        )
    return rows


def episode_verdicts_withdraw_batch(
    *, user, recording: Recording, batch: uuid.UUID | str
) -> list[EpisodeVerdict]:
    """Undo a "confirm / reject all of a kind" in one action: every row of ``batch`` not
    withdrawn yet (one undone alone stays as it is) is marked withdrawn by ``user`` now. A
    batch not of this recording: 404; nothing left to withdraw: refused, nothing written."""
    _check(user=user, recording=recording)
    try:
        key = uuid.UUID(str(batch))
    except ValueError:
        raise Http404("No such batch of verdicts.") from None
    with transaction.atomic():
        _lock(recording)
        rows = recording.episode_verdicts.filter(batch=key)
        if not rows.exists():
            raise Http404("No such batch of verdicts.")
        active = list(rows.filter(withdrawn_at=None))
        if not active:
            raise EpisodeVerdictRefused("These verdicts were already withdrawn; nothing changed.")
        now = timezone.now()
        rows.filter(pk__in=[r.pk for r in active]).update(withdrawn_at=now, withdrawn_by=user)
    for row in active:
        row.withdrawn_at, row.withdrawn_by = now, user
    return active


def episode_verdict_withdraw(*, user, recording: Recording, verdict_id) -> EpisodeVerdict:
    """Undo one verdict or added episode of ``recording`` (its owner only): the row stays, marked
    withdrawn by ``user`` now, and the episode shows as not reviewed again (an added one goes).
    A verdict not of this recording: 404; already withdrawn: refused, nothing written."""
    _check(user=user, recording=recording)
    try:
        pk = int(verdict_id)
    except (TypeError, ValueError):
        raise Http404("No such episode verdict.") from None
    with transaction.atomic():
        _lock(recording)
        row = recording.episode_verdicts.filter(pk=pk).first()
        if row is None:
            raise Http404("No such episode verdict.")
        if row.withdrawn_at is not None:
            raise EpisodeVerdictRefused("This verdict was already withdrawn; nothing changed.")
        row.withdrawn_at, row.withdrawn_by = timezone.now(), user
        row.save(update_fields=["withdrawn_at", "withdrawn_by"])
    return row


def episode_verdict_describe(verdict: EpisodeVerdict) -> str:
    """'Atrial fibrillation / flutter at 12.0-80.5 s confirmed' (a correction: '... corrected
    to 10.0-82.0 s'): a message's words."""
    label = EPISODE_LABELS.get(verdict.kind, verdict.kind)
    text = f"{label} at {verdict.start_s:.1f}-{verdict.end_s:.1f} s {verdict.verdict}"
    if verdict.verdict == EpisodeVerdict.Verdict.CORRECTED:
        text += f" to {verdict.corrected_start_s:.1f}-{verdict.corrected_end_s:.1f} s"
    return text
