"""Rhythm episodes as WFDB rhythm-change annotations, the way MIT-BIH's reference files hold
them (issue 20): a ``+`` annotation whose ``aux_note`` names the rhythm (``(AFIB``) where it
starts, and ``(N`` where it ends with no other rhythm after it.

The labels are MIT-BIH's own (the database's list of rhythm labels: ``(AB``, ``(AFIB``,
``(AFL``, ``(B``, ``(BII``, ``(IVR``, ``(N``, ``(NOD``, ``(P``, ``(PREX``, ``(SBR``,
``(SVTA``, ``(T``, ``(VFL``, ``(VT``). Our kinds without a MIT-BIH rhythm label -- a pause
(an RR interval, not a rhythm) and tachycardia (MIT-BIH has no sinus tachycardia label) --
are written as WFDB comment annotations (symbol ``"``, code NOTE, "comment annotation" in
WFDB's table of annotation codes) whose ``aux_note`` names the event, so that they reach a
WFDB reader without posing as a rhythm. Readers of rhythm intervals (``+`` only, as
``ecg.features.episodes.reference_rhythm_intervals``) skip them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import Any

RHYTHM = "+"  # WFDB rhythm change
NOTE = '"'  # WFDB comment annotation
NORMAL = "(N"  # what the rhythm returns to when an episode ends and none follows

# Our episode kind -> MIT-BIH rhythm label. AF: the detector cannot tell fibrillation from
# flutter ("Atrial fibrillation / flutter"), and MIT-BIH's AF episodes are mostly (AFIB.
# Bradycardia: under 50 bpm outside AF and runs, read as MIT-BIH's sinus bradycardia.
MITDB_RHYTHMS = {
    "AF": "(AFIB",
    "VT": "(VT",
    "IVR": "(IVR",
    "SVT": "(SVTA",
    "VFL": "(VFL",
    "bigeminy": "(B",
    "trigeminy": "(T",
    "bradycardia": "(SBR",
}
# Kinds with no MIT-BIH rhythm label: a comment annotation at their start.
NOTE_KINDS = ("pause", "tachycardia")


def rhythm_annotations(
    episodes: Iterable[Mapping[str, Any]], *, fs: float, n_samples: int
) -> list[tuple[int, str, str]]:
    """(sample, symbol, aux_note) of the rhythm changes and comments for ``episodes`` (rows with
    ``kind``, ``start_s``, ``end_s``; ``label`` for a comment), in sample order.

    Rhythm changes are written only where the rhythm changes: episodes of one rhythm that
    touch or overlap become one; where episodes of two rhythms overlap, the one that started
    last holds until it ends, then the earlier one resumes if it lasts longer (WFDB holds one
    rhythm at a time). An episode that ends at the end of the record gets no ``(N`` after it:
    a reader takes the rhythm to the record's end, as for MIT-BIH's last rhythm."""
    spans: list[tuple[int, int, str]] = []
    notes: list[tuple[int, str, str]] = []
    last = max(int(n_samples), 1)
    for row in episodes:
        start = min(max(int(round(float(row["start_s"]) * fs)), 0), last)
        end = min(max(int(round(float(row["end_s"]) * fs)), start), last)
        if row["kind"] in MITDB_RHYTHMS and end > start:
            spans.append((start, end, MITDB_RHYTHMS[row["kind"]]))
        elif row["kind"] in NOTE_KINDS or row["kind"] in MITDB_RHYTHMS:
            duration = float(row["end_s"]) - float(row["start_s"])
            notes.append((start, NOTE, f"{row.get('label') or row['kind']}, {duration:.2f} s"))
    changes = _changes(spans, last)
    return sorted(changes + notes, key=lambda a: (a[0], a[1] != RHYTHM))


def _changes(spans: list[tuple[int, int, str]], last: int) -> list[tuple[int, str, str]]:
    """The rhythm at each boundary of ``spans``: the latest-started span still running, else
    normal; a change annotation wherever it differs from the one before."""
    starts = sorted(spans, key=lambda s: (s[0], -s[1]))
    boundaries = sorted({s for s, _, _ in spans} | {e for _, e, _ in spans})
    running: list[tuple[int, int, int, str]] = []  # heap: latest start on top
    out: list[tuple[int, str, str]] = []
    current, taken = NORMAL, 0
    for at in boundaries:
        if at >= last:
            break  # nothing after the record's end
        while taken < len(starts) and starts[taken][0] <= at:
            start, end, label = starts[taken]
            heapq.heappush(running, (-start, -taken, end, label))
            taken += 1
        while running and running[0][2] <= at:  # ended; those under the top wait their turn
            heapq.heappop(running)
        rhythm = running[0][3] if running else NORMAL
        if rhythm != current:
            out.append((at, RHYTHM, rhythm))
            current = rhythm
    return out
