"""Writes of the owner's episode verdicts (issue 20): confirm or reject a rhythm episode, add
one the detector missed, withdraw (undo) a verdict.

Rules, as for the beat review (``review_services``): only the recording's owner writes (anyone
else: 404, nothing written); each write decides and writes in one transaction holding the
recording's row (``review_services._lock``), so it reads the episodes a beat review's recount
just wrote; the episodes in ``summary`` are never changed; verdict rows are never deleted (an
undo marks the row withdrawn, a new verdict on the same episode marks the one it replaces).
How a verdict finds its episode after a recount: ``episode_selectors``.
"""

from __future__ import annotations

import math

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


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise EpisodeVerdictRefused(f"The {name} must be a number of seconds.")
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


def episode_verdict_give(
    *, user, recording: Recording, verdict: str, kind: str, start_s, end_s, note: str = ""
) -> EpisodeVerdict:
    """Store ``user``'s (the owner's) ``verdict`` -- "confirmed" or "rejected" on the episode of
    ``kind`` spanning ``start_s``-``end_s`` now in the summary, or "added" for an episode the
    detector missed, over that span -- with an optional short ``note``. A confirm or reject
    replaces the verdict that applied to that episode before (marked withdrawn, replaced by
    this one). Refused with a message, nothing written: an unknown verdict or kind, a span
    outside the recording or ending before it starts, a note over 200 characters, an episode
    not there now (``EpisodeNotFound``, 409), a recording analysed before episodes existed."""
    _check(user=user, recording=recording)
    if verdict not in EpisodeVerdict.Verdict.values:
        raise EpisodeVerdictRefused(
            f"Unknown verdict {str(verdict)[:12]!r}: use confirmed, rejected or added."
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
    now = timezone.now()
    with transaction.atomic():
        _lock(recording)  # the episodes as the latest recount left them
        episodes = recording.summary.get("episodes")
        if episodes is None:
            raise EpisodeVerdictRefused(
                "This recording was analysed before rhythm events were detected; "
                "its events cannot be reviewed."
            )
        replaced = None
        if verdict != EpisodeVerdict.Verdict.ADDED:
            position = next(
                (
                    i
                    for i, row in enumerate(episodes)
                    if row["kind"] == kind
                    and abs(row["start_s"] - start) <= SAME_S
                    and abs(row["end_s"] - end) <= SAME_S
                ),
                None,
            )
            if position is None:
                raise EpisodeNotFound()
            start, end = episodes[position]["start_s"], episodes[position]["end_s"]
            applied, _ = verdicts_match(
                episodes=episodes, verdicts=verdicts_active(recording=recording)
            )
            replaced = applied.get(position)
        row = EpisodeVerdict.objects.create(
            recording=recording,
            verdict=verdict,
            kind=kind,
            start_s=start,
            end_s=end,
            note=text,
            created_by=user,
            created_at=now,
        )
        if replaced is not None:
            EpisodeVerdict.objects.filter(pk=replaced.pk).update(
                withdrawn_at=now, withdrawn_by=user, replaced_by=row
            )
    return row


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
    """'Atrial fibrillation / flutter at 12.0-80.5 s confirmed': a message's words."""
    label = EPISODE_LABELS.get(verdict.kind, verdict.kind)
    return f"{label} at {verdict.start_s:.1f}-{verdict.end_s:.1f} s {verdict.verdict}"
