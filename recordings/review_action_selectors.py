"""Reads of the clinician's review actions: what Undo undoes and Redo re-applies, each action in
words, the action history with what each action is now, and why "Undo this action" may refuse
one. The services (``review_services``) decide and write with these same reads under the
recording's lock."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from .models import BeatCorrection, Recording, ReviewAction


def review_action_undoable(*, recording: Recording) -> ReviewAction | None:
    """What "Undo" undoes: the latest correction, group relabel or re-classification not undone
    yet. Every later one has been undone, so putting back what it changed restores exactly what
    was shown before it. Corrections stored before actions existed (no action) are not here."""
    return (
        recording.review_actions.exclude(kind=ReviewAction.Kind.UNDO)  # a redo can be undone
        .filter(undone_by__isnull=True)
        .select_related("created_by")
        .order_by("-id")
        .first()
    )


def review_action_redoable(*, recording: Recording) -> ReviewAction | None:
    """What "Redo" re-applies, as editors do it: the latest undo not redone yet, as long as no
    new correction, group relabel or re-classification came after it (a new action clears the
    redo stack). Returns the undo; ``review_action_origin(undo.undoes)`` is what it re-applies.
    Redos on top of the stack are skipped (each popped one undo), as are undos already redone."""
    rows = recording.review_actions.order_by("-id").values_list("id", "kind", "redone_by__id")
    for pk, kind, redone_by in rows.iterator(chunk_size=50):
        if kind == ReviewAction.Kind.REDO:
            continue
        if kind != ReviewAction.Kind.UNDO:
            return None  # a new action since the undos: nothing to redo
        if redone_by is None:
            return ReviewAction.objects.select_related("undoes", "created_by").get(pk=pk)
    return None


def review_action_to_redo(*, recording: Recording) -> ReviewAction | None:
    """What "Redo" re-applies, as the Redo button and the API name it: the correction, group
    relabel, re-classification or undo of an older action that the latest undo not redone yet
    took away (``review_action_origin`` of it); None when there is nothing to redo."""
    undo = review_action_redoable(recording=recording)
    return review_action_origin(undo.undoes) if undo else None


def review_action_origin(action: ReviewAction) -> ReviewAction:
    """The correction, group relabel or re-classification a redo (of a redo...) re-applied;
    ``action`` itself when it is one of these."""
    while action.kind == ReviewAction.Kind.REDO and action.redoes_id is not None:
        action = action.redoes.undoes
    return action


def review_action_describe(action: ReviewAction) -> str:
    """The action in a few words, for the Undo button and messages: "1,000 beats of group 3 →
    V", "beat 12 → A", "re-classification from your corrections (40 suggested)"."""
    action = review_action_origin(action)  # a redo reads as what it re-applied
    if action.kind == ReviewAction.Kind.REVERT and action.reverts is not None:
        return f"undo of “{review_action_describe(action.reverts)}” alone"
    beats = f"{action.beat_count:,} beat{'s' if action.beat_count != 1 else ''}"
    if action.kind == ReviewAction.Kind.SUGGEST:
        return f"re-classification from your corrections ({action.beat_count:,} suggested)"
    if action.kind == ReviewAction.Kind.GROUP and action.group is not None:
        return f"{beats} of group {action.group + 1} → {action.label}"
    if action.beat_count == 1 and action.first_beat is not None:
        return f"beat {action.first_beat} → {action.label}"
    return f"{beats} → {action.label}"


# -- the action history and "Undo this action" -------------------------------------------------

# What an action of the history is now (``review_action_states``).
IN_EFFECT = "in_effect"  # what it did shows (on the beats no later action changed again)
UNDONE = "undone"  # undone by Undo (and not redone: a redo is an action of its own)
UNDONE_ALONE = "undone_alone"  # undone by "Undo this action" (a revert in effect)
STEP = "step"  # an undo: taken back with Redo, not with "Undo this action"
UNDOABLE_KINDS = (
    ReviewAction.Kind.CORRECT,
    ReviewAction.Kind.GROUP,
    ReviewAction.Kind.SUGGEST,
    ReviewAction.Kind.REDO,
    ReviewAction.Kind.REVERT,
)


def review_action_states(*, recording: Recording) -> dict[int, str]:
    """Every review action of ``recording`` by id, with what it is now: ``IN_EFFECT``,
    ``UNDONE`` (by Undo), ``UNDONE_ALONE`` (by "Undo this action": a revert, or a redo of one,
    still in effect) or ``STEP`` (an undo). One query; newest first, since only a later action
    undoes an earlier one."""
    rows = list(
        recording.review_actions.order_by("-id").values_list(
            "id", "kind", "undoes_id", "redoes_id", "reverts_id"
        )
    )
    by_id = {row[0]: row for row in rows}
    undone = {undoes for _pk, kind, undoes, _r, _t in rows if kind == ReviewAction.Kind.UNDO}
    reverted: set[int] = set()
    states: dict[int, str] = {}
    for pk, kind, _undoes, redoes, reverts in rows:
        if kind == ReviewAction.Kind.UNDO:
            states[pk] = STEP
            continue
        states[pk] = UNDONE if pk in undone else UNDONE_ALONE if pk in reverted else IN_EFFECT
        if states[pk] != IN_EFFECT:
            continue
        while kind == ReviewAction.Kind.REDO and redoes in by_id:  # what a redo re-applied
            _pk, kind, _u, redoes, reverts = by_id[by_id[redoes][2]]
        if kind == ReviewAction.Kind.REVERT and reverts is not None:
            reverted.add(reverts)
    return states


def review_action_refusal(
    *, action: ReviewAction, states: dict[int, str], latest: ReviewAction | None
) -> str:
    """Why "Undo this action" cannot undo ``action`` ("" when it can). ``latest`` is what Undo
    undoes: undoing it alone is the same as Undo, so a re-classification can be undone alone
    only then (its suggestions are recomputed after every later correction: what it showed is
    gone once another action came after it)."""
    if action.kind == ReviewAction.Kind.UNDO:
        return "An undo is taken back with Redo."
    if states.get(action.pk) in (UNDONE, UNDONE_ALONE):
        return "This action has already been undone."
    is_latest = latest is not None and latest.pk == action.pk
    if review_action_origin(action).kind == ReviewAction.Kind.SUGGEST and not is_latest:
        return (
            "A re-classification can be undone only while it is the latest action: its "
            "suggestions were recomputed after every later correction."
        )
    return ""


def _changes(action_ids: list[int]) -> dict[int, tuple[list[str], bool]]:
    """Per action, the labels its beats showed before it, most common first, and whether it
    gave every beat the class it already showed (a confirmation)."""
    rows = (
        BeatCorrection.objects.filter(action_id__in=action_ids)
        .values_list("action_id", "previous_label", "label")
        .annotate(n=Count("id"))
        .order_by("action_id", "-n")
    )
    out: dict[int, tuple[list[str], bool]] = {}
    for action_id, previous, label, _n in rows:
        before, confirmed = out.get(action_id, ([], True))
        if previous not in before:
            before.append(previous)
        out[action_id] = (before, confirmed and previous == label)
    return out


def _history_text(action: ReviewAction, before: list[str], confirmed: bool) -> str:
    """ "relabelled group 3 (412 beats) N → V", "confirmed 20 beats", "undo of ..."."""
    n = action.beat_count
    beats = f"{n:,} beat{'s' if n != 1 else ''}"
    was = ", ".join(before[:2]) + (", …" if len(before) > 2 else "")
    if action.kind == ReviewAction.Kind.GROUP and action.group is not None:
        if confirmed:
            return f"confirmed group {action.group + 1} ({beats}) as {action.label}"
        return f"relabelled group {action.group + 1} ({beats}) {was} → {action.label}"
    if action.kind == ReviewAction.Kind.CORRECT:
        what = f"beat {action.first_beat}" if n == 1 else beats
        if confirmed:
            return f"confirmed {what} as {action.label}"
        return f"corrected {what} {was} → {action.label}"
    if action.kind == ReviewAction.Kind.UNDO:
        return f"Undo: {review_action_describe(action.undoes)}"
    if action.kind == ReviewAction.Kind.REDO:
        return f"Redo: {review_action_describe(action)}"
    if action.kind == ReviewAction.Kind.REVERT:
        kept = int(action.detail.get("kept", 0))
        text = f"{review_action_describe(action)}: {beats} put back"
        return text + (f", {kept:,} kept their later label" if kept else "")
    return review_action_describe(action)


def review_action_history(*, recording: Recording, limit: int = 50) -> list[dict[str, Any]]:
    """The ``limit`` latest review actions, newest first: the action, who, when, what in words,
    its state (``review_action_states``) and, for the owner's page and the API, whether "Undo
    this action" may undo it (``refusal``: why not, "" when it may)."""
    states = review_action_states(recording=recording)
    latest = review_action_undoable(recording=recording)
    actions = list(
        recording.review_actions.select_related(
            "created_by", "undoes", "reverts", "redoes__undoes"
        ).order_by("-id")[:limit]
    )
    changes = _changes([a.pk for a in actions])
    history = []
    for action in actions:
        before, confirmed = changes.get(action.pk, ([], False))
        history.append(
            {
                "action": action,
                "id": action.pk,
                "kind": action.kind,
                "created_by": action.created_by.get_username() if action.created_by else "",
                "created_at": action.created_at,
                "description": _history_text(action, before, confirmed),
                "beat_count": action.beat_count,
                "state": states.get(action.pk, IN_EFFECT),
                "refusal": review_action_refusal(action=action, states=states, latest=latest),
            }
        )
    return history


def review_revert_message(result: dict[str, Any]) -> str:
    """What the page and the API say after "Undo this action" (``review_action_revert``):
    "Undone: ... 38 of 412 beats were changed again later and kept their later label." """
    text = f"Undone: {review_action_describe(result['undone'])}."
    if result["kept"]:
        total = result["total"]
        text += (
            f" {result['kept']:,} of {total:,} beat{'s' if total != 1 else ''} "
            f"{'were' if result['kept'] != 1 else 'was'} changed again later and kept "
            "their later label."
        )
    return text
