"""The recording PDF's strip: a piece of the analysed lead around the highlighted beat, drawn
on standard ECG paper (``figures.strip_png``) with each beat's mark as the page shows it."""

from __future__ import annotations

import numpy as np

from recordings import selectors as recording_selectors
from recordings.models import CLASS_TEXT_COLOURS, Beat, Recording

from .figures import PAPER_MM_PER_S, PULSE_MARGIN_MM, strip_png
from .pdf import WIDTH_MM

# The strip fills the PDF's text width at true scale (25 mm/s after the pulse margin): 6.56 s.
STRIP_SECONDS = (WIDTH_MM - PULSE_MARGIN_MM) / PAPER_MM_PER_S


def pdf_strip(recording: Recording, centre_s: float) -> dict:
    """The strip data (``recording_strip``) of the PDF's window around ``centre_s``, every
    stored lead in it when there are more than two (a 12-lead ECG); fetched once for both
    figures below."""
    return recording_selectors.recording_strip(
        recording=recording,
        start_s=max(0.0, centre_s - STRIP_SECONDS / 2),
        seconds=STRIP_SECONDS,
        all_leads=len(recording.stored_lead_names) > 2,
    )


def recording_strip_figure(recording: Recording, strip: dict, centre_s: float) -> tuple[bytes, str]:
    """The PDF's strip of the analysed lead (PNG on ECG paper) and its caption."""
    png = strip_png(
        np.asarray(strip["signal"], dtype=np.float32),
        strip["fs"],
        start_s=strip["start_s"],
        beat_times_s=[b["t"] for b in strip["beats"]],
        beat_labels=[_strip_mark(b) for b in strip["beats"]],
        colours=CLASS_TEXT_COLOURS,
        highlight_s=centre_s,
    )
    caption = (
        f"{strip['start_s']:.1f}-{strip['start_s'] + strip['seconds']:.1f} s, "
        f"{recording.lead_label}, band-passed 0.5-40 Hz, on ECG paper at 25 mm/s and 10 mm/mV "
        "(1 mV calibration pulse at the left); each beat's class above it (X?: uncertain, -: "
        "unreadable), the highlighted beat shaded."
    )
    return png, caption


def recording_lead_figures(strip: dict) -> tuple[list[bytes], str]:
    """Every stored lead but the analysed one over the same window, each on ECG paper with
    its name (PNGs), and their heading; none when ``strip`` holds no other leads (a recording
    stored with two leads or fewer: its second lead is on the page's strip)."""
    if not strip["other_leads"]:
        return [], ""
    leads = [strip["second_lead"], *strip["other_leads"]]
    pngs = [
        strip_png(np.asarray(lead["signal"], dtype=np.float32), strip["fs"],
                  start_s=strip["start_s"], title=f"lead {lead['name']}")
        for lead in leads
    ]  # fmt: skip
    title = (
        f"The other stored leads ({', '.join(lead['name'] for lead in leads)}), "
        f"{strip['start_s']:.1f}-{strip['start_s'] + strip['seconds']:.1f} s, "
        "same paper and scale"
    )
    return pngs, title


def _strip_mark(beat: dict) -> str:
    """A beat's mark on the strip, as on the page: "V", "V?" when uncertain, "-" unreadable."""
    if beat.get("state") == Beat.State.UNREADABLE:
        return "-"
    return f"{beat['label']}?" if beat.get("state") == Beat.State.UNCERTAIN else beat["label"]
