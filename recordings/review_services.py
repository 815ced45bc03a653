"""Writes of the clinician's review (issue 20): corrections with an audit trail, the beat
templates (grouped once, then cached), and labels suggested from the corrections.

Rules:

* only the recording's owner corrects it (anyone else: 404, nothing written);
* a correction never changes ``Beat.label`` (the model's answer): each one is a new
  ``BeatCorrection`` row, the latest per beat is copied to ``Beat.reviewed_label``, and the
  summary is recounted with the reviewed labels, all in one transaction;
* suggested labels (``beats_suggest``) are stored apart (``Beat.suggested_label``) and are never
  counted as reviewed;
* each of these user actions is one ``ReviewAction``; ``review_action_undo`` undoes the latest
  one not undone yet, restoring what each beat showed before, and is itself an action with
  correction rows (the audit trail only grows); ``review_action_redo`` re-applies the latest
  undone one (until a new action clears the redo stack), again as an action of its own;
  ``review_action_revert`` undoes one older action alone ("Undo this action"), on the beats no
  later action changed again, as an action of its own too (a "revert", which Undo can undo and
  which clears the redo stack like any new action);
* each of these writes decides (what Undo undoes, what a beat showed before, whether an action
  is still in effect) and writes in one transaction holding the recording's row (``_lock``),
  so two requests racing for one action cannot both apply it.

Long on purpose: every write of the review sits here, so each action's transaction and the undo
that reverses it share one set of helpers (``_beat_rows``, ``_corrections_write``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.http import Http404
from django.utils import timezone

from ecg.classes import NOT_A_BEAT, review_labels
from ecg.dsp.signal import bandpass
from ecg.features import af_context, beat_states, conduction
from ecg.features.beats import POST_S, PRE_S, extract_windows, window_bounds
from ecg.features.corrections import answer_labels, rr_without, teach
from ecg.features.episodes import detect_episodes
from ecg.features.rhythm import summarise
from ecg.features.templates import group_beats, morphology_vectors
from ecg.models.calibration import model_probabilities

from .errors import (
    ActionNotUndoable,
    AnalysisNotDone,
    CorrectionRefused,
    NothingToRedo,
    NothingToUndo,
)
from .models import Beat, BeatCorrection, Recording, ReviewAction, TemplateGrouping
from .review_action_selectors import (
    review_action_origin,
    review_action_redoable,
    review_action_refusal,
    review_action_states,
    review_action_undoable,
)
from .selectors import unreadable_stretches
from .services import mapped_signals

INDEX_CHUNK = 900  # beat indices per IN (...) query: under SQLite's variable limit everywhere
OVERLAY_BEATS = 30  # member beats drawn over each template card
OVERLAY_POINTS = 100  # points per drawn beat (the median keeps the full window)
TEMPLATE_SEED = 0  # the grouping is deterministic for a seed (ecg.features.templates)
# What the loser of two requests racing for one action is told (nothing written).
STALE_UNDO = (
    "This action has just been undone, or another action came after it; nothing was undone."
)
STALE_REDO = (
    "This action has just been redone, or another action came after it; nothing was redone."
)


def _check(*, user, recording: Recording) -> None:
    if recording.owner_id != getattr(user, "pk", None):
        raise Http404("No such recording.")  # not yours: as if it did not exist
    if recording.status != Recording.Status.DONE:
        raise AnalysisNotDone("This recording has not been analysed; it cannot be reviewed yet.")


def _lock(recording: Recording) -> None:
    """Inside a transaction: hold the recording's row until it ends, so that each review write
    decides (what Undo undoes, what a beat showed before) and writes with no other review write
    of this recording in between. On PostgreSQL a row lock (``SELECT ... FOR UPDATE``); SQLite
    opens every transaction IMMEDIATE (ecgsite.settings), which serialises writers already."""
    fresh = (
        Recording.objects.select_for_update()
        .filter(pk=recording.pk)
        .values_list("summary", "review")
        .first()
    )
    if fresh is not None:  # what a write that just finished left, not what this request read
        recording.summary, recording.review = fresh[0], fresh[1] or {}


def _classes(recording: Recording) -> list[str]:
    return list(recording.model_metadata.get("classes") or [])


def _chunks(values: list[int], size: int = INDEX_CHUNK) -> Iterable[list[int]]:
    for lo in range(0, len(values), size):
        yield values[lo : lo + size]


def _indices(beat_indices: Iterable) -> list[int]:
    try:
        indices = sorted({int(i) for i in beat_indices})
    except (TypeError, ValueError):
        raise CorrectionRefused("Beat numbers must be whole numbers.") from None
    if not indices:
        raise CorrectionRefused("Choose at least one beat to correct.")
    return indices


def beat_correct(*, user, recording: Recording, beat_indices: Iterable, label: str) -> int:
    """Give the beats ``beat_indices`` of ``recording`` the class ``label`` (one of the model's
    classes) on behalf of ``user``, the owner. One transaction: the action, the correction rows
    (audit trail), the beats' reviewed label and the recounted summary. Returns how many beats."""
    return _correct(user=user, recording=recording, beat_indices=beat_indices, label=label)


def _correct(
    *,
    user,
    recording: Recording,
    beat_indices: Iterable,
    label: str,
    kind: str = ReviewAction.Kind.CORRECT,
    group: int | None = None,
) -> int:
    _check(user=user, recording=recording)
    classes = review_labels(_classes(recording))
    if label not in classes:
        raise CorrectionRefused(
            f"Unknown class {str(label)[:8]!r}: use one of {', '.join(classes)}."
        )
    indices = _indices(beat_indices)
    now = timezone.now()
    with transaction.atomic():
        _lock(recording)
        # Read under the lock: what each beat shows now is what undoing this action puts back
        # (read before it, two relabels racing would both keep the label before either).
        found = _beat_rows(recording, indices)
        if len(found) != len(indices):
            raise CorrectionRefused("Some of these beats are not in this recording.")
        action = ReviewAction.objects.create(
            recording=recording,
            kind=kind,
            label=label,
            group=group,
            beat_count=len(found),
            first_beat=indices[0],
            created_by=user,
            created_at=now,
        )
        _corrections_write(
            recording=recording, action=action, rows=found, labels={}, default=(label, user.pk)
        )
        review_refresh_summary(recording=recording)
    if (recording.review or {}).get("suggestions"):
        _suggestions_refresh(recording=recording)
    return len(found)


BeatRow = tuple[int, str, str, str, str, int | None]  # pk, label, state, runner-up, reviewed, by


def _beat_rows(recording: Recording, indices: list[int] | None = None, pks=None) -> list[BeatRow]:
    """The beats (by index, or by primary key) with what a correction reads of them."""
    fields = ("pk", "label", "state", "runner_up", "reviewed_label", "reviewed_by_id")
    key, values = ("index__in", indices) if pks is None else ("pk__in", sorted(pks))
    found: list[BeatRow] = []
    for chunk in _chunks(values):
        found += list(recording.beats.filter(**{key: chunk}).values_list(*fields))
    return found


def _corrections_write(
    *,
    recording: Recording,
    action: ReviewAction,
    rows: list[BeatRow],
    labels: dict[int, tuple[str, int | None]],
    default: tuple[str, int | None] = ("", None),
) -> None:
    """One correction row per beat of ``rows`` (with what the beat showed before, so that it can
    be undone) and the beats' new reviewed label and reviewer: ``labels[pk]``, else ``default``.
    A beat's suggestion goes (a reviewed beat has none; others are recomputed if asked for)."""
    corrections, targets = [], {}
    for pk, model_label, state, runner_up, reviewed, reviewed_by in rows:
        label, by = labels.get(pk, default)
        corrections.append(
            BeatCorrection(
                recording=recording,
                beat_id=pk,
                label=label,
                previous_label=reviewed or _shown(model_label, state, runner_up),
                previous_reviewed_label=reviewed,
                previous_reviewed_by_id=reviewed_by if reviewed else None,
                action=action,
                created_by=action.created_by,
                created_at=action.created_at,
            )
        )
        targets.setdefault((label, by if label else None), []).append(pk)
    BeatCorrection.objects.bulk_create(corrections, batch_size=2000)
    for (label, by), pks in targets.items():  # one UPDATE per (label, reviewer) and chunk
        for chunk in _chunks(pks):
            Beat.objects.filter(pk__in=chunk).update(
                reviewed_label=label, reviewed_by_id=by, suggested_label=""
            )


def _suggestions_refresh(*, recording: Recording) -> None:
    """Suggestions were asked for before this correction: recompute them from every correction
    so none is left from an older set. Runs after the correction is saved; if the lead cannot be
    read now, the old suggestions are cleared rather than left stale (the button says why)."""
    try:
        _suggestions_write(recording=recording)
    except (OSError, ValueError):
        with transaction.atomic():
            _lock(recording)
            recording.beats.exclude(suggested_label="").update(suggested_label="")
            review = dict(recording.review)
            review.pop("suggestions", None)
            recording.review = review
            Recording.objects.filter(pk=recording.pk).update(review=review)


def _shown(label: str, state: str, runner_up: str) -> str:
    from .models import shown_label

    return shown_label(label, state, runner_up)


def review_refresh_summary(*, recording: Recording) -> None:
    """Recount the summary (classes, states, ectopy, rate, episodes) with the reviewed labels:
    a reviewed beat counts as classified with the clinician's class, whatever the model's
    state; a beat reviewed as an artefact (``NOT_A_BEAT``) is no beat, left out of every
    count, interval and episode (the intervals either side of it become one). The model's
    own summary is kept once in ``review["model_summary"]``."""
    every = list(
        recording.beats.order_by("index").values_list("sample", "label", "state", "reviewed_label")
    )
    rows = [r for r in every if r[3] != NOT_A_BEAT]
    samples = np.array([r[0] for r in rows], dtype=np.int64)
    labels = [r[3] or r[1] for r in rows]
    states = [beat_states.CLASSIFIED if r[3] else r[2] for r in rows]
    # the model's classes, then a row for each label only a reviewer gives (F, P) that was given
    model_classes, given = _classes(recording), {r[3] for r in rows}
    extra = [c for c in review_labels(model_classes) if c not in model_classes and c in given]
    counted_classes = model_classes + extra
    counted = summarise(
        peaks=samples,
        labels=labels,
        fs=recording.sampling_rate,
        duration_s=recording.duration_s,
        classes=counted_classes,
        states=states,
    )
    if "episodes" in recording.summary:  # (analysed before episodes were detected: left alone)
        spans = [(s["start_s"], s["end_s"]) for s in unreadable_stretches(recording=recording)]
        # The analysed lead, as the analysis passed it: AF's atrial rule (the P-wave veto)
        # reads it, so a recount must too or AF could change on the first correction.
        with mapped_signals(recording) as signals:
            episodes = detect_episodes(
                samples,
                labels,
                recording.sampling_rate,
                states=states,
                unreadable_s=spans,
                signal=signals[0],
                duration_s=recording.duration_s,
            )
        counted["episodes"] = [episode.as_dict() for episode in episodes]
    if "conduction" in recording.summary and recording.results_file:
        counted["conduction"] = _reviewed_conduction(recording)
    review = dict(recording.review or {})
    keys = ("beats", "duration_s", "classes", "states", "heart_rate", "rr", "ectopy", "episodes",
            "conduction")  # fmt: skip
    review.setdefault("model_summary", {k: recording.summary.get(k) for k in keys})
    reviewers = sorted(
        set(
            recording.beats.exclude(reviewed_label="")
            .exclude(reviewed_by=None)
            .values_list("reviewed_by__username", flat=True)
        )
    )
    beats_reviewed = sum(1 for r in every if r[3])
    if not beats_reviewed:  # every review undone: the model's own figures, exactly as written
        counted |= {k: v for k, v in review["model_summary"].items() if v is not None}
    review |= {
        "beats_reviewed": beats_reviewed,
        "not_beats": len(every) - len(rows),
        "reviewers": reviewers,
        "updated_at": timezone.now().isoformat(timespec="seconds"),
    }
    recording.summary = dict(recording.summary) | counted
    recording.review = review
    Recording.objects.filter(pk=recording.pk).update(summary=recording.summary, review=review)


def _reviewed_conduction(recording: Recording) -> dict[str, Any]:
    """The conduction finding with the reviewed classes: on the analysed lead a reviewed beat's
    probabilities become its class alone (the clinician's word replaces the model's; a class
    the model lacks, e.g. F, counts for none of L, R, N) and a beat reviewed as an artefact is
    no beat; the other leads' evidence, which no review touches, is kept as analysed. The
    stored probabilities are read back as the model gave them (``model_probabilities`` with the
    calibration the analysis applied; none for a recording analysed before it applied one), as
    the analysis read them for the finding."""
    from .selectors import _probabilities

    classes = _classes(recording)
    analysed = recording.summary.get("conduction") or {}
    others = list(analysed.get("leads") or [])[1:]
    rows = recording.beats.order_by("index").values_list("index", "state", "reviewed_label")
    rows = [r for r in rows if r[2] != NOT_A_BEAT]
    stored = _probabilities(recording)[[r[0] for r in rows]]
    probs = model_probabilities(stored, recording.summary.get("calibration_applied"))
    reviewed = np.array([bool(r[2]) for r in rows], dtype=bool)
    probs[reviewed] = 0.0
    for row in np.flatnonzero(reviewed):
        if rows[row][2] in classes:
            probs[row, classes.index(rows[row][2])] = 1.0
    states = [beat_states.CLASSIFIED if r[2] else r[1] for r in rows]
    own = conduction.lead_evidence(recording.lead, probs, states)
    return conduction.finding_from_leads([own, *others], classes)


# -- beat windows, shared by the templates and the suggestions --------------------------------


def beat_windows(recording: Recording) -> dict[str, Any]:
    """Band-passed windows (mV) of every beat of the analysed lead, 250 ms before to 450 ms after
    the R peak at the recording's own rate, and the beat indices they belong to (a beat too
    close to either end has no window). The whole lead is read once (a 24-hour lead: ~250 MB)."""
    rows = list(recording.beats.order_by("index").values_list("index", "sample"))
    indices = np.array([r[0] for r in rows], dtype=np.int64)
    samples = np.array([r[1] for r in rows], dtype=np.int64)
    fs = recording.sampling_rate
    with mapped_signals(recording) as signals:
        lead = bandpass(np.asarray(signals[0], dtype=np.float64), fs)
    windows, kept = extract_windows(lead, samples, fs, pre_s=PRE_S, post_s=POST_S)
    r_index, _ = window_bounds(fs, PRE_S, 0.0)
    return {
        "windows": windows,
        "indices": indices[kept],
        "samples": samples,
        "all_indices": indices,
        "kept": kept,
        "r_index": r_index,
        "fs": fs,
    }


def _decimate(x: np.ndarray, points: int) -> list[float]:
    step = max(1, int(np.ceil(len(x) / points)))
    return [round(float(v), 3) for v in x[::step]]


def template_grouping_get_or_create(*, user, recording: Recording) -> TemplateGrouping:
    """The recording's template groups, grouped on the first visit and stored."""
    _check(user=user, recording=recording)
    existing = TemplateGrouping.objects.filter(recording=recording).first()
    if existing is not None:
        return existing
    started = time.perf_counter()
    data = beat_windows(recording)
    classes = _classes(recording)
    model_labels = dict(recording.beats.values_list("index", "label"))
    labels = np.array([classes.index(model_labels[int(i)]) for i in data["indices"]], dtype=int)
    groups = group_beats(
        data["windows"], data["fs"], data["r_index"], labels=labels, classes=classes,
        seed=TEMPLATE_SEED,
    )  # fmt: skip
    rows = []
    for g in groups:
        members = data["indices"][g.index]
        # Evenly spread members for the overlay (deterministic), the medoid first.
        pick = g.index[np.unique(np.linspace(0, len(g.index) - 1, OVERLAY_BEATS).astype(int))]
        rows.append(
            {
                "indices": members.tolist(),
                "median_mv": [round(float(v), 4) for v in g.median_beat],
                "overlay_mv": [_decimate(data["windows"][p], OVERLAY_POINTS) for p in pick],
                "count": g.count,
                "share": round(g.share, 4),
                "medoid": int(data["indices"][g.medoid]),
                "class_mix": {k: round(v, 4) for k, v in g.class_mix.items() if k in classes},
            }
        )
    axis = {"start_s": -PRE_S, "fs": data["fs"], "samples": int(data["windows"].shape[1])}
    grouping, _created = TemplateGrouping.objects.get_or_create(
        recording=recording,
        defaults={
            "seed": TEMPLATE_SEED,
            "groups": rows,
            "axis": axis,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return grouping


def template_group_relabel(*, user, recording: Recording, group: int, label: str) -> int:
    """Give every beat of template group ``group`` the class ``label`` (one correction each)."""
    grouping = template_grouping_get_or_create(user=user, recording=recording)
    if not 0 <= group < len(grouping.groups):
        raise CorrectionRefused("No such group of beats.")
    return _correct(
        user=user,
        recording=recording,
        beat_indices=grouping.groups[group]["indices"],
        label=label,
        kind=ReviewAction.Kind.GROUP,
        group=group,
    )


# -- suggestions from the corrections ----------------------------------------------------------


def beats_suggest(*, user, recording: Recording) -> dict[str, int]:
    """Re-classify the beats not reviewed from the reviewed ones (``corrections.teach``) and
    store each suggestion that differs from the model's label in ``Beat.suggested_label``.
    Unreadable beats get none (their signal is noise). Once asked for, the suggestions are
    recomputed after every later correction (``beat_correct``). Returns counts for the message."""
    _check(user=user, recording=recording)
    return _suggestions_write(recording=recording, asked_by=user)


class _ReviewChanged(Exception):
    """Another review write landed while suggestions were computed (outside the lock: reading
    the lead takes a while): what was computed is from older corrections."""


def _review_stamp(recording: Recording) -> tuple[int | None, int | None]:
    """Changes with every review write: the latest action's and correction row's ids."""
    last_action = recording.review_actions.order_by("-id").values_list("id", flat=True).first()
    last_row = (
        BeatCorrection.objects.filter(recording=recording)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return last_action, last_row


def _suggestions_write(*, recording: Recording, asked_by=None) -> dict[str, int]:
    """Compute and store the suggestions; ``asked_by`` (the owner pressing the button) makes it
    an action that can be undone (a recomputation after a correction is part of that one).
    Computed outside the lock and written under it only if no review write came in between;
    else the button's computation runs again, and a recomputation after a correction stops
    (the write that came in between recomputes them itself, from the newer corrections)."""
    for _attempt in range(3):
        try:
            return _suggestions_write_once(recording=recording, asked_by=asked_by)
        except _ReviewChanged:
            if asked_by is None:
                return {}
    raise CorrectionRefused("The review kept changing while suggestions were computed; try again.")


def _af_spans(recording: Recording) -> list[tuple[float, float]]:
    """(start, end) seconds of the recording's AF episodes as its summary lists them now."""
    episodes = (recording.summary or {}).get("episodes") or []
    return [(float(e["start_s"]), float(e["end_s"])) for e in episodes if e.get("kind") == "AF"]


def _suggestions_write_once(*, recording: Recording, asked_by=None) -> dict[str, int]:
    stamp = _review_stamp(recording)
    # what the suggestions may answer: the model's classes, then the labels only a reviewer
    # gives that teach their look-alikes (P, paced; F, fusion, only if FUSION_TEACHES)
    classes = answer_labels(_classes(recording))
    fields = ("pk", "index", "label", "state", "reviewed_label", "suggested_label")
    beats = list(recording.beats.order_by("index").values_list(*fields))
    reviewed = [(i, r) for _pk, i, _l, _s, r, _was in beats if r in classes]
    if not reviewed:
        raise CorrectionRefused("Correct or confirm some beats first: suggestions learn from them.")
    from .selectors import _probabilities

    probs = _probabilities(recording).astype(np.float64)
    data = beat_windows(recording)
    fs = data["fs"]
    # every beat, in time order; the intervals across a beat marked as no beat are one
    marked = {i for _pk, i, _l, _s, r, _was in beats if r == NOT_A_BEAT}
    not_beats = np.array([int(i) in marked for i in data["all_indices"]], dtype=bool)
    rr = rr_without(data["samples"], fs, not_beats)[:, :3]
    morph = morphology_vectors(data["windows"], fs, data["r_index"])
    kept = data["kept"]  # positions (= beat indices in order) that have a window
    position = {int(b): p for p, b in enumerate(data["indices"])}
    confirmed = [(position[i], classes.index(r)) for i, r in reviewed if i in position]
    new = teach(
        morph,
        rr[kept],
        probs[kept],
        np.array([c[0] for c in confirmed], dtype=np.int64),
        np.array([c[1] for c in confirmed], dtype=np.int64),
        classes,
    )
    # As the analysis reads the model: no A inside AF (af_context.SUGGESTIONS_IN_AF says where).
    at = np.array([c[0] for c in confirmed], dtype=np.int64)
    spans = af_context.suggestion_spans(
        _af_spans(recording), data["samples"][at] / fs, [classes[c[1]] for c in confirmed]
    )
    new, _ = af_context.merge_atrial_in_af(new, data["samples"][kept] / fs, spans, classes)
    suggested = {int(data["indices"][p]): classes[int(k)] for p, k in enumerate(new.argmax(axis=1))}
    # Only the beats whose suggestion changes are written, one UPDATE per new value and chunk:
    # after a correction most suggestions stay, and a bulk_update of every beat (one CASE per
    # row) took most of a recomputation's time on 30 minutes.
    updates: dict[str, list[int]] = {}
    before: dict[str, str] = {}  # what undoing a re-classification puts back
    changed = 0
    for pk, index, label, state, reviewed_label, was in beats:
        value = suggested.get(index, "")
        if reviewed_label or state == beat_states.UNREADABLE or value == label:
            value = ""
        changed += bool(value)
        if was:
            before[str(index)] = was
        if value != was:
            updates.setdefault(value, []).append(pk)
    counts = {"suggested": changed, "learned_from": len(confirmed)}
    with transaction.atomic():
        _lock(recording)  # (refreshes recording.review: a write just done may have changed it)
        if _review_stamp(recording) != stamp:
            raise _ReviewChanged()
        # Marks that suggestions were asked for (so later corrections recompute them), and
        # from how many reviewed beats the ones shown were learned.
        review = dict(recording.review or {})
        marker_before = review.get("suggestions")
        now = timezone.now().isoformat(timespec="seconds")
        review["suggestions"] = {**counts, "updated_at": now}
        if asked_by is not None:
            ReviewAction.objects.create(
                recording=recording,
                kind=ReviewAction.Kind.SUGGEST,
                beat_count=changed,
                detail={"suggested": before, "marker": marker_before},
                created_by=asked_by,
            )
        for value, pks in updates.items():
            for chunk in _chunks(pks):
                Beat.objects.filter(pk__in=chunk).update(suggested_label=value)
        recording.review = review
        Recording.objects.filter(pk=recording.pk).update(review=review)
    return counts


# -- undo ---------------------------------------------------------------------------------------


def _stale(expected: int | None, action: ReviewAction | None) -> bool:
    """The page (or API client) named ``expected`` as what it undoes or redoes, and it is not
    that any more: another request undid or redid it, or added an action, since it was read."""
    return expected is not None and (action is None or action.pk != int(expected))


def review_action_undo(*, user, recording: Recording, expected: int | None = None) -> ReviewAction:
    """Undo the recording's latest review action not undone yet (``review_action_undoable``):
    every beat of a correction or group relabel gets back the reviewed label and reviewer it had
    before (none: the model's answer shows again), through correction rows of a new "undo"
    action (who, when, what was undone); the summary is recounted and the suggestions, if asked
    for, recomputed, as after a correction. Undoing a re-classification puts back the
    suggestions shown before it. Called again, it undoes the action before. Returns the action
    undone; ``NothingToUndo`` (409) when none is left, or when ``expected`` (the id of the
    action the Undo button named) is no longer what Undo undoes: two presses of one button
    undo one action, not two."""
    _check(user=user, recording=recording)
    try:
        with transaction.atomic():
            _lock(recording)  # decided and written with no other review write in between
            action = review_action_undoable(recording=recording)
            if _stale(expected, action):
                raise NothingToUndo(STALE_UNDO)
            if action is None:
                raise NothingToUndo()
            undo = ReviewAction.objects.create(
                recording=recording,
                kind=ReviewAction.Kind.UNDO,
                undoes=action,  # one-to-one: a second undo of the same action fails here
                group=action.group,
                beat_count=action.beat_count,
                first_beat=action.first_beat,
                created_by=user,
            )
            suggest = review_action_origin(action).kind == ReviewAction.Kind.SUGGEST
            if suggest:
                # What the undo takes away is kept on it, for a redo to put back.
                undo.detail = _suggestions_now(recording=recording)
                undo.save(update_fields=["detail"])
                _suggestions_restore(recording=recording, detail=action.detail)
            else:
                restore = {
                    beat: (label, by)
                    for beat, label, by in action.corrections.values_list(
                        "beat_id", "previous_reviewed_label", "previous_reviewed_by_id"
                    )
                }
                rows = _beat_rows(recording, pks=restore)
                _corrections_write(recording=recording, action=undo, rows=rows, labels=restore)
                review_refresh_summary(recording=recording)
    except IntegrityError:  # the same action undone by a request running alongside
        raise NothingToUndo("This action has just been undone.") from None
    if not suggest and (recording.review or {}).get("suggestions"):
        _suggestions_refresh(recording=recording)
    return action


def review_action_redo(*, user, recording: Recording, expected: int | None = None) -> ReviewAction:
    """Redo, as editors do it: re-apply the action the latest undo not redone yet undid
    (``review_action_redoable``), exactly -- each beat gets again the reviewed label and
    reviewer that action gave it, a re-classification's suggestions come back as they were
    shown -- through a new "redo" action of ``user`` (who, when) with correction rows of its
    own. The summary is recounted and suggestions, if asked for, recomputed, as after the
    correction. A redo can be undone, and that undo redone; a new correction, group relabel or
    re-classification clears what can be redone. Returns the action re-applied;
    ``NothingToRedo`` (409) when none is left, or when ``expected`` (the id of the action the
    Redo button named) is no longer what Redo re-applies."""
    _check(user=user, recording=recording)
    try:
        with transaction.atomic():
            _lock(recording)
            undo = review_action_redoable(recording=recording)
            origin = review_action_origin(undo.undoes) if undo is not None else None
            if _stale(expected, origin):
                raise NothingToRedo(STALE_REDO)
            if undo is None or origin is None:
                raise NothingToRedo()
            redo = ReviewAction.objects.create(
                recording=recording,
                kind=ReviewAction.Kind.REDO,
                redoes=undo,  # one-to-one: a second redo of the same undo fails here
                label=origin.label,
                group=origin.group,
                beat_count=origin.beat_count,
                first_beat=origin.first_beat,
                created_by=user,
            )
            suggest = origin.kind == ReviewAction.Kind.SUGGEST
            if suggest:
                redo.detail = _suggestions_now(recording=recording)  # what undoing it restores
                redo.save(update_fields=["detail"])
                if "suggested" in undo.detail:
                    _suggestions_restore(recording=recording, detail=undo.detail)
                else:  # undone before undos kept what they took away: computed again
                    _suggestions_write(recording=recording)
            else:
                labels = _labels_written(origin)
                rows = _beat_rows(recording, pks=labels)
                _corrections_write(recording=recording, action=redo, rows=rows, labels=labels)
                review_refresh_summary(recording=recording)
    except IntegrityError:  # the same undo redone by a request running alongside
        raise NothingToRedo("This action has just been redone.") from None
    if not suggest and (recording.review or {}).get("suggestions"):
        _suggestions_refresh(recording=recording)
    return origin


def _suggestions_now(*, recording: Recording) -> dict[str, Any]:
    """The suggestions shown now ({beat index: label}) and the "asked for" marker, in the form
    ``_suggestions_restore`` puts back."""
    shown = recording.beats.exclude(suggested_label="").values_list("index", "suggested_label")
    return {
        "suggested": {str(i): label for i, label in shown},
        "marker": (recording.review or {}).get("suggestions"),
    }


def _suggestions_restore(*, recording: Recording, detail: dict[str, Any]) -> None:
    """The suggestions (and the "asked for" marker) as they were before a re-classification."""
    recording.beats.exclude(suggested_label="").update(suggested_label="")
    by_label: dict[str, list[int]] = {}
    for index, label in (detail.get("suggested") or {}).items():
        by_label.setdefault(label, []).append(int(index))
    for label, indices in by_label.items():
        for chunk in _chunks(sorted(indices)):
            recording.beats.filter(index__in=chunk).update(suggested_label=label)
    review = dict(recording.review or {})
    if detail.get("marker"):
        review["suggestions"] = detail["marker"]
    else:
        review.pop("suggestions", None)
    recording.review = review
    Recording.objects.filter(pk=recording.pk).update(review=review)


def _labels_written(origin: ReviewAction) -> dict[int, tuple[str, int | None]]:
    """What ``origin`` (a correction, group relabel or revert) wrote on each of its beats:
    the class and reviewer, by beat pk, for a redo to write again."""
    if origin.kind == ReviewAction.Kind.REVERT and origin.reverts_id is not None:
        # A revert put back the reviewed label and reviewer each beat had before the action
        # it reverted (its own rows keep the class, not that reviewer).
        beats = set(origin.corrections.values_list("beat_id", flat=True))
        rows = origin.reverts.corrections.values_list(
            "beat_id", "previous_reviewed_label", "previous_reviewed_by_id"
        )
        return {b: (label, by if label else None) for b, label, by in rows if b in beats}
    by = origin.created_by_id  # a correction or relabel: its class and its reviewer
    return {
        beat: (label, by if label else None)
        for beat, label in origin.corrections.values_list("beat_id", "label")
    }


# -- undo of one older action ("Undo this action") ---------------------------------------------


def review_action_revert(*, user, recording: Recording, action_id: int) -> dict[str, Any]:
    """Undo the review action ``action_id`` of ``recording`` alone, however old: each of its
    beats gets back the reviewed label and reviewer it had before the action, unless a later
    action still in effect changed that beat again (it keeps the later label). Stored as a
    "revert" action (who, when, which action) with one correction row per beat put back, in
    one transaction; the summary is recounted and the suggestions, if asked for, recomputed.
    The latest action (what Undo undoes) is undone by Undo itself, so undoing it alone is
    exactly Undo (and can be redone). A revert is an action like a correction: Undo undoes
    it, "Undo this action" too, and it clears what can be redone.

    Returns ``{"undone": the action, "by": the undo or revert written, "beats": beats put
    back, "kept": beats kept with their later label, "total": the action's beats}``. An action
    that is not the recording's, or not the owner's recording: 404. Already undone, an undo,
    an older re-classification, or every beat changed again later: ``ActionNotUndoable``
    (409), nothing written."""
    _check(user=user, recording=recording)
    try:
        target = recording.review_actions.select_related("created_by").get(pk=int(action_id))
    except (ReviewAction.DoesNotExist, TypeError, ValueError):
        raise Http404("No such review action.") from None
    with transaction.atomic():
        # Checked under the lock, so that of two requests undoing the same action alone the
        # second sees it undone and is refused (a revert has no unique link to refuse it).
        _lock(recording)
        latest = review_action_undoable(recording=recording)
        states = review_action_states(recording=recording)
        refusal = review_action_refusal(action=target, states=states, latest=latest)
        if refusal:
            raise ActionNotUndoable(refusal)
        is_latest = latest is not None and latest.pk == target.pk
        if not is_latest:
            revert, restore, kept, total = _revert_write(
                user=user, recording=recording, target=target
            )
    if is_latest:  # exactly Undo (which Redo can redo); refused if undone meanwhile
        try:
            review_action_undo(user=user, recording=recording, expected=target.pk)
        except NothingToUndo as exc:  # undone, or no longer the latest, since the lock
            raise ActionNotUndoable(exc.message) from None
        undo = ReviewAction.objects.get(undoes=target)
        total = target.beat_count
        return {"undone": target, "by": undo, "beats": total, "kept": 0, "total": total}
    if (recording.review or {}).get("suggestions"):
        _suggestions_refresh(recording=recording)
    return {"undone": target, "by": revert, "beats": len(restore), "kept": kept, "total": total}


def _revert_write(
    *, user, recording: Recording, target: ReviewAction
) -> tuple[ReviewAction, dict, int, int]:
    """The revert of ``target`` (in the caller's transaction, under the lock): the revert
    action, what it put back by beat, how many beats kept their later label, and of how many."""
    rows = list(
        target.corrections.values_list(
            "id", "beat_id", "previous_reviewed_label", "previous_reviewed_by_id"
        )
    )
    owners = _beat_owners(recording=recording, action=target, rows=rows)
    restore = {
        beat: (label, by if label else None)
        for row, beat, label, by in rows
        if owners.get(beat) == row
    }
    kept = len(rows) - len(restore)
    if not restore:
        raise ActionNotUndoable(
            f"All {len(rows):,} beats of this action were changed again later; undoing it "
            "would change nothing."
        )
    beat_rows = _beat_rows(recording, pks=restore)
    first = min(
        recording.beats.filter(pk__in=chunk).aggregate(first=Min("index"))["first"]
        for chunk in _chunks(sorted(restore))
    )
    revert = ReviewAction.objects.create(
        recording=recording,
        kind=ReviewAction.Kind.REVERT,
        reverts=target,
        group=review_action_origin(target).group,
        beat_count=len(restore),
        first_beat=first,
        detail={"kept": kept, "of": len(rows)},
        created_by=user,
    )
    _corrections_write(recording=recording, action=revert, rows=beat_rows, labels=restore)
    review_refresh_summary(recording=recording)
    return revert, restore, kept, len(rows)


_BEFORE = 0  # a beat's owner before the reverted action (row ids start at 1)


def _beat_owners(
    *, recording: Recording, action: ReviewAction, rows: list[tuple]
) -> dict[int, int]:
    """For each beat of ``rows`` (``action``'s correction rows: row id and beat pk first), the
    correction row whose label the beat shows now, following the rows from the action's on:
    a correction, relabel or redo row sets the label; an undo or revert row puts back what
    the beat showed before the row it reverses, so the owner goes back to the one before that
    row. A beat owned by the action's own row was changed by no later action still in effect."""
    if not rows:
        return {}
    kinds = {
        pk: (kind, undoes or reverts)
        for pk, kind, undoes, reverts in recording.review_actions.values_list(
            "id", "kind", "undoes_id", "reverts_id"
        )
    }
    since = min(r[0] for r in rows)
    history: dict[int, list[tuple[int | None, int]]] = {}  # beat -> [(action, owner row)]
    for chunk in _chunks(sorted({r[1] for r in rows})):
        later = (
            BeatCorrection.objects.filter(recording=recording, beat_id__in=chunk, id__gte=since)
            .order_by("id")
            .values_list("id", "beat_id", "action_id")
        )
        for row, beat, by_action in later:
            steps = history.setdefault(beat, [])
            kind, reversed_action = kinds.get(by_action, ("", None))
            owner = row  # the action's own row sets the label, even if it is an undo alone
            if by_action != action.pk and kind in (
                ReviewAction.Kind.UNDO,
                ReviewAction.Kind.REVERT,
            ):
                owner = -1  # (the reversed row not found: not the action's, kept)
                for j in range(len(steps) - 1, -1, -1):
                    if steps[j][0] == reversed_action:
                        owner = steps[j - 1][1] if j else _BEFORE
                        break
            steps.append((by_action, owner))
    return {beat: steps[-1][1] for beat, steps in history.items()}
