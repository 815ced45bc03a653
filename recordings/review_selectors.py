"""Reads of the clinician's review: who may correct, each beat's reviewed label, the audit
trail, template cards (inline SVG, mV scale) and the WFDB annotation export.

The review actions (what Undo and Redo take back, the action history) are read in
``review_action_selectors``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.http import Http404

from ecg.classes import class_display_name
from ecg.features.beats import rr_features
from ecg.features.confirm_first import PREMATURE_BEATS, confirm_order, top_two_margin
from ecg.features.corrections import rhythm_block

from .models import (
    CLASS_COLOURS,
    Beat,
    BeatCorrection,
    Recording,
    TemplateGrouping,
)
from .selectors import _probabilities

# WFDB beat symbols of the six classes and of the reviewer's F (fusion of ventricular and
# normal beat), P (paced, WFDB's "/") and X (artefact: WFDB's "|", isolated QRS-like artifact,
# which WFDB's tools read as no beat); "Q" (unclassifiable) for a beat shown as no class.
WFDB_SYMBOLS = {"N": "N", "L": "L", "R": "R", "A": "A", "V": "V", "!": "!", "F": "F", "P": "/",
                "X": "|"}  # fmt: skip
UNCLASSIFIABLE = "Q"


def recording_get_own(*, user, pk: int) -> Recording:
    """One recording of ``user``'s own: only the owner reviews (staff may see, not correct)."""
    try:
        return Recording.objects.select_related("owner").get(pk=pk, owner=user)
    except (Recording.DoesNotExist, ValueError, TypeError):
        raise Http404("No such recording.") from None


def beat_reviewed_labels(*, recording: Recording) -> dict[int, dict[str, Any]]:
    """Each reviewed beat's latest label and reviewer, by beat index."""
    rows = (
        recording.beats.exclude(reviewed_label="")
        .order_by("index")
        .values_list("index", "reviewed_label", "reviewed_by__username")
    )
    return {index: {"label": label, "by": by or ""} for index, label, by in rows}


def beat_final_label(beat: Beat) -> str:
    """What an export states for a beat: the reviewed label; else the model's label when it is
    classified; "" for an uncertain or unreadable beat nobody reviewed."""
    if beat.reviewed_label:
        return beat.reviewed_label
    return beat.label if beat.state == Beat.State.CLASSIFIED else ""


def review_overview(*, recording: Recording) -> dict[str, Any]:
    """How many beats were reviewed, by whom, and how many carry a suggestion."""
    review = recording.review or {}
    return {
        "beats_reviewed": int(review.get("beats_reviewed", 0)),
        "reviewers": list(review.get("reviewers", [])),
        "suggested": recording.beats.exclude(suggested_label="").count(),
        # how many reviewed beats the suggestions shown were learned from (all of them: they
        # are recomputed after every correction once asked for)
        "suggestions_learned_from": int((review.get("suggestions") or {}).get("learned_from", 0)),
        "model_classes": (review.get("model_summary") or {}).get("classes") or [],
    }


def beat_corrections(*, recording: Recording, limit: int = 200) -> list[BeatCorrection]:
    """The audit trail, newest first."""
    return list(
        BeatCorrection.objects.filter(recording=recording)
        .select_related("beat", "created_by", "action")
        .order_by("-created_at", "-id")[:limit]
    )


SVG_W, SVG_H, SVG_PAD = 280, 160, 6
# Beats listed to confirm first (the review benchmark's simulated clinician confirms these).
CONFIRM_FIRST = 20
CONFIRM_WHY = {
    "card": "typical beat of group {group}",
    "premature": "early beat in a normal-looking group (a hidden atrial premature beat?)",
    "uncertain": "the model is least sure of it",
}


def confirm_first_reasons() -> str:
    """What the "confirm first" list holds, in the order it lists them, as the page says it:
    early beats only while the review's settings ask for them (``PREMATURE_BEATS``)."""
    early = "early beats in normal-looking groups, " if PREMATURE_BEATS else ""
    return f"each group's typical beat, {early}and the beats the model is least sure of"


def _points(y: list[float], lo: float, hi: float, decimals: int = 1) -> str:
    """SVG polyline points of ``y`` (mV) between ``lo`` and ``hi`` mV, left to right."""
    n = max(len(y) - 1, 1)
    span = max(hi - lo, 1e-6)
    return " ".join(
        f"{SVG_PAD + (SVG_W - 2 * SVG_PAD) * i / n:.{decimals}f},"
        f"{SVG_PAD + (SVG_H - 2 * SVG_PAD) * (hi - v) / span:.{decimals}f}"
        for i, v in enumerate(y)
    )


def beats_to_confirm_first(
    *, recording: Recording, grouping: TemplateGrouping, n: int = CONFIRM_FIRST
) -> list[dict[str, Any]]:
    """The ``n`` beats whose confirmation teaches "re-classify the rest" most, in the order of
    ``confirm_first.confirm_order`` (the same choice the review benchmark's figures assume): each
    group's typical beat, early beats in normal-looking groups, the model's least sure beats."""
    fields = ("index", "sample", "time_s", "label", "state", "reviewed_label")
    rows = list(recording.beats.order_by("index").values_list(*fields))
    if len(rows) < 2 or not recording.results_file:
        return []
    indices = np.array([r[0] for r in rows], dtype=np.int64)
    position = {int(i): p for p, i in enumerate(indices)}
    n_looking = np.zeros(len(rows), dtype=bool)
    medoids, group_of = [], {}
    for number, g in enumerate(grouping.groups):
        mix = g["class_mix"]
        members = [position[i] for i in g["indices"] if i in position]
        n_looking[members] = bool(mix) and max(mix, key=mix.get) in ("N", "A")
        if g["medoid"] in position:
            medoids.append(position[g["medoid"]])
            group_of[position[g["medoid"]]] = number + 1
    samples = np.array([r[1] for r in rows], dtype=np.int64)
    prematurity = rhythm_block(rr_features(samples, recording.sampling_rate)[:, :3])[:, 0]
    margin = top_two_margin(_probabilities(recording)[indices])
    listed = []
    for p, why in confirm_order(medoids, n_looking, prematurity, margin, n=n):
        index, _sample, time_s, label, state, reviewed = rows[p]
        listed.append(
            {
                "index": int(index),
                "time_s": time_s,
                "label": label,
                "state": state,
                "reviewed_label": reviewed,
                "why": CONFIRM_WHY[why].format(group=group_of.get(p, "?")),
            }
        )
    return listed


def template_cards(*, recording: Recording, grouping: TemplateGrouping) -> list[dict[str, Any]]:
    """One card per group: SVG polylines of the overlay and the median on one mV scale for all
    cards (so a big beat looks big), a 1 mV scale bar, count, share, class mix, first beat."""
    groups = grouping.groups
    values = [v for g in groups for v in g["median_mv"]] + [0.0]
    lo = min(min(values), -0.5)
    hi = max(max(values), 0.5)
    margin = 0.15 * (hi - lo)
    lo, hi = lo - margin, hi + margin
    times = dict(recording.beats.values_list("index", "time_s"))
    zero_y = SVG_PAD + (SVG_H - 2 * SVG_PAD) * hi / (hi - lo)
    mv_px = (SVG_H - 2 * SVG_PAD) / (hi - lo)
    cards = []
    for number, g in enumerate(groups):
        mix = sorted(g["class_mix"].items(), key=lambda kv: -kv[1])
        cards.append(
            {
                "number": number,
                "count": g["count"],
                "percent": round(100 * g["share"], 1),
                # Whole pixels for the grey overlay: a third less page for 30 cards.
                "overlay": [_points(y, lo, hi, decimals=0) for y in g["overlay_mv"]],
                "median": _points(g["median_mv"], lo, hi),
                "mix": [
                    {
                        "code": code,
                        "name": class_display_name(code),
                        "percent": round(100 * share, 1),
                        "colour": CLASS_COLOURS.get(code, "#666"),
                    }
                    for code, share in mix
                ],
                "medoid": g["medoid"],
                "medoid_time_s": times.get(g["medoid"], 0.0),
            }
        )
    return [
        card | {"zero_y": round(zero_y, 1), "bar_top": round(zero_y - mv_px, 1)} for card in cards
    ]


def recording_wfdb_annotations(*, recording: Recording) -> bytes:
    """The beats and the rhythm episodes as a WFDB annotation file (``.atr``, written by
    ``wfdb.wrann``). Beats: the reviewed label where there is one, else the model's label when
    classified, else "Q". Episodes as reviewed (``episode_selectors.episodes_exported``:
    rejected ones left out, added ones in, corrected ones over the owner's span, confirmed or
    corrected ones whose episode a recount took away over their stored span): rhythm changes
    ``+`` with MIT-BIH's labels, pauses and tachycardia as comments (``ecg.io.wfdb_rhythm``);
    each gone one also gets a comment ``"`` at its start saying so. Annotations sharing a
    sample get ``num`` 0, 1...: WFDB tells annotations of one sample and channel apart by it,
    and the rhythm change comes first."""
    import wfdb

    from ecg.io.wfdb_rhythm import rhythm_annotations

    from .episode_selectors import episodes_exported

    annotations = []  # (sample, order at that sample, symbol, aux_note)
    for beat in recording.beats.order_by("index").iterator(chunk_size=5000):
        symbol = WFDB_SYMBOLS.get(beat_final_label(beat), UNCLASSIFIABLE)
        annotations.append((beat.sample, 1, symbol, ""))
    if not annotations:
        raise Http404("No beat to export.")
    kept = episodes_exported(recording=recording)
    for sample, symbol, note in rhythm_annotations(
        kept, fs=recording.sampling_rate, n_samples=recording.n_samples
    ):
        annotations.append((sample, 0, symbol, note))
    last = max(recording.n_samples - 1, 0)
    for row in kept:
        if row["gone"]:  # said apart: no episode of the recount's list stands behind it
            sample = min(max(int(round(row["start_s"] * recording.sampling_rate)), 0), last)
            note = f"{row['label']} {row['state_text']}, episode gone after a recount"
            annotations.append((sample, 2, '"', note[:200]))  # WFDB: an aux note under 256 B
    annotations.sort(key=lambda a: (a[0], a[1]))
    samples = np.asarray([a[0] for a in annotations], dtype=np.int64)
    nums, previous, count = [], None, 0
    for sample in samples.tolist():
        count = count + 1 if sample == previous else 0
        nums.append(count)
        previous = sample
    with tempfile.TemporaryDirectory(prefix="ecg-atr-") as folder:
        wfdb.wrann(
            "recording",
            "atr",
            samples,
            symbol=[a[2] for a in annotations],
            num=np.asarray(nums, dtype=np.int64),
            aux_note=[a[3] for a in annotations],
            fs=recording.sampling_rate,
            write_dir=folder,
        )
        return (Path(folder) / "recording.atr").read_bytes()
