"""Reads of the owner's episode verdicts (issue 20): each rhythm episode of the summary with its
state -- confirmed, rejected, corrected, not reviewed -- the episodes the owner added, the
verdicts whose episode is gone, and the counts per kind that every surface (page, strip, PDF,
API, events CSV, ``.atr``) shows. A corrected episode is shown over the owner's span (the
model's span beside it, ``model_start_s`` / ``model_end_s``); the summary keeps the model's.

The matching rule (``verdicts_match``), applied on every read so that a verdict survives a
recount of the episodes after a beat review:

* a verdict applies to the episode of the SAME kind, among those in ``summary["episodes"]``
  now, whose span overlaps the verdict's span (the episode's span when the verdict was given)
  the most, in seconds; a point event (start == end) overlaps a span it lies in or touches;
* ties go to the episode whose start is nearest the verdict's start;
* when two verdicts pick the same episode (a recount merged two episodes) the latest applies
  and the older one is listed as not applied, with its reason;
* a verdict whose span overlaps no episode of its kind any more is listed as "episode gone",
  never dropped silently; it applies again if a later recount brings such an episode back.

A correction is matched on the episode's span when it was given (the model's), like any
verdict, never on the owner's corrected span. Added episodes are the owner's own and take part
in no matching. Counts per kind leave rejected episodes out and count added ones in, a
corrected one with its corrected duration.

A corrected episode's ``beats`` are counted on every read from the stored beats inside the
owner's span (``episode_beats_count``), never stored, so a later beat review cannot leave a
stale count behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q
from django.http import Http404

from ecg.classes import NOT_A_BEAT
from ecg.features.episodes import EPISODE_CAVEATS, EPISODE_LABELS

from .models import Beat, EpisodeVerdict, Recording

GONE = "episode gone"  # its episode is no longer in the recounted list
SUPERSEDED = "its episode has a later verdict"  # two verdicts on one merged episode
# An episode's edges are beat times rounded to 10 ms (``Episode.as_dict``): a beat within this
# of an edge is the edge's own beat, inside the span as the model counts it.
EDGE_S = 0.005


def episode_beats_count(*, recording: Recording, start_s: float, end_s: float) -> int:
    """The beats of ``recording`` inside ``start_s``-``end_s`` (edges included, within
    ``EDGE_S``) as a detected episode counts its own: classified and uncertain beats (an
    uncertain beat is still a heartbeat), and a reviewed beat whatever the model's state (the
    recount counts it classified with the clinician's class); an unreadable beat not reviewed
    is not counted -- no detected episode holds one (it breaks every run and pattern, and no AF
    episode spans an interval next to it); nor is a beat reviewed as an artefact (no beat).
    Read from the stored beats on each call (the index on recording and time), so it follows a
    beat review."""
    return (
        recording.beats.filter(time_s__gte=start_s - EDGE_S, time_s__lte=end_s + EDGE_S)
        .filter(~Q(state=Beat.State.UNREADABLE) | ~Q(reviewed_label=""))
        .exclude(reviewed_label=NOT_A_BEAT)
        .count()
    )


def verdicts_active(*, recording: Recording) -> list[EpisodeVerdict]:
    """The recording's verdicts not withdrawn, newest first, with their author."""
    return list(
        recording.episode_verdicts.filter(withdrawn_at=None)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    """Seconds of overlap of two spans; None when they do not meet. A point span meets a span
    it lies in or touches (overlap 0)."""
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    if overlap > 0 or (overlap >= 0 and (a[0] == a[1] or b[0] == b[1])):
        return max(overlap, 0.0)
    return None


def verdicts_match(
    *, episodes: list[dict[str, Any]], verdicts: list[EpisodeVerdict]
) -> tuple[dict[int, EpisodeVerdict], list[tuple[EpisodeVerdict, str]]]:
    """The rule above: {episode position: the verdict that applies to it} and the confirm /
    reject verdicts that apply to none, each with why. ``verdicts`` newest first."""
    by_kind: dict[str, list[int]] = {}
    for position, row in enumerate(episodes):
        by_kind.setdefault(row["kind"], []).append(position)
    applied: dict[int, EpisodeVerdict] = {}
    unmatched: list[tuple[EpisodeVerdict, str]] = []
    for verdict in verdicts:
        if verdict.verdict == EpisodeVerdict.Verdict.ADDED:
            continue
        span = (verdict.start_s, verdict.end_s)
        best, best_key = None, None
        for position in by_kind.get(verdict.kind, []):
            row = episodes[position]
            overlap = _overlap(span, (row["start_s"], row["end_s"]))
            if overlap is None:
                continue
            key = (overlap, -abs(row["start_s"] - verdict.start_s))
            if best_key is None or key > best_key:
                best, best_key = position, key
        if best is None:
            unmatched.append((verdict, GONE))
        elif best in applied:  # a newer verdict took it (newest first)
            unmatched.append((verdict, SUPERSEDED))
        else:
            applied[best] = verdict
    return applied, unmatched


def _who(verdict: EpisodeVerdict) -> str:
    return verdict.created_by.username if verdict.created_by else "a deleted user"


def _verdict_fields(verdict: EpisodeVerdict | None) -> dict[str, Any]:
    if verdict is None:
        return {"state": "not reviewed", "state_text": "not reviewed", "verdict": None}
    return {
        "state": verdict.verdict,
        "state_text": f"{verdict.verdict} by {_who(verdict)}",
        "verdict": {
            "id": verdict.pk,
            "verdict": verdict.verdict,
            "by": _who(verdict),
            "at": verdict.created_at,
            "note": verdict.note,
            "start_s": verdict.start_s,
            "end_s": verdict.end_s,
            "corrected_start_s": verdict.corrected_start_s,
            "corrected_end_s": verdict.corrected_end_s,
            "batch": str(verdict.batch) if verdict.batch else None,
        },
    }


def _shown_span(verdict: EpisodeVerdict) -> tuple[float, float]:
    """The span the surfaces show for a verdict's episode: the owner's for a correction."""
    if verdict.verdict == EpisodeVerdict.Verdict.CORRECTED:
        return verdict.corrected_start_s, verdict.corrected_end_s
    return verdict.start_s, verdict.end_s


def _span_fields(start: float, end: float) -> dict[str, Any]:
    return {"start_s": start, "end_s": end, "duration_s": round(end - start, 2)}


def _added_row(recording: Recording, verdict: EpisodeVerdict) -> dict[str, Any]:
    """An episode the owner added, its beats counted in its span as a correction's are."""
    beats = episode_beats_count(recording=recording, start_s=verdict.start_s, end_s=verdict.end_s)
    return (
        {"kind": verdict.kind, "label": EPISODE_LABELS.get(verdict.kind, verdict.kind)}
        | _span_fields(verdict.start_s, verdict.end_s)
        | {
            "beats": beats,
            "added": True,
            "model_start_s": None,
            "model_end_s": None,
        }
        | _verdict_fields(verdict)
    )


def _corrected_fields(recording: Recording, verdict: EpisodeVerdict) -> dict[str, Any]:
    """A correction's span and the beats counted in it (the model's count was of its span)."""
    start, end = _shown_span(verdict)
    beats = episode_beats_count(recording=recording, start_s=start, end_s=end)
    return _span_fields(start, end) | {"beats": beats}


def _episode_row(
    recording: Recording, row: dict[str, Any], verdict: EpisodeVerdict | None
) -> dict[str, Any]:
    """A summary episode as the surfaces show it; corrected: over the owner's span, with the
    beats counted in it."""
    shown = dict(row) | {"added": False, "model_start_s": row["start_s"]}
    shown["model_end_s"] = row["end_s"]
    if verdict is not None and verdict.verdict == EpisodeVerdict.Verdict.CORRECTED:
        shown |= _corrected_fields(recording, verdict)
    return shown | _verdict_fields(verdict)


def _unmatched_row(recording: Recording, verdict: EpisodeVerdict, reason: str) -> dict[str, Any]:
    """A verdict that applies to no episode now, over its stored span; a correction with the
    beats counted in its own span (a confirm's or reject's episode, and its count, are gone)."""
    label = EPISODE_LABELS.get(verdict.kind, verdict.kind)
    fields = (
        _corrected_fields(recording, verdict)
        if verdict.verdict == EpisodeVerdict.Verdict.CORRECTED
        else _span_fields(verdict.start_s, verdict.end_s) | {"beats": None}
    )
    row = {"kind": verdict.kind, "label": label} | fields | {"reason": reason}
    return row | _verdict_fields(verdict)


def episodes_reviewed(*, recording: Recording) -> dict[str, Any]:
    """Every episode as the surfaces show it, in time order: the summary's episodes (the model's
    or the recount's, unchanged) each with ``state`` ("confirmed", "rejected", "corrected",
    "not reviewed"), ``state_text`` ("confirmed by alice"), ``verdict`` (id, by, at, note,
    span given, corrected span, batch) and ``model_start_s`` / ``model_end_s`` (the summary's
    span; a corrected episode's ``start_s`` / ``end_s`` / ``duration_s`` are the owner's and
    its ``beats`` those counted there, ``episode_beats_count``), and the owner's added
    episodes (``added``: True, state "added", ``beats`` counted in its span); ``unmatched``,
    the verdicts applied to no episode (each with ``reason``; the span shown and its
    ``beats``: a correction's own, None for the others); ``counts`` per kind without the
    rejected and with the added; ``rejected``, how many episodes were left out of the counts;
    ``caveats``, what to know about the kinds counted (``EPISODE_CAVEATS``).
    ``computed`` is False for a recording analysed before episodes were detected."""
    episodes = recording.summary.get("episodes")
    if episodes is None:
        return {"computed": False, "rows": [], "unmatched": [], "counts": [], "rejected": 0,
                "caveats": []}  # fmt: skip
    verdicts = verdicts_active(recording=recording)
    applied, unmatched = verdicts_match(episodes=episodes, verdicts=verdicts)
    rows = [
        _episode_row(recording, row, applied.get(position)) for position, row in enumerate(episodes)
    ]
    rows += [
        _added_row(recording, v) for v in verdicts if v.verdict == EpisodeVerdict.Verdict.ADDED
    ]
    rows.sort(key=lambda r: (r["start_s"], r["end_s"], r["added"]))
    counts: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["state"] == EpisodeVerdict.Verdict.REJECTED:
            continue
        entry = counts.setdefault(
            row["kind"], {"kind": row["kind"], "label": row["label"], "count": 0, "total_s": 0.0}
        )
        entry["count"] += 1
        entry["total_s"] = round(entry["total_s"] + row["duration_s"], 2)
    return {
        "computed": True,
        "rows": rows,
        "unmatched": [_unmatched_row(recording, v, reason) for v, reason in unmatched],
        "counts": sorted(counts.values(), key=lambda c: (-c["count"], c["kind"])),
        "rejected": sum(1 for r in rows if r["state"] == EpisodeVerdict.Verdict.REJECTED),
        "caveats": [EPISODE_CAVEATS[kind] for kind in sorted(counts) if kind in EPISODE_CAVEATS],
    }


EPISODE_CSV_COLUMNS = [
    "kind",
    "label",
    "start_s",
    "end_s",
    "duration_s",
    "beats",
    "state",
    "by",
    "at",
    "note",
    "model_start_s",
    "model_end_s",
]


def _time(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def episode_csv_rows(*, recording: Recording) -> Iterator[list[str]]:
    """The episodes as reviewed, as CSV rows: the header, then every row of
    ``episodes_reviewed`` in time order -- rejected ones too, with their state, so that the
    file says what was rejected rather than hiding it; a corrected one over the owner's span
    with the model's in ``model_start_s`` / ``model_end_s`` (empty for an added one) -- and
    the verdicts that apply to no episode now, over their stored span (a correction's own),
    their state the verdict and ``unmatched``'s reason ("confirmed; episode gone", "rejected;
    its episode has a later verdict"), the model's span when the verdict was given in
    ``model_start_s`` / ``model_end_s``; ``beats`` as ``episodes_reviewed`` gives them (a
    corrected or added one's counted in the owner's span; empty for a confirm or reject whose
    episode is gone); ``by``, ``at`` (ISO 8601, UTC) and ``note`` of the verdict,
    empty when not reviewed. A recording analysed before episodes were detected has
    no such list: 404 with the reason (an empty file would say "no events")."""
    reviewed = episodes_reviewed(recording=recording)
    if not reviewed["computed"]:
        raise Http404("This recording was analysed before rhythm events were detected.")
    yield list(EPISODE_CSV_COLUMNS)
    rows = list(reviewed["rows"]) + [
        row
        | {
            "state": f"{row['state']}; {row['reason']}",
            "model_start_s": row["verdict"]["start_s"],  # the model's, when it was given
            "model_end_s": row["verdict"]["end_s"],
        }
        for row in reviewed["unmatched"]
    ]
    rows.sort(key=lambda r: (r["start_s"], r["end_s"]))
    for row in rows:
        verdict = row["verdict"] or {}
        at = verdict.get("at")
        model_start = row.get("model_start_s")
        yield [
            row["kind"],
            row["label"],
            f"{row['start_s']:.3f}",
            f"{row['end_s']:.3f}",
            f"{row['duration_s']:.2f}",
            "" if row.get("beats") is None else str(row["beats"]),
            row["state"],
            verdict.get("by", ""),
            at.isoformat() if at else "",
            verdict.get("note", ""),
            _time(model_start),
            _time(row.get("model_end_s") if model_start is not None else None),
        ]


def episodes_exported(*, recording: Recording) -> list[dict[str, Any]]:
    """The episodes the ``.atr`` writes as the clinician's findings: every row of
    ``episodes_reviewed`` but the rejected ones (a corrected one over the owner's span), and
    the confirmed or corrected verdicts whose episode a recount took away, over their stored
    span (a correction: its corrected span), each with ``gone``: True. A confirmed episode the
    beats no longer show is still what the clinician read on the signal, which a recount of
    the classes does not change; a rejected one, gone or not, is never written, nor a verdict
    a later one replaced on a merged episode (that later verdict is written)."""
    reviewed = episodes_reviewed(recording=recording)
    kept = [
        row | {"gone": False}
        for row in reviewed["rows"]
        if row["state"] != EpisodeVerdict.Verdict.REJECTED
    ]
    kept += [
        row | {"gone": True}
        for row in reviewed["unmatched"]
        if row["reason"] == GONE and row["state"] != EpisodeVerdict.Verdict.REJECTED
    ]
    return sorted(kept, key=lambda r: (r["start_s"], r["end_s"]))


def episodes_unreviewed_counts(*, recording: Recording) -> list[dict[str, Any]]:
    """Per kind, the summary's episodes with no verdict (what "confirm / reject all of a kind"
    would give a verdict): ``kind``, ``label``, ``count``, kinds with none left out, in the
    summary's kind order of first appearance."""
    episodes = recording.summary.get("episodes") or []
    applied, _ = verdicts_match(episodes=episodes, verdicts=verdicts_active(recording=recording))
    counts: dict[str, dict[str, Any]] = {}
    for position, row in enumerate(episodes):
        if position in applied:
            continue
        entry = counts.setdefault(
            row["kind"],
            {"kind": row["kind"], "label": EPISODE_LABELS.get(row["kind"]), "count": 0},
        )
        entry["count"] += 1
    return list(counts.values())


def episode_batches_active(*, recording: Recording) -> list[dict[str, Any]]:
    """The "confirm / reject all of a kind" batches with a row not withdrawn, newest first:
    ``batch``, ``verdict`` ("confirmed" or "rejected"), ``kind``, ``label``, ``count`` (rows
    still standing), ``by``, ``at``: what an "Undo all" offers."""
    batches: dict[str, dict[str, Any]] = {}
    for verdict in verdicts_active(recording=recording):
        if verdict.batch is None:
            continue
        entry = batches.setdefault(
            str(verdict.batch),
            {
                "batch": str(verdict.batch),
                "verdict": verdict.verdict,
                "kind": verdict.kind,
                "label": EPISODE_LABELS.get(verdict.kind, verdict.kind),
                "count": 0,
                "by": _who(verdict),
                "at": verdict.created_at,
            },
        )
        entry["count"] += 1
    return list(batches.values())


def episode_verdict_history(*, recording: Recording, limit: int = 50) -> list[EpisodeVerdict]:
    """Every verdict, withdrawn ones too, newest first: the audit trail."""
    return list(
        recording.episode_verdicts.select_related("created_by", "withdrawn_by").order_by(
            "-created_at", "-id"
        )[:limit]
    )
