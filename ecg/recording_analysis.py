"""Whole-recording analysis: detect every beat, classify it with a model bundle, summarise.

Framework-free: the web app's background task and ``benchmarks/recording_benchmark.py`` both call
``analyse``. Classification takes the path of ``ModelBundle.classify_beats`` (the training
preprocessing and representation) in one-hour pieces, and draws each piece's images in batches,
so a 24-hour recording never holds more than a batch of beat images in memory.

Long on purpose: ``analyse`` is one pipeline whose steps hand each other the same beats, peaks
and readable flags (detection, quality, classification on one or two leads, states, summary,
episodes, reference agreement); the helpers it alone uses sit beside it so the order reads top
to bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from ecg.classes import label_set
from ecg.dsp.detection import (
    DetectionError,
    DetectionScore,
    detect_beats,
    evaluate_detection,
    match_to_reference,
)
from ecg.dsp.lead_screen import (
    ScreenThresholds,
    beat_snr_db,
    beats_pass,
    screen_segments,
    screened_share,
    segment_qrs_contrast_db,
    segment_snr_db,
)
from ecg.dsp.quality import SegmentQuality, beats_readable, segment_bounds, signal_quality
from ecg.dsp.signal import prepare_signal
from ecg.features import af_context, beat_states, conduction
from ecg.features.beat_states import recording_states, runner_up, uncertain_threshold
from ecg.features.beats import labels_for
from ecg.features.episodes import detect_af, detect_episodes
from ecg.features.lead_fusion import fuse_aligned, fusion_applies, fusion_setting
from ecg.features.rhythm import summarise
from ecg.features.sanity import InputWarning, recording_warnings
from ecg.io.recording_io import ParsedRecording
from ecg.io.records import SECOND_LEAD_FIRST, normalised_lead
from ecg.models.bundle import ModelBundle, channel_count, channel_leads, trained_leads
from ecg.models.calibration import calibrated_probabilities, model_probabilities
from ecg.models.two_lead_inputs import two_lead_windows

# One-hour pieces bound memory (a 24-hour recording has ~100,000 beat images). For a model with
# RR input, "RR over the record's mean RR" is then taken over the hour around the beat, which is
# closer to training (30-minute MIT-BIH records) than a 24-hour mean would be.
CLASSIFY_CHUNK_S = 3600.0
CONTEXT_S = 5.0  # signal and beats kept on both sides of a piece so filters and RR see context
# Beats drawn and classified at once (a multiple of bundle.PREDICT_BATCH): a batch of 512
# spectrograms takes about 50 MB while drawn, an hour of them (~5,000 beats) about 400 MB.
CLASSIFY_BATCH = 512
# Longest stretch of the lead filtered at once when beats are redrawn (``render_beat_images``):
# beats of one class lie anywhere in 24 hours, and filtering from the first to the last of them
# would take the whole recording.
REDRAW_SPAN_S = 600.0
# Signal quality is scored ten minutes at a time (with a segment of context on each side) so a
# 24-hour lead is never filtered whole.
QUALITY_PIECE_S = 600.0
Progress = Callable[[float, str], None]
# Issue 17: a recording up to five minutes long (a 12-lead ECG, a rhythm strip) has its
# conduction finding read on every lead the model was trained on: the mean over II, III, V1 and
# V5 called PTB-XL's 10-s records far better than lead II alone
# (benchmarks/conduction_leads_ptbxl.py). A longer one is read on its analysed lead alone, as
# before: no extra model pass on a Holter recording.
CONDUCTION_ALL_LEADS_MAX_S = 300.0
# Issue 18: the second lead's screen before fusion (None: no screen, every beat fused as in
# issue 17; ``benchmarks/second_lead_screen.py`` compares the two).
SECOND_LEAD_SCREEN: ScreenThresholds | None = ScreenThresholds()


@dataclass
class BeatResults:
    """Every classified beat: sample (at the recording's rate), class index, probabilities."""

    samples: np.ndarray  # (n,) int64
    probabilities: np.ndarray  # (n, n_classes) float32
    classes: list[str]

    @property
    def label_index(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1).astype(np.int64)

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.classes)[self.label_index]

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(axis=1)

    def __len__(self) -> int:
        return int(self.samples.size)


@dataclass
class Analysis:
    beats: BeatResults
    summary: dict[str, Any]
    detection: DetectionScore | None = None  # against the uploaded reference annotations
    agreement: dict[str, Any] | None = None  # model vs reference classes, matched beats
    reference_labels: np.ndarray | None = None  # per beat: reference class code or "" if none
    detected_beats: int = 0  # before dropping beats too close to the ends for a full window
    timings: dict[str, float] = field(default_factory=dict)
    quality: SegmentQuality | None = None  # per segment of the analysed lead
    states: np.ndarray | None = None  # per beat: classified / uncertain / unreadable
    runner_up: np.ndarray | None = None  # per beat: the second most probable class code
    state_reasons: np.ndarray | None = None  # per beat: why not classified ("" if classified)
    warnings: list[InputWarning] = field(default_factory=list)  # input sanity checks


class NoReadableSignal(DetectionError):
    """No segment of the recording is readable ECG: nothing may be classified. ``reasons``:
    why, e.g. "noise / flat line (no signal)" (``lead_choice.unreadable_lead_message`` says it
    of the lead)."""

    def __init__(self, message: str, reasons: str = "noise") -> None:
        super().__init__(message)
        self.reasons = reasons


def no_readable_reasons(quality: SegmentQuality) -> str:
    """Why no segment is readable, e.g. "noise / flat line (no signal)"."""
    return " / ".join(sorted({r for r in quality.reasons if r}) or ["noise"])


def no_readable_message(quality: SegmentQuality) -> str:
    """The page's message for a recording without one readable segment."""
    return f"no readable ECG in this recording: {no_readable_reasons(quality)}"


def recording_quality(
    signal: np.ndarray, fs: float, peaks: np.ndarray, *, piece_s: float = QUALITY_PIECE_S
) -> SegmentQuality:
    """``signal_quality`` of a whole lead, ``piece_s`` at a time (bounded memory).

    Each piece is scored with one segment of context on both sides (so filter edges fall on
    segments that are thrown away) and keeps exactly the recording's own segments
    (``segment_bounds`` of the whole lead): the result is the same as one call on the whole
    lead, up to those edges.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    bounds = segment_bounds(len(signal), fs)
    size = int(bounds[0, 1] - bounds[0, 0])
    per_piece = max(1, int(round(piece_s * fs)) // max(size, 1))
    parts: list[SegmentQuality] = []
    for first in range(0, len(bounds), per_piece):
        group = bounds[first : first + per_piece]
        lo = max(0, int(group[0, 0]) - size)
        hi = min(len(signal), int(group[-1, 1]) + size)
        local = peaks[(peaks >= lo) & (peaks < hi)] - lo
        quality = signal_quality(np.asarray(signal[lo:hi]), fs, peaks=local)
        own = (quality.starts + lo >= group[0, 0]) & (quality.starts + lo < group[-1, 1])
        parts.append(_shifted(quality, own, lo))
    return _joined(parts)


def _shifted(quality: SegmentQuality, keep: np.ndarray, offset: int) -> SegmentQuality:
    """The ``keep`` segments of ``quality``, their sample positions moved by ``offset``."""
    arrays = {
        f.name: getattr(quality, f.name)[keep]
        for f in fields(quality)
        if isinstance(getattr(quality, f.name), np.ndarray)
    }
    arrays["starts"] = arrays["starts"] + offset
    arrays["ends"] = arrays["ends"] + offset
    reasons = [r for r, k in zip(quality.reasons, keep, strict=True) if k]
    return replace(quality, reasons=reasons, **arrays)


def _joined(parts: list[SegmentQuality]) -> SegmentQuality:
    if len(parts) == 1:
        return parts[0]
    arrays = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(parts[0])
        if isinstance(getattr(parts[0], f.name), np.ndarray)
    }
    reasons = [r for p in parts for r in p.reasons]
    return replace(parts[0], reasons=reasons, **arrays)


def unreadable_spans(quality: SegmentQuality) -> list[tuple[float, float]]:
    """(start, end) seconds of every unreadable segment: where no RR interval may run."""
    return [
        (float(s) / quality.fs, float(e) / quality.fs)
        for s, e, ok in zip(quality.starts, quality.ends, quality.readable, strict=True)
        if not ok
    ]


def classify_at(
    bundle: ModelBundle,
    signal: np.ndarray,
    fs: float,
    peaks: np.ndarray,
    *,
    readable: np.ndarray | None = None,
    progress: Progress | None = None,
    second: np.ndarray | None = None,
    use_second: np.ndarray | None = None,
    calibrated: bool = True,
) -> BeatResults:
    """Classify the beats at ``peaks`` of a raw lead (mV) piece by piece; ``readable``: per peak.

    A two-channel bundle (issue 17) reads each beat once with ``signal`` and ``second`` (the
    second lead, same samples) as its channels; ``use_second`` (per peak, None: all) marks the
    beats whose second-lead window may be used, the others get ``signal`` in both channels, as
    does every beat when ``second`` is None (``two_lead_windows``).

    The probabilities are the model's calibrated ones (``calibration.calibrated_probabilities``:
    its class prior and temperature, from its metadata), the ones its "uncertain" threshold was
    fitted on and the ones every surface shows; ``calibrated=False``: the network's own, for a
    reading chosen on those (the conduction finding's other leads)."""
    peaks = np.asarray(peaks, dtype=np.int64)
    two_lead = channel_count(bundle.metadata) == 2
    piece = int(CLASSIFY_CHUNK_S * fs)
    context = int(CONTEXT_S * fs)
    kept_samples: list[np.ndarray] = []
    kept_probs: list[np.ndarray] = []
    starts = list(range(0, max(len(signal), 1), piece))
    for number, start in enumerate(starts):
        lo = max(0, start - context)
        hi = min(len(signal), start + piece + context)
        in_span = (peaks >= lo) & (peaks < hi)
        local = peaks[in_span] - lo
        if local.size:
            # The piece's windows and "rr" input first (its median beat and RR need them all),
            # then its images batch by batch: same probabilities as ``classify_beats``.
            flags = None if readable is None else np.asarray(readable, bool)[in_span]
            if two_lead:
                kept, windows, rr = two_lead_windows(
                    bundle, signal[lo:hi], None if second is None else second[lo:hi], fs, local,
                    readable=flags,
                    use_second=None if use_second is None else np.asarray(use_second)[in_span],
                )  # fmt: skip
            else:
                kept, windows, rr = bundle.beat_windows(signal[lo:hi], fs, local, readable=flags)
            probs = bundle.classify_windows(windows, rr, batch=CLASSIFY_BATCH)
            samples = local[kept] + lo
            own = (samples >= start) & (samples < start + piece)
            kept_samples.append(samples[own])
            kept_probs.append(np.asarray(probs, dtype=np.float32)[own])
        if progress is not None:
            progress((number + 1) / len(starts), "classifying beats")
    n_classes = len(bundle.classes)
    probabilities = (
        np.concatenate(kept_probs) if kept_probs else np.empty((0, n_classes), np.float32)
    )
    if calibrated:
        calibration = bundle.metadata.get("calibration")
        probabilities = calibrated_probabilities(probabilities, calibration).astype(np.float32)
    return BeatResults(
        samples=np.concatenate(kept_samples) if kept_samples else np.empty(0, np.int64),
        probabilities=probabilities,
        classes=bundle.classes,
    )


def second_lead_index(bundle: ModelBundle, recording: ParsedRecording) -> int | None:
    """The lead ``fuse_second_lead`` reads each beat on too: another lead of the recording the
    model was trained on (V1 first: bundle-branch blocks are read on V1), when the model's
    metadata asks for lead fusion; for a two-channel model, another lead its second channel
    was trained on (``channel_leads``; V1 first too); None otherwise."""
    if channel_count(bundle.metadata) == 2:
        trained = channel_leads(bundle.metadata)[1]
    elif fusion_setting(bundle.metadata) is None:
        return None
    else:
        trained = trained_leads(bundle.metadata)
    others = [i for i in range(len(recording.lead_names)) if i != recording.lead_index]
    usable = [i for i in others if fusion_applies(recording.lead_names[i], trained)]
    usable.sort(key=lambda i: normalised_lead(recording.lead_names[i]) != SECOND_LEAD_FIRST)
    return usable[0] if usable else None


def start_second_lead(
    helper: Executor,
    bundle: ModelBundle,
    recording: ParsedRecording,
    peaks: np.ndarray,
    *,
    readable: np.ndarray | None = None,
) -> Future[BeatResults] | None:
    """``classify_at`` of the second lead (``second_lead_index``) started on ``helper``, or None
    when there is none. It needs only the peaks and readable flags, so it runs while the
    primary lead is classified: each lead's serial steps (filtering, windows, record context,
    its first batch of images) then fill the other's idle moments on two cores, instead of
    leaving one core idle twice. Same probabilities: every call is the one-lead code."""
    index = _fused_lead_index(bundle, recording, peaks)
    if index is None:
        return None
    return helper.submit(classify_at, bundle, recording.signals[index], recording.fs, peaks,
                         readable=readable)  # fmt: skip


def _fused_lead_index(
    bundle: ModelBundle, recording: ParsedRecording, peaks: np.ndarray
) -> int | None:
    """The lead a one-channel model fuses (``second_lead_index``), None when there is none or
    no beat (a two-channel model reads the second lead in ``classify_two_lead``)."""
    if channel_count(bundle.metadata) > 1 or not np.asarray(peaks).size:
        return None
    return second_lead_index(bundle, recording)


def fuse_second_lead(
    bundle: ModelBundle,
    recording: ParsedRecording,
    peaks: np.ndarray,
    beats: BeatResults,
    *,
    readable: np.ndarray | None = None,
    second: Future[BeatResults] | None = None,
    screen: Future | None = None,
) -> tuple[BeatResults, float | np.ndarray | None, dict[str, Any] | None]:
    """(beats, "uncertain below" threshold, summary entry) with the model's lead fusion
    (``metadata["lead_fusion"]``, ``ecg.features.lead_fusion``) applied when the recording has
    another lead the model was trained on (``second_lead_index``). The second lead is
    classified at the SAME peaks, with the same readable flags (or was already, by
    ``start_second_lead``: ``second``; its screen likewise: ``screen``, a future of
    ``screen_second_lead``). Otherwise the beats and the model's calibrated threshold are
    returned unchanged.

    Issue 18: a beat whose segment of the second lead fails the screen (``screen_second_lead``:
    flat, clipped, noise, beats not seen) keeps its primary-lead probabilities and the model's
    calibrated threshold; the fused beats take the fusion's refitted one. The threshold is then
    one per beat (an array), and the summary entry says what share of the lead was screened."""
    setting = fusion_setting(bundle.metadata)
    threshold = uncertain_threshold(bundle.metadata)
    index = second_lead_index(bundle, recording)
    if setting is None or index is None or not len(beats):
        return beats, threshold, None
    # The whole second lead is classified, not only the consulted beats: its RR and record
    # context inputs come from all of its beats, as in the validation study.
    if second is None:
        second_beats = classify_at(bundle, recording.signals[index], recording.fs, peaks,
                                   readable=readable)  # fmt: skip
    else:
        second_beats = second.result()
    probs = fuse_aligned(beats.samples, beats.probabilities, second_beats.samples,
                         second_beats.probabilities, beats.classes, setting.rule)  # fmt: skip
    entry: dict[str, Any] = {"rule": setting.rule, "second_lead": recording.lead_names[index]}
    fused_threshold = threshold if setting.uncertain_below is None else setting.uncertain_below
    screened = (
        screen_second_lead(recording.signals[index], recording.fs, peaks)
        if screen is None
        else screen.result()
    )
    if screened is None:
        return replace(beats, probabilities=probs), fused_threshold, entry
    passed, quality, reasons = screened
    fused = beats_pass(passed, quality, beats.samples)
    probs[~fused] = beats.probabilities[~fused]  # read on the primary lead alone
    entry["screened_share"] = round(screened_share(passed, quality), 4)
    entry["screened_beats"] = int((~fused).sum())
    entry["screened_reasons"] = sorted({r for r in reasons if r})
    per_beat: float | np.ndarray | None = fused_threshold
    if threshold is not None and threshold != fused_threshold:
        # (a model without a calibrated threshold: the fusion's stands in for every beat)
        per_beat = np.where(fused, fused_threshold, threshold)
    return replace(beats, probabilities=probs), per_beat, entry


def classify_two_lead(
    bundle: ModelBundle,
    recording: ParsedRecording,
    peaks: np.ndarray,
    *,
    readable: np.ndarray | None = None,
    progress: Progress | None = None,
) -> tuple[BeatResults, dict[str, Any] | None]:
    """(beats, summary entry or None) of a two-channel model (issue 17): each beat read once
    with the primary lead and the second lead (``second_lead_index``) as its channels.

    Fallback, chosen on validation data (``benchmarks/two_lead_serving.py``): a beat without a
    usable second lead -- none in the recording, or its segment failed the second lead's screen
    (``screen_second_lead``, issue 18) -- gets the primary in both channels. The entry has the
    fields of lead fusion's (``rule`` "two_lead", ``second_lead``, the screened share, beats and
    reasons), so the page, the PDF and the API say which leads were read; None without one."""
    index = second_lead_index(bundle, recording)
    second, use_second, screen = None, None, None
    if index is not None and np.asarray(peaks).size:
        second = recording.signals[index]
        screen = screen_second_lead(second, recording.fs, peaks)
        if screen is not None:
            use_second = beats_pass(screen[0], screen[1], np.asarray(peaks, dtype=np.int64))
    beats = classify_at(bundle, recording.signal, recording.fs, peaks, readable=readable,
                        progress=progress, second=second, use_second=use_second)  # fmt: skip
    if second is None:
        return beats, None
    entry: dict[str, Any] = {"rule": "two_lead", "second_lead": recording.lead_names[index]}
    if screen is not None:
        passed, quality, reasons = screen
        entry["screened_share"] = round(screened_share(passed, quality), 4)
        entry["screened_beats"] = int((~beats_pass(passed, quality, beats.samples)).sum())
        entry["screened_reasons"] = sorted({r for r in reasons if r})
    return beats, entry


def screen_second_lead(
    signal: np.ndarray, fs: float, peaks: np.ndarray
) -> tuple[np.ndarray, SegmentQuality, list[str]] | None:
    """(passed per segment, the second lead's quality, reasons) of ``SECOND_LEAD_SCREEN``, or
    None when the screen is off. The quality is scored piece by piece (``recording_quality``)
    at the analysis's beats."""
    if SECOND_LEAD_SCREEN is None:
        return None
    quality = recording_quality(signal, fs, peaks)
    snr = (
        segment_snr_db(signal, fs, peaks) if np.isfinite(SECOND_LEAD_SCREEN.snr_floor_db) else None
    )
    contrast = (
        segment_qrs_contrast_db(signal, fs, peaks)
        if np.isfinite(SECOND_LEAD_SCREEN.contrast_floor_db)
        else None
    )
    passed, reasons = screen_segments(quality, snr, SECOND_LEAD_SCREEN, contrast)
    return passed, quality, reasons


def render_beat_images(
    metadata: dict[str, Any], signal: np.ndarray, fs: float, peaks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The model's input images for beats at ``peaks``, from a bundle's metadata alone.

    Same path as ``ModelBundle.classify_beats`` (resample + band-pass, window, render) but
    without loading the network, so the web process can redraw any stored beat. Returns
    (images, indices into ``peaks`` of the beats drawn).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    size = int(metadata["image_size"])
    images = [np.empty((0, size, size), np.uint8)]
    kept = [np.empty(0, np.int64)]
    for group in _redraw_groups(peaks, int(REDRAW_SPAN_S * fs)):
        group_images, group_kept = _render_stretch(metadata, signal, fs, peaks[group])
        images.append(group_images)
        kept.append(group[group_kept])
    return np.concatenate(images), np.concatenate(kept)


def _redraw_groups(peaks: np.ndarray, span: int) -> list[np.ndarray]:
    """Indices into ``peaks`` in runs whose samples lie within ``span`` of the run's first."""
    groups: list[np.ndarray] = []
    first = 0
    for index in range(1, len(peaks) + 1):
        if index == len(peaks) or abs(int(peaks[index]) - int(peaks[first])) > span:
            groups.append(np.arange(first, index))
            first = index
    return groups


def _render_stretch(
    metadata: dict[str, Any], signal: np.ndarray, fs: float, peaks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``render_beat_images`` for beats close together: one stretch of the lead is filtered."""
    from ecg.features.beats import extract_windows
    from ecg.imaging.representations import render

    context = int(CONTEXT_S * fs)
    lo = max(0, int(peaks.min()) - context)
    hi = min(len(signal), int(peaks.max()) + context)
    model_fs = float(metadata["sampling_rate"])
    clean = prepare_signal(signal[lo:hi], fs, model_fs)
    scaled = np.round((peaks - lo) * (model_fs / fs)).astype(np.int64)
    window = metadata["window"]
    windows, kept = extract_windows(
        clean, scaled, model_fs, pre_s=window["pre_s"], post_s=window["post_s"]
    )
    representation = metadata["representation"]
    images = render(representation["kind"], windows, model_fs, representation.get("params"))
    return images, kept


def beat_images(
    bundle: ModelBundle, signal: np.ndarray, fs: float, peaks: np.ndarray
) -> np.ndarray:
    """The model's input images for beats at ``peaks`` (same path as ``classify_beats``)."""
    return render_beat_images(bundle.metadata, signal, fs, peaks)[0]


def reference_agreement(
    beats: BeatResults,
    reference_samples: np.ndarray,
    reference_symbols: np.ndarray,
    fs: float,
    label_set_name: str,
) -> tuple[dict[str, Any], np.ndarray]:
    """Confusion matrix and per-class sensitivity / precision, model vs reference classes.

    Beats are paired by the EC57 150 ms matching; reference beats whose symbol is outside the
    model's label set (e.g. paced or fusion beats) are counted apart, not scored.
    """
    classes = beats.classes
    match = match_to_reference(reference_samples, beats.samples, fs)
    ref_index = labels_for(np.asarray(reference_symbols), label_set_name)
    ref_codes = np.full(len(beats), "", dtype=object)
    matched = match >= 0
    matched_classes = np.full(len(beats), -1, dtype=np.int64)
    matched_classes[matched] = ref_index[match[matched]]
    in_set = matched_classes >= 0
    ref_codes[in_set] = np.asarray(classes)[matched_classes[in_set]]
    predicted = beats.label_index
    k = len(classes)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (matched_classes[in_set], predicted[in_set]), 1)
    per_class = []
    for i, code in enumerate(classes):
        tp = int(matrix[i, i])
        actual = int(matrix[i].sum())
        called = int(matrix[:, i].sum())
        per_class.append(
            {
                "code": code,
                "reference": actual,
                "predicted": called,
                "sensitivity": round(tp / actual, 4) if actual else None,
                "precision": round(tp / called, 4) if called else None,
            }
        )
    scored = int(in_set.sum())
    agreement = {
        "classes": classes,
        "matrix": matrix.tolist(),  # rows: reference class, columns: model class
        "per_class": per_class,
        "scored_beats": scored,
        "accuracy": round(float(np.trace(matrix)) / scored, 4) if scored else None,
        "matched_outside_label_set": int((matched & ~in_set).sum()),
        "unmatched_detections": int((~matched).sum()),
    }
    return agreement, ref_codes.astype(str)


# glibc's malloc arenas a worker process may keep (``limit_malloc_arenas``): one per core.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (glibc malloc.h)


def conduction_leads(bundle: ModelBundle, recording: ParsedRecording) -> list[int]:
    """Channels besides the analysed lead that name a lead the model was trained on."""
    trained = {normalised_lead(name) for name in trained_leads(bundle.metadata)}
    analysed = normalised_lead(recording.lead)
    return [
        i
        for i, name in enumerate(recording.lead_names)
        if i != recording.lead_index
        and normalised_lead(name) in trained
        and normalised_lead(name) != analysed
    ]


def recording_conduction(
    recording: ParsedRecording, bundle: ModelBundle, beats: BeatResults, states: np.ndarray
) -> dict[str, Any]:
    """The conduction finding (``ecg.features.conduction``) from the analysed lead's readable
    beats and, on a recording of at most ``CONDUCTION_ALL_LEADS_MAX_S`` that holds other leads
    the model was trained on, theirs too: each such lead's beats detected and classified on
    that lead, its unreadable segments left out. The evidence is the model's own probabilities,
    which the finding's thresholds were chosen on: the analysed lead's read back from the served
    ones (``model_probabilities``: the calibration undone), the other leads' classified
    without it."""
    own = model_probabilities(beats.probabilities, bundle.metadata.get("calibration"))
    evidence = [conduction.lead_evidence(recording.lead, own, states.tolist())]
    short = recording.duration_s <= CONDUCTION_ALL_LEADS_MAX_S
    for index in conduction_leads(bundle, recording) if short else []:
        lead = np.asarray(recording.signals[index], dtype=np.float32)
        name = recording.lead_names[index]
        try:
            peaks = detect_beats(lead, recording.fs)
        except DetectionError:
            peaks = np.empty(0, np.int64)
        if peaks.size == 0:  # no beat found on it: a lead with no evidence
            evidence.append(conduction.lead_evidence(name, np.zeros((0, len(beats.classes)))))
            continue
        readable = beats_readable(recording_quality(lead, recording.fs, peaks), peaks)
        result = classify_at(bundle, lead, recording.fs, peaks, readable=readable, calibrated=False)
        ok = readable[np.searchsorted(peaks, result.samples)]
        evidence.append(conduction.lead_evidence(name, result.probabilities[ok]))
    return conduction.finding_from_leads(evidence, beats.classes)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most ``arenas`` glibc malloc arenas in this process from now on; True if set.

    Why: each thread that allocates gets an arena of its own (up to 8 per core), and an arena
    keeps the memory its thread freed for that thread's next allocations. ``analyse`` runs up
    to eight threads (interpreter lanes, image drawing, the second lead, detection's second
    search), so a 24-hour analysis's peak RSS grew by about 150 MB with lead fusion while its
    heap peak (tracemalloc) did not move. Measured on an 8-hour upload in a fresh process:
    peak RSS 462 MB by default, 369 MB with two arenas (415 MB one-lead), CPU time unchanged.
    Process-wide and not undone, so a worker calls it (``recordings.tasks``), not the library.
    No-op (False) where the C library is not glibc.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False


@lru_cache(maxsize=1)
def _thread_pools() -> Any:
    """The process's BLAS thread pools (found once: scanning the loaded libraries takes ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _classify_fused(
    bundle: ModelBundle,
    recording: ParsedRecording,
    peaks: np.ndarray,
    readable: np.ndarray,
    report: Callable[[float, str], None],
    timings: dict[str, float],
    helper: Executor,
    screen: Future | None,
) -> tuple[BeatResults, float | np.ndarray | None, dict[str, Any] | None]:
    """A one-channel model's classification: the primary lead, and the second lead alongside
    on ``helper`` when the model fuses one (``start_second_lead``, ``fuse_second_lead``);
    ``screen``: the second lead's screen, already started on ``helper`` (``_start_screen``)."""
    import time

    started = time.perf_counter()
    second = start_second_lead(helper, bundle, recording, peaks, readable=readable)
    beats = classify_at(
        bundle,
        recording.signal,
        recording.fs,
        peaks,
        readable=readable,
        progress=lambda f, m: report(0.4 + 0.5 * f, m),
    )
    timings["classify_s"] = time.perf_counter() - started  # the second lead alongside
    started = time.perf_counter()
    beats, uncertain_below, fusion = fuse_second_lead(
        bundle, recording, peaks, beats, readable=readable, second=second, screen=screen
    )  # issue 17: read the beat on a trained second lead too (a metadata flag)
    if fusion is not None:
        timings["second_lead_s"] = time.perf_counter() - started  # its wait after the first
    return beats, uncertain_below, fusion


def _start_screen(
    helper: Executor, bundle: ModelBundle, recording: ParsedRecording, peaks: np.ndarray
) -> Future | None:
    """The second lead's screen (``screen_second_lead``) started on ``helper`` when a
    one-channel model will fuse a second lead, else None. It needs only the peaks, so it runs
    while this thread scores the primary lead's quality, on the core that step left idle
    (4.4 s of a 24-hour upload); a pure function, so the same result as computed later."""
    index = _fused_lead_index(bundle, recording, peaks)
    if index is None:
        return None
    return helper.submit(screen_second_lead, recording.signals[index], recording.fs, peaks)


def analyse(
    recording: ParsedRecording, bundle: ModelBundle, *, progress: Progress | None = None
) -> Analysis:
    """Detect, classify and summarise one recording (and compare with its reference if any).

    BLAS runs one thread meanwhile: the analysis keeps both cores busy with its own threads
    (the interpreter's lanes and the thread drawing the next batch of images), and OpenBLAS's
    threads, which spin while they wait, only took CPU time from them (drawing the images of
    record 100 cost 0.23 s of CPU with two BLAS threads, 0.13 s with one; same images).
    """
    with _thread_pools().limit(limits=1, user_api="blas"):
        return _analyse(recording, bundle, progress)


def _analyse(
    recording: ParsedRecording, bundle: ModelBundle, progress: Progress | None
) -> Analysis:
    import time

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    report(0.0, "detecting beats")
    peaks = detect_beats(
        recording.signal,
        recording.fs,
        second_lead=recording.second_lead,
        progress=lambda f: report(0.4 * f, "detecting beats"),
    )
    timings["detect_s"] = time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-lead") as helper:
        screen = _start_screen(helper, bundle, recording, peaks)
        started = time.perf_counter()
        quality = recording_quality(recording.signal, recording.fs, peaks)
        timings["quality_s"] = time.perf_counter() - started
        # Without a single detected beat the caller's "no heartbeat" says it all already.
        if peaks.size and not quality.readable.any():
            raise NoReadableSignal(no_readable_message(quality), no_readable_reasons(quality))
        readable = beats_readable(quality, peaks)  # the record context from readable beats
        if channel_count(bundle.metadata) == 2:
            # Issue 17: one network call per beat reads both leads (no fusion afterwards).
            started = time.perf_counter()
            beats, fusion = classify_two_lead(
                bundle, recording, peaks, readable=readable,
                progress=lambda f, m: report(0.4 + 0.5 * f, m),
            )  # fmt: skip
            uncertain_below = uncertain_threshold(bundle.metadata)
            timings["classify_s"] = time.perf_counter() - started  # the second lead included
        else:
            beats, uncertain_below, fusion = _classify_fused(
                bundle, recording, peaks, readable, report, timings, helper, screen
            )
    report(0.9, "summarising")

    # Each beat's segment's estimated SNR, for the noisy-signal threshold (beat_states).
    snr_db = None
    if beat_states.NOISY_SNR_DB is not None:
        snr_db = beat_snr_db(recording.signal, recording.fs, beats.samples)

    def states_of(beats: BeatResults) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
        return recording_states(
            recording.signal, recording.fs, quality, samples=beats.samples,
            labels=beats.labels, confidence=beats.confidence, uncertain_below=uncertain_below,
            snr_db=snr_db,
        )  # fmt: skip

    states, reasons, checks = states_of(beats)
    spans = unreadable_spans(quality)
    episode_inputs = {"unreadable_s": spans, "signal": recording.signal}
    af = detect_af(beats.samples, beats.labels, recording.fs, states=states.tolist(),
                   **episode_inputs)  # fmt: skip
    merged = np.zeros(len(beats), dtype=bool)
    if af_context.MERGE_ATRIAL_IN_AF and af:
        # AF depends on the classes only through classified V beats, which this leaves alone.
        probabilities, merged = af_context.merge_atrial_in_af(
            beats.probabilities, beats.samples / recording.fs,
            [(e.start_s, e.end_s) for e in af], beats.classes,
        )  # fmt: skip
        if merged.any():
            beats = replace(beats, probabilities=probabilities)
            states, reasons, checks = states_of(beats)
    summary = summarise(
        peaks=beats.samples,
        labels=beats.labels.tolist(),
        fs=recording.fs,
        duration_s=recording.duration_s,
        classes=beats.classes,
        states=states.tolist(),
    )
    summary.update(analysable_share=round(quality.readable_share, 4), flutter_checks=checks)
    summary["atrial_calls_in_af"] = int(merged.sum())
    calibration = bundle.metadata.get("calibration")
    if calibration:  # what the stored probabilities went through (a recount undoes it)
        summary["calibration_applied"] = {
            k: calibration[k] for k in ("temperature", "class_prior") if k in calibration
        }
    if conduction.applies(beats.classes):
        summary["conduction"] = recording_conduction(recording, bundle, beats, states)
    if fusion is not None:
        summary["lead_fusion"] = fusion
    episodes = detect_episodes(
        beats.samples, beats.labels, recording.fs, states=states.tolist(), af=af,
        duration_s=recording.duration_s, **episode_inputs,
    )  # fmt: skip
    summary["episodes"] = [episode.as_dict() for episode in episodes]
    analysis = Analysis(
        beats=beats,
        summary=summary,
        detected_beats=int(peaks.size),
        quality=quality,
        states=states,
        runner_up=np.asarray(beats.classes)[runner_up(beats.probabilities)],
        state_reasons=reasons,
    )
    analysis.warnings = recording_warnings(
        signal=recording.signal,
        fs=recording.fs,
        peaks=beats.samples,
        labels=beats.labels.tolist(),
        states=states.tolist(),
        lead=recording.lead,
        trained_leads=trained_leads(bundle.metadata),
    )
    if recording.has_reference:
        analysis.detection = evaluate_detection(recording.ann_samples, peaks, recording.fs)
        label_set_name = str(bundle.metadata.get("label_set", "six"))
        label_set(label_set_name)  # fail early on an unknown label set
        analysis.agreement, analysis.reference_labels = reference_agreement(
            beats, recording.ann_samples, recording.ann_symbols, recording.fs, label_set_name
        )
    analysis.timings = timings
    report(1.0, "done")
    return analysis
