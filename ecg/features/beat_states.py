"""Per-beat states: may this beat's class be shown, and how sure is it? (issue 18).

Every classified beat gets one of three states, from pure functions of the model's
probabilities and the signal quality of the beat's segment:

* ``unreadable``: the beat lies in a segment that ``ecg.dsp.quality`` found unreadable (noise,
  flat line, clipping). The model's output is kept, but no class is shown for it and it is left
  out of class counts, heart rate, RR variability and runs;
* ``uncertain``: the model's answer is not to be trusted on its own. Two rules:

  - the top probability is under the model's calibrated threshold
    (``metadata["calibration"]["uncertain_below"]``, when the model has one);
  - a flutter call (``!``) outside a run of at least ``FLUTTER_RUN_MIN`` consecutive readable
    ``!`` calls: ventricular flutter is a sustained rhythm, so an isolated ``!`` inside another
    rhythm is almost always a noisy or odd beat, not flutter;
  - (off: ``NOISY_SNR_DB`` is None, as chosen on validation by
    ``benchmarks/noisy_threshold_ds1.py``) in noisy signal, a top probability under
    ``NOISY_UNCERTAIN_BELOW``: the beat's 5-s segment has an estimated QRS-to-noise ratio
    (``ecg.dsp.lead_screen.segment_snr_db``) under ``NOISY_SNR_DB``;
  - a flutter run whose signal the VF detectors do not confirm (``ecg.dsp.flutter``: the
    caller passes ``flutter_unconfirmed``): noise at 160-300 "beats" per minute that the
    quality index let through is read as runs of ``!``, and a heart-rate rule cannot tell;

  shown as "uncertain (X? or Y)" with the runner-up class Y, and counted apart;
* ``classified``: everything else; its class is shown and counted.

Every uncertain beat also gets its reason (``state_reasons``: one of the ``REASON_*`` strings;
an unreadable beat takes its segment's reason from the quality index), stored with the beat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ecg.dsp.flutter import FlutterThresholds, is_flutter, run_figures
from ecg.dsp.quality import SegmentQuality, beat_segment_reasons, beats_readable

CLASSIFIED = "classified"
UNCERTAIN = "uncertain"
UNREADABLE = "unreadable"
STATES = (CLASSIFIED, UNCERTAIN, UNREADABLE)

FLUTTER = "!"
FLUTTER_RUN_MIN = 3  # consecutive readable "!" calls that make a flutter run

REASON_LOW_CONFIDENCE = "confidence under the model's calibrated threshold"
REASON_FLUTTER_ISOLATED = f"flutter call outside a run of {FLUTTER_RUN_MIN}"
REASON_FLUTTER_UNCONFIRMED = "flutter run not confirmed: the signal is not flutter-like"
REASON_UNREADABLE = "unreadable segment"  # when the caller has no segment reason
# Noisy signal needs a higher confidence: a rule the app can apply, off (None) as
# benchmarks/noisy_threshold_ds1.py's rule (version 2, validation only) decided
# (benchmarks/results/noisy_threshold_ds1.json). Version 1 chose 21 dB / 0.75 and cost clean
# signal far more coverage elsewhere than on its four validation records (docs/calibration.md).
NOISY_SNR_DB: float | None = None
NOISY_UNCERTAIN_BELOW = 0.75
REASON_NOISY = "confidence too low for noisy signal (low estimated QRS-to-noise ratio)"


def uncertain_threshold(metadata: Mapping[str, Any]) -> float | None:
    """The model's calibrated "uncertain below" probability, or None when it has none."""
    value = (metadata.get("calibration") or {}).get("uncertain_below")
    return None if value is None else float(value)


def runner_up(probabilities: np.ndarray) -> np.ndarray:
    """Index of each beat's second most probable class (``(n, k)`` -> ``(n,)``)."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        return np.zeros(len(probabilities), dtype=np.int64)
    # The top class masked out, then argmax: ties break as ``argmax`` breaks them for the top.
    rest = probabilities.astype(np.float64, copy=True)
    rest[np.arange(len(rest)), rest.argmax(axis=1)] = -np.inf
    return rest.argmax(axis=1).astype(np.int64)


def in_runs(hits: np.ndarray, min_length: int) -> np.ndarray:
    """For each True in ``hits``, whether it belongs to a run of >= ``min_length`` Trues."""
    hits = np.asarray(hits, dtype=bool)
    edges = np.diff(np.concatenate([[0], hits.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    inside = np.zeros(hits.size, dtype=bool)
    for start, end in zip(starts, ends, strict=True):
        if end - start >= min_length:
            inside[start:end] = True
    return inside


def flutter_runs(*, labels: Sequence[str], readable: np.ndarray) -> list[tuple[int, int]]:
    """Beat-index spans ``(first, end)`` (end exclusive) of the candidate flutter runs: at least
    ``FLUTTER_RUN_MIN`` consecutive readable ``!`` calls."""
    hits = (np.asarray(labels) == FLUTTER) & np.asarray(readable, dtype=bool)
    edges = np.diff(np.concatenate([[0], hits.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= FLUTTER_RUN_MIN]


def flutter_check(
    signal: np.ndarray,
    fs: float,
    *,
    samples: np.ndarray,
    labels: Sequence[str],
    readable: np.ndarray,
    thresholds: FlutterThresholds | None = None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Every candidate flutter run (``flutter_runs``) checked on its stretch of ``signal`` by the
    VF detectors (``ecg.dsp.flutter``): one row per run for the summary (times, beats, figures,
    confirmed) and, per beat, whether it lies in a run that was not confirmed (the
    ``flutter_unconfirmed`` of ``beat_states``)."""
    runs = flutter_runs(labels=labels, readable=readable)
    unconfirmed = np.zeros(len(samples), dtype=bool)
    spans = [(int(samples[a]), int(samples[b - 1])) for a, b in runs]
    rows = []
    for (a, b), (first, last), figures in zip(
        runs, spans, run_figures(signal, fs, spans), strict=True
    ):
        confirmed = is_flutter(figures, thresholds or FlutterThresholds())
        unconfirmed[a:b] = not confirmed
        rows.append(
            {
                "start_s": round(first / fs, 3),
                "end_s": round(last / fs, 3),
                "beats": b - a,
                **{k: None if not np.isfinite(v) else round(v, 4) for k, v in figures.items()},
                "confirmed": confirmed,
            }
        )
    return rows, unconfirmed


def _uncertain_masks(
    labels: np.ndarray,
    confidence: np.ndarray,
    readable: np.ndarray,
    uncertain_below: float | np.ndarray | None,
    flutter_unconfirmed: np.ndarray | None,
    noisy: np.ndarray | None = None,
) -> list[tuple[np.ndarray, str]]:
    """Each uncertain rule's beats with its reason, in order of precedence for the reason."""
    if not (labels.shape == confidence.shape == readable.shape):
        raise ValueError("labels, confidence and readable must have one entry per beat")
    flutter = (labels == FLUTTER) & readable
    masks = [(flutter & ~in_runs(flutter, FLUTTER_RUN_MIN), REASON_FLUTTER_ISOLATED)]
    if flutter_unconfirmed is not None:
        unconfirmed = np.asarray(flutter_unconfirmed, dtype=bool)
        if unconfirmed.shape != labels.shape:
            raise ValueError("flutter_unconfirmed must have one entry per beat")
        masks.append((flutter & unconfirmed, REASON_FLUTTER_UNCONFIRMED))
    if uncertain_below is not None:
        masks.append((confidence < uncertain_below, REASON_LOW_CONFIDENCE))
    if noisy is not None:
        noisy = np.asarray(noisy, dtype=bool)
        if noisy.shape != labels.shape:
            raise ValueError("noisy must have one entry per beat")
        masks.append((noisy & (confidence < NOISY_UNCERTAIN_BELOW), REASON_NOISY))
    return masks


def beat_states(
    *,
    labels: Sequence[str],
    confidence: np.ndarray,
    readable: np.ndarray,
    uncertain_below: float | np.ndarray | None = None,
    flutter_unconfirmed: np.ndarray | None = None,
    noisy: np.ndarray | None = None,
) -> np.ndarray:
    """The state of every beat (an array of ``STATES`` strings), from its label, top
    probability, whether its segment is readable, (``flutter_unconfirmed``, per beat)
    whether its flutter run failed the signal check and (``noisy``, per beat) whether its
    segment's estimated SNR is under ``NOISY_SNR_DB``. Unreadable wins over uncertain.

    ``uncertain_below`` is one threshold or one per beat: with lead fusion a fused beat has the
    fusion's threshold and a beat read on the primary lead alone the model's."""
    labels = np.asarray(labels)
    confidence = np.asarray(confidence, dtype=np.float64)
    readable = np.asarray(readable, dtype=bool)
    uncertain = np.zeros(labels.shape, dtype=bool)
    for mask, _ in _uncertain_masks(
        labels, confidence, readable, uncertain_below, flutter_unconfirmed, noisy
    ):
        uncertain |= mask
    states = np.full(labels.shape, CLASSIFIED, dtype=object)
    states[uncertain] = UNCERTAIN
    states[~readable] = UNREADABLE
    return states.astype(str)


def state_reasons(
    *,
    labels: Sequence[str],
    confidence: np.ndarray,
    readable: np.ndarray,
    uncertain_below: float | np.ndarray | None = None,
    flutter_unconfirmed: np.ndarray | None = None,
    unreadable_reasons: Sequence[str] | None = None,
    noisy: np.ndarray | None = None,
) -> np.ndarray:
    """Why each beat is not classified ("" for a classified beat), same arguments as
    ``beat_states``; an unreadable beat takes ``unreadable_reasons`` (its segment's reason)."""
    labels = np.asarray(labels)
    confidence = np.asarray(confidence, dtype=np.float64)
    readable = np.asarray(readable, dtype=bool)
    reasons = np.full(labels.shape, "", dtype=object)
    # The first rule that holds gives the reason: the flutter ones say more than "confidence".
    for mask, reason in _uncertain_masks(
        labels, confidence, readable, uncertain_below, flutter_unconfirmed, noisy
    ):
        reasons[mask & (reasons == "")] = reason
    if unreadable_reasons is None:
        reasons[~readable] = REASON_UNREADABLE
    else:
        segment = np.asarray(unreadable_reasons, dtype=object)[~readable]
        reasons[~readable] = np.where(segment != "", segment, REASON_UNREADABLE)
    return reasons.astype(str)


def recording_states(
    signal: np.ndarray,
    fs: float,
    quality: SegmentQuality,
    *,
    samples: np.ndarray,
    labels: Sequence[str],
    confidence: np.ndarray,
    uncertain_below: float | np.ndarray | None = None,
    snr_db: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """A whole recording's beats (at ``samples`` of the lead ``signal``): their states, their
    reasons and the rows of the flutter check (``flutter_check``), with each beat's readability
    and unreadable reason from its segment in ``quality``. ``snr_db``: each beat's segment's
    estimated SNR (``beat_snr_db``) for the noisy-signal rule (None: no such rule)."""
    readable = beats_readable(quality, samples)
    checks, unconfirmed = flutter_check(
        signal, fs, samples=samples, labels=labels, readable=readable
    )
    inputs = {
        "labels": labels,
        "confidence": confidence,
        "readable": readable,
        "uncertain_below": uncertain_below,
        "flutter_unconfirmed": unconfirmed,
        "noisy": None if snr_db is None or NOISY_SNR_DB is None else snr_db < NOISY_SNR_DB,
    }
    reasons = state_reasons(**inputs, unreadable_reasons=beat_segment_reasons(quality, samples))
    return beat_states(**inputs), reasons, checks


def state_counts(states: np.ndarray) -> dict[str, int]:
    """Beats per state, every state present (0 when none)."""
    states = np.asarray(states)
    return {state: int(np.sum(states == state)) for state in STATES}
