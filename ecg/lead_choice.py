"""Which lead of a recording is analysed, and which leads are kept with it.

- ``stored_lead_order``: the analysed lead first, then the second lead that the two-lead model
  and the strip read (V1 first), then the others. A recording short enough for the conduction
  finding to read every trained lead (``CONDUCTION_ALL_LEADS_MAX_S``: a 12-lead ECG, a strip)
  keeps all of them; a longer one keeps the first two only, since a 24-hour twelve-lead
  Holter would otherwise store ten leads that nothing reads. Before, every upload kept the
  analysed lead and the file's next one: a 12-lead ECG (I, II, III, ...) analysed on II kept
  II and I, so neither the two-lead model's V1 nor the conduction finding's other leads
  reached the analysis in the app (the benchmarks, which called ``analyse`` directly, had
  them).
- ``with_readable_lead``: an upload whose lead the user did not name is analysed on the
  file's preferred lead (``PREFERRED_LEADS``); when that lead has no readable segment at all
  (an electrode off, one noisy lead of a 12-lead ECG) and another preferred lead has some, the
  readable one is analysed instead, and the recording's notes say so. Before, such an upload
  failed with "no readable ECG" while three of its leads were clean (PTB-XL fold 10: 3 of 979
  records). Only short recordings are checked: it costs a detection and a quality pass per lead
  at upload, about what one lead's analysis costs. A lead the user named is analysed as named;
  when it is unreadable, ``unreadable_lead_message`` says which other leads could be read.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecg.dsp.detection import DetectionError, detect_beats
from ecg.io.recording_base import ParsedRecording
from ecg.io.records import PREFERRED_LEADS, SECOND_LEAD_FIRST, normalised_lead
from ecg.recording_analysis import CONDUCTION_ALL_LEADS_MAX_S, recording_quality


def stored_lead_order(lead_names: list[str], lead_index: int, duration_s: float) -> list[int]:
    """Channel indices in the order they are stored: the analysed lead, then the second lead
    the analysis reads beside it (V1 first, then the other preferred leads, as
    ``recording_analysis.second_lead_index`` picks), then the rest in the file's order; every
    lead up to ``CONDUCTION_ALL_LEADS_MAX_S``, else the first two only."""
    preferred = {normalised_lead(name) for name in PREFERRED_LEADS}

    def rank(i: int) -> tuple[bool, bool, int]:
        name = normalised_lead(lead_names[i])
        return (name != SECOND_LEAD_FIRST, name not in preferred, i)

    others = sorted((i for i in range(len(lead_names)) if i != lead_index), key=rank)
    if duration_s > CONDUCTION_ALL_LEADS_MAX_S:
        others = others[:1]
    return [lead_index, *others]


def as_stored(recording: ParsedRecording) -> ParsedRecording:
    """``recording`` as the app stores and reloads it for the analysis: the leads of
    ``stored_lead_order``, the analysed one first (what a benchmark of the served path reads)."""
    order = stored_lead_order(recording.lead_names, recording.lead_index, recording.duration_s)
    return replace(
        recording,
        lead_names=[recording.lead_names[i] for i in order],
        signals=recording.signals[order],
        lead_index=0,
        notes=list(recording.notes),
    )


def readable_share(signal: np.ndarray, fs: float) -> float:
    """Share of the lead's quality segments that are readable ECG (0 when no beat is found)."""
    try:
        peaks = detect_beats(np.asarray(signal, dtype=np.float32), fs)
    except DetectionError:
        return 0.0
    if peaks.size == 0:
        return 0.0
    return float(np.mean(recording_quality(signal, fs, peaks).readable))


def _preferred_others(recording: ParsedRecording) -> list[int]:
    """The recording's other channels that name a preferred lead, in ``PREFERRED_LEADS`` order."""
    rank = {normalised_lead(name): i for i, name in enumerate(PREFERRED_LEADS)}
    analysed = normalised_lead(recording.lead)
    return sorted(
        (
            i
            for i, name in enumerate(recording.lead_names)
            if normalised_lead(name) in rank and normalised_lead(name) != analysed
        ),
        key=lambda i: rank[normalised_lead(recording.lead_names[i])],
    )


def unreadable_lead_message(recording: ParsedRecording, reasons: str) -> str | None:
    """Why the analysed lead could not be read (``reasons``, e.g. "noise") and which other
    preferred leads are readable, e.g. "no readable ECG on lead II: noise; leads V1, III are
    readable: upload the recording again naming one of them in Lead, or leaving Lead empty";
    None when none is, or on a recording longer than ``CONDUCTION_ALL_LEADS_MAX_S`` (its other
    leads are not stored)."""
    if recording.duration_s > CONDUCTION_ALL_LEADS_MAX_S:
        return None
    names = [
        recording.lead_names[i]
        for i in _preferred_others(recording)
        if readable_share(recording.signals[i], recording.fs) > 0
    ]
    if not names:
        return None
    which = f"lead {names[0]} is" if len(names) == 1 else f"leads {', '.join(names)} are"
    return (
        f"no readable ECG on lead {recording.lead}: {reasons}; {which} readable: upload the "
        f"recording again naming {'it' if len(names) == 1 else 'one of them'} in Lead, or "
        "leaving Lead empty"
    )


def with_readable_lead(recording: ParsedRecording) -> ParsedRecording:
    """``recording`` analysed on its most readable preferred lead when its chosen lead has no
    readable segment (ties: ``PREFERRED_LEADS`` order); unchanged when the chosen lead has one,
    when no other preferred lead is readable either (the analysis then says "no readable ECG"),
    or when the recording is longer than ``CONDUCTION_ALL_LEADS_MAX_S``."""
    if (
        len(recording.lead_names) < 2
        or recording.duration_s > CONDUCTION_ALL_LEADS_MAX_S
        or readable_share(recording.signal, recording.fs) > 0
    ):
        return recording
    candidates = _preferred_others(recording)
    shares = {i: readable_share(recording.signals[i], recording.fs) for i in candidates}
    best = max(candidates, key=lambda i: shares[i], default=None)  # first of the best: ties
    if best is None or shares[best] == 0:
        return recording
    note = (
        f"lead {recording.lead} has no readable ECG; lead {recording.lead_names[best]} "
        "analysed instead"
    )
    return replace(recording, lead_index=best, notes=[*recording.notes, note])
