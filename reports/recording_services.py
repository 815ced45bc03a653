"""Writes of the reports app for recordings: per-beat Grad-CAM (stored once) and the PDF.

A beat is explained exactly as it was classified: the same stored lead, the same piece of the
recording around it (``recording_analysis.classify_at`` works in pieces with context), the
beats of that piece for the RR features, and the class the analysis gave it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Avg, Count
from django.http import Http404
from django.utils import timezone

from ecg.classes import class_display_name
from ecg.features import conduction
from ecg.features.af_context import merged_note
from ecg.features.beat_states import UNREADABLE
from ecg.models import explain
from ecg.models.bundle import ModelBundle
from ecg.recording_analysis import CLASSIFY_CHUNK_S, CONTEXT_S
from ecgsite.model_registry import ModelNotInstalledError, get_model_registry
from recordings import selectors as recording_selectors
from recordings.models import Beat, Recording
from recordings.services import mapped_signals

from .accuracy import measured_accuracy
from .models import RecordingBeatHeatMap
from .pdf import ReportData, ReportTable, build_pdf
from .recording_events import events_table
from .recording_strip import pdf_strip, recording_lead_figures, recording_strip_figure
from .selectors import recording_heatmap_unavailable_reason
from .services import HeatMapUnavailable, save_overlay_once

ECTOPIC = ("V", "A", "!")  # the classes a reader most wants to see explained, in this order


@dataclass
class BeatContext:
    """What the analysis fed the model around one beat (see ``classify_at``)."""

    bundle: ModelBundle
    signal: np.ndarray  # the piece of the stored lead the beat was classified in
    fs: float
    peaks: np.ndarray  # the beats of that piece, in samples from its start
    position: int  # the beat's place among ``peaks``
    readable: np.ndarray  # per peak: in a readable segment (the record context's beats)
    label: str  # the class the analysis gave the beat


def beat_context(recording: Recording, index: int) -> BeatContext:
    """HeatMapUnavailable or Http404 when the beat cannot be explained."""
    reason = recording_heatmap_unavailable_reason(recording=recording)
    if reason:
        raise HeatMapUnavailable(reason[0].upper() + reason[1:])
    beat = recording.beats.filter(index=index).first()
    if beat is None:
        raise Http404("No such beat.")
    try:
        # Gradients: the LiteRT Grad-CAM export when fresh (no TensorFlow), else Keras.
        bundle = get_model_registry().explain_bundle(task="recording")
    except ModelNotInstalledError as exc:
        raise HeatMapUnavailable(exc.detail) from exc
    fs = recording.sampling_rate
    piece, context = int(CLASSIFY_CHUNK_S * fs), int(CONTEXT_S * fs)
    start = (beat.sample // piece) * piece
    # mapped, not read: one beat of a 24-hour recording needs only its hour of samples
    with mapped_signals(recording) as signals:
        lo, hi = max(0, start - context), min(signals.shape[1], start + piece + context)
        signal = np.array(signals[0, lo:hi])
    rows = list(
        recording.beats.filter(sample__gte=lo, sample__lt=hi)
        .order_by("index")
        .values_list("sample", "state")
    )
    samples = np.array([sample for sample, _ in rows], dtype=np.int64)
    return BeatContext(
        bundle=bundle,
        signal=signal,
        fs=fs,
        peaks=samples - lo,
        # The analysis took the record's references from readable beats only (``analyse``).
        readable=np.array([state != UNREADABLE for _, state in rows], dtype=bool),
        position=int(np.searchsorted(samples, beat.sample)),
        label=beat.label,
    )


def beat_explanation(recording: Recording, index: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(model input image, heat map, explained class) of one beat."""
    ctx = beat_context(recording, index)
    images, heat, _ = explain.explain_beats(
        ctx.bundle,
        ctx.signal,
        ctx.fs,
        ctx.peaks,
        [ctx.position],
        class_index=ctx.bundle.classes.index(ctx.label),
        readable=ctx.readable,
    )
    return images[0], heat[0], ctx.label


def recording_beat_heatmap_get_or_create(*, recording: Recording, index: int):
    """The stored overlay of beat ``index``, computing and storing it the first time."""
    existing = RecordingBeatHeatMap.objects.filter(recording=recording, index=index).first()
    if existing is not None and existing.overlay.storage.exists(existing.overlay.name):
        return existing
    image, heat, label = beat_explanation(recording, index)
    png = explain.overlay_png(image, heat)
    heatmap = existing or RecordingBeatHeatMap(recording=recording, index=index)
    heatmap.explained_class = label
    heatmap.model_name, heatmap.model_version = recording.model_name, recording.model_version
    return save_overlay_once(heatmap, png, identity={"recording": recording, "index": index})


def highlighted_beat(recording: Recording):
    """The beat a report shows: the most confident beat of the first ectopic class present
    (V, then A, then !), else of the most frequent class."""
    counts = {row["code"]: row["count"] for row in recording.summary.get("classes", [])}
    present = [c for c in ECTOPIC if counts.get(c)] or sorted(counts, key=counts.get)[-1:]
    if not present:
        return None
    shown = recording.beats.filter(label=present[0], state=Beat.State.CLASSIFIED)
    return shown.order_by("-confidence", "index").first()


def recording_report_pdf(*, recording: Recording) -> bytes:
    """The shareable PDF of an analysed recording (strip, highlighted beat, heat map, classes)."""
    if recording.status != Recording.Status.DONE:
        raise HeatMapUnavailable(
            f"The analysis is {recording.get_status_display().lower()}; "
            "a report exists once it is done."
        )
    summary = recording.summary
    rate = summary.get("heart_rate") or {}
    details = [
        ("Recording", f"{recording.name} ({recording.file_format}, {recording.lead_label})"),
        ("Leads read", _first_upper(recording.leads_read_text)),
        *(
            [("Second lead", _first_upper(recording.second_lead_screened_text))]
            if recording.second_lead_screened_text
            else []
        ),
        ("Duration", f"{recording.duration_display} at {recording.sampling_rate:g} Hz"),
        # How the upload was read: a lead given way to, gaps bridged, an image's scale assumed
        *(("Note", _first_upper(note)) for note in recording.notes or []),
        *_quality_details(recording),
        _review_detail(recording),
        (
            "Heart rate",
            f"mean {rate.get('mean_bpm', '-')} bpm, min {rate.get('min_bpm', '-')}, "
            f"max {rate.get('max_bpm', '-')}",
        ),
    ]
    beat = highlighted_beat(recording)
    data = ReportData(
        title="ECG recording report",
        patient_reference=recording.patient_reference,
        created_at=timezone.localtime(recording.created_at),
        model_name=recording.model_name,
        model_version=recording.model_version,
        details=details,
        table_title="Beats per class",
        table_header=("Class", "Beats", "Share", "Mean confidence"),
        table_rows=_class_rows(recording),
        tables=_rhythm_tables(recording),
    )
    accuracy_source = {"name": recording.model_name, **recording.model_metadata}
    data.model_accuracy, data.accuracy_basis = measured_accuracy(
        accuracy_source, settings.MODELS_DIR
    )
    if beat is not None:
        data.label_heading = f"Highlighted beat (#{beat.index}, {beat.time_s:.2f} s)"
        data.label, data.label_name = beat.label, class_display_name(beat.label)
        data.confidence = beat.confidence
        data.image_png = explain.png_bytes(
            np.kron(_beat_image(recording, beat.index), np.ones((4, 4), dtype=np.uint8))
        )
        data.image_caption = "The beat as the model saw it"
        try:
            heatmap = recording_beat_heatmap_get_or_create(recording=recording, index=beat.index)
            with heatmap.overlay.open("rb") as handle:
                data.heatmap_png, data.heatmap_note = handle.read(), explain.READING_NOTE
        except HeatMapUnavailable as exc:
            data.details.append(("Heat map", f"not available: {exc}"))
        strip = pdf_strip(recording, beat.time_s)
        data.strip_png, data.strip_caption = recording_strip_figure(recording, strip, beat.time_s)
        data.lead_strips, data.lead_strips_title = recording_lead_figures(strip)
    return build_pdf(data)


def _review_detail(recording: Recording) -> tuple[str, str]:
    """Whether a clinician reviewed beats: the counts below then use the reviewed classes."""
    review = recording.review or {}
    count = int(review.get("beats_reviewed", 0))
    if not count:
        return ("Clinician review", "none: every class below is the model's")
    who = ", ".join(review.get("reviewers", [])) or "a deleted user"
    not_beats = int(review.get("not_beats", 0))
    artefacts = (
        f" ({not_beats} of them marked artefact{'s' if not_beats != 1 else ''}, not beats: left "
        "out of every count, rate and event)"
        if not_beats
        else ""
    )
    return (
        "Clinician review",
        f"{count} beat{'s' if count != 1 else ''} reviewed by {who}{artefacts}; the counts below "
        "use the reviewed classes",
    )


def _quality_details(recording: Recording) -> list[tuple[str, str]]:
    """What the analysis could read: analysable share and beats per state (issue 18)."""
    states = recording.summary.get("states")
    share = (recording.quality or {}).get("readable_share")
    if states is None or share is None:  # analysed before beat states existed
        return [("Beats classified", str(recording.beat_count))]
    warnings = [("Warning", w["message"]) for w in (recording.quality or {}).get("warnings", [])]
    # Runs of flutter calls whose signal is not flutter-like: their beats are uncertain.
    unconfirmed = [c for c in recording.summary.get("flutter_checks", []) if not c["confirmed"]]
    if unconfirmed:
        beats = sum(c["beats"] for c in unconfirmed)
        warnings.append(
            (
                "Flutter not confirmed",
                f"{len(unconfirmed)} run(s) of flutter calls ({beats} beats) failed the signal "
                "check (not flutter-like): shown as uncertain, not as flutter",
            )
        )
    if count := int(recording.summary.get("atrial_calls_in_af") or 0):
        warnings.append(("A calls in AF", merged_note(count)))
    return [
        *warnings,
        ("Analysable", f"{share:.1%} of the recording (the rest is noise, flat or clipped)"),
        (
            "Beats",
            f"{recording.beat_count} detected: {states.get('classified', 0)} classified, "
            f"{states.get('uncertain', 0)} uncertain (not counted in the class table), "
            f"{states.get('unreadable', 0)} unreadable (no class shown)",
        ),
    ]


def _beat_image(recording: Recording, index: int) -> np.ndarray:
    png = recording_selectors.recording_beat_png(recording=recording, index=index)
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def _class_rows(recording: Recording) -> list[tuple[str, ...]]:
    classified = recording.beats.filter(state=Beat.State.CLASSIFIED)
    stats = {
        row["label"]: row
        for row in classified.values("label").annotate(n=Count("id"), mean=Avg("confidence"))
    }
    rows = []
    for item in recording.summary.get("classes", []):
        code = item["code"]
        mean = stats.get(code, {}).get("mean")
        rows.append(
            (
                f"{class_display_name(code)} ({code})",
                str(item["count"]),
                f"{item['percent']:.1f}%",
                f"{mean:.1%}" if mean is not None else "-",
            )
        )
    return rows


def _value(value: object, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def _rhythm_tables(recording: Recording) -> list[ReportTable]:
    """What the report page shows under "Rhythm" and, with reference annotations, "Agreement":
    heart rate and RR variability (HRV), ectopic beats and their runs, detector and classes
    against the reference."""
    summary = recording.summary
    rate, rr = summary.get("heart_rate") or {}, summary.get("rr") or {}
    tables = [
        ReportTable(
            "Heart rate and RR variability",
            ("Measure", "Value"),
            [
                ("Mean heart rate", _value(rate.get("mean_bpm"), " bpm")),
                ("Minimum heart rate (8-beat running median)", _value(rate.get("min_bpm"), " bpm")),
                ("Maximum heart rate (8-beat running median)", _value(rate.get("max_bpm"), " bpm")),
                ("SDNN", _value(rr.get("sdnn_ms"), " ms")),
                ("RMSSD", _value(rr.get("rmssd_ms"), " ms")),
                ("pNN50", _value(rr.get("pnn50_percent"), " %")),
                ("Coefficient of variation of RR", _value(rr.get("cv"))),
            ],
            widths_mm=(100.0, 40.0),
        )
    ]
    finding = summary.get("conduction")
    if finding:
        means = conduction.shown_means(finding)
        leads = [e for e in finding.get("leads") or [] if e.get("beats")]
        read = ", ".join(f"{e['lead'] or 'analysed'} ({e['beats']})" for e in leads) or "-"
        tables.append(
            ReportTable(
                "Conduction (from the model's beat classes; not a 12-lead interpretation)",
                ("Finding", "Leads read (readable beats)", *(f"Mean P({c})" for c, _ in means)),
                [(_first_upper(finding["finding"]), read, *(f"{v:.2f}" for _, v in means))],
                widths_mm=(60.0, 50.0, *(22.0 for _ in means)),
            )
        )
    header = ("Class", "Beats", "Per hour", "Singles", "Couplets", "Triplets", "Runs of 4+")
    tables.append(
        ReportTable(
            "Ectopic beats and runs",
            (*header, "Longest run"),
            [
                (
                    f"{class_display_name(e['code'])} ({e['code']})",
                    str(e["beats"]),
                    str(e["per_hour"]),
                    str(e["singles"]),
                    str(e["couplets"]),
                    str(e["triplets"]),
                    str(e["runs_4_plus"]),
                    f"{e['longest_run']} at {e['longest_run_at_s']} s" if e["longest_run"] else "-",
                )
                for e in summary.get("ectopy", [])
            ],
            widths_mm=(50.0, 15.0, 17.0, 16.0, 18.0, 17.0, 16.0, 25.0),
        )
    )
    events = events_table(recording)
    if events is not None:
        tables.append(events)
    agreement, detection = recording.agreement, recording.detection
    if recording.has_reference and (agreement or detection):
        notes = []
        if detection:
            notes.append(
                f"Beat detection: sensitivity {detection['sensitivity']:.4f}, positive "
                f"predictivity {detection['positive_predictivity']:.4f} "
                f"({detection['true_positives']} matched, {detection['false_negatives']} "
                f"missed, {detection['false_positives']} extra; {detection['reference_beats']} "
                "reference beats, 150 ms window)."
            )
        rows: list[tuple[str, ...]] = []
        header = ("Reference \\ model",)
        if agreement:
            accuracy = agreement.get("accuracy")
            notes.append(
                f"Classes over {agreement['scored_beats']} matched beats (accuracy "
                f"{_value(accuracy)}; {agreement['matched_outside_label_set']} matched beats "
                "have a reference class outside the model's classes and are not scored). "
                "Rows: reference; columns: model."
            )
            header = (header[0], *agreement["classes"], "Sensitivity", "Precision")
            rows = [
                (code, *map(str, row), _value(stats["sensitivity"]), _value(stats["precision"]))
                for code, row, stats in zip(
                    agreement["classes"], agreement["matrix"], agreement["per_class"], strict=True
                )
            ]
        n = len(agreement["classes"]) if agreement else 0
        tables.append(
            ReportTable(
                "Agreement with the reference annotations",
                header if agreement else (),
                rows,
                note=" ".join(notes),
                widths_mm=(30.0, *([min(14.0, 94.0 / max(n, 1))] * n), 25.0, 25.0),
            )
        )
    return tables


def _first_upper(text: str) -> str:
    """``text`` with its first letter upper case (``str.capitalize`` lowers the rest: V1)."""
    return text[:1].upper() + text[1:]
