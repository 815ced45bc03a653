"""The PDF's *Rhythm events* table (issue 20): the recording's rhythm episodes as the owner
reviewed them -- each with its state, rejected ones left out of the counts per kind and added
ones counted in, both said in the table's note; a corrected one over the owner's span, the
detected span in its State cell and its beats counted in the owner's span."""

from __future__ import annotations

from recordings.episode_selectors import episodes_reviewed
from recordings.models import Recording

from .pdf import ReportTable

PDF_EVENTS = 30  # events listed in the PDF; the rest are counted (the API has them all)


def events_table(recording: Recording) -> ReportTable | None:
    """Rhythm episodes (``summary["episodes"]``) with the owner's verdicts and added episodes
    (``episode_selectors.episodes_reviewed``): counts per kind (rejected left out, added counted,
    and said so), then the first PDF_EVENTS with their state. None for a recording analysed
    before episodes were detected."""
    reviewed = episodes_reviewed(recording=recording)
    if not reviewed["computed"]:
        return None
    episodes = reviewed["rows"]
    note = (
        "From the classified beats and the RR intervals of readable signal "
        "(uncertain and unreadable beats make no run, unreadable stretches no pause). "
    )
    if not episodes:
        note += "No rhythm event found."
    else:
        counts = ", ".join(f"{c['label']} {c['count']}" for c in reviewed["counts"]) or "none"
        note += f"Per kind: {counts}."
        if reviewed["rejected"]:
            n = reviewed["rejected"]
            note += f" {n} event{'s' if n != 1 else ''} rejected by the reviewer, left out of "
            note += "these counts."
        added = sum(1 for row in episodes if row["added"])
        if added:
            note += f" {added} added by the reviewer, counted in."
        corrected = sum(1 for row in episodes if row["state"] == "corrected")
        if corrected:
            note += f" {corrected} with the span the reviewer corrected (the detected one in the "
            note += "State column, the beats counted in the corrected span)."
        note += "".join(f" {caveat}" for caveat in reviewed["caveats"])
        more = len(episodes) - PDF_EVENTS
        if more > 0:
            note += f" The first {PDF_EVENTS} are listed; {more} more are not."
    if (recording.review or {}).get("beats_reviewed"):
        note += " Recounted with the reviewed classes."
    if reviewed["unmatched"]:
        n = len(reviewed["unmatched"])
        note += f" {n} verdict{'s' if n != 1 else ''} apply to no event after the recount."
    return ReportTable(
        "Rhythm events",
        ("Event", "Start", "End", "Duration", "Beats", "State"),
        [
            (
                row["label"],
                f"{row['start_s']:.2f} s",
                f"{row['end_s']:.2f} s",
                f"{row['duration_s']:.2f} s",
                "-" if row["beats"] is None else str(row["beats"]),
                _state(row),
            )
            for row in episodes[:PDF_EVENTS]
        ],
        note=note,
        widths_mm=(50.0, 22.0, 22.0, 22.0, 14.0, 35.0),
    )


def _state(row: dict) -> str:
    # The reviewer's note says why an event was rejected; the page and the events CSV show it,
    # so the PDF, which travels without them, shows it too. A corrected event's row gives the
    # reviewer's span; the detected one is said beside it, as the page does.
    note = (row.get("verdict") or {}).get("note")
    text = f"{row['state_text']} ({note})" if note else row["state_text"]
    if row["state"] == "corrected":
        text += f", detected {row['model_start_s']:.2f}-{row['model_end_s']:.2f} s"
    return text
