"""Thin views: parse the request, call a service or selector, render. Login required everywhere;
another user's recording is a 404.

Long on purpose: the recording pages' views are many but each is short (list, detail, strip,
templates, review actions, exports); split apart they would import each other's small helpers."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecg.classes import REVIEW_ONLY, class_display_name, review_labels
from ecg.features.episodes import EPISODE_LABELS
from ecg.io.recording_io import describe_limits
from ecgsite.model_registry import RecordingModelMissing
from ecgsite.private_files import private_file_response, private_headers
from ecgsite.ratelimit import rate_limited

from . import (
    episode_selectors,
    episode_services,
    review_action_selectors,
    review_selectors,
    review_services,
    selectors,
    services,
)
from .errors import (
    ActionNotUndoable,
    CorrectionRefused,
    EpisodeNotFound,
    EpisodeVerdictRefused,
    NothingToRedo,
    NothingToUndo,
)
from .forms import RecordingSearchForm, RecordingUploadForm
from .models import CLASS_COLOURS, EpisodeVerdict, Recording

ACTIONS_SHOWN = 50  # the templates page's action history (the API lists more)
ACTIONS_UNDER_STRIP = 10  # the recording page's compact panel (link to the templates page's)
PRIVATE = private_headers(cache_seconds=0)  # a recording's data: never kept in any cache


class _BadParameter(ValueError):
    """A query parameter that is given but is not a finite number (400, not a 500 later)."""


def _float(value, default: float, *, name: str = "value") -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # "nan" and "inf" parse, then break every int() after them
        raise _BadParameter(f"{name} must be a finite number of seconds, not {value[:20]!r}.")
    return number


@login_required
@require_GET
def recording_list_view(request):
    form = RecordingSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(selectors.recording_list(user=request.user, filters=filters), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "recordings/list.html", {"form": form, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def recording_upload_view(request):
    form = RecordingUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            recording = services.recording_create(owner=request.user, **form.service_arguments())
        except ValidationError as exc:
            form.add_error("files", exc.messages[0])
        except RecordingModelMissing as exc:
            form.add_error(None, f"{exc} Recordings cannot be analysed until one is installed.")
        else:
            return redirect(recording)
    limits = describe_limits(services.upload_limits())
    status = 400 if request.method == "POST" else 200
    return render(
        request, "recordings/upload.html", {"form": form, "limits": limits}, status=status
    )


def _label_group(code: str) -> str:
    """The heading a label is listed under in the review's class menus."""
    if code in {c.code for c in REVIEW_ONLY}:
        return "Review labels (the model never gives them)"
    return "The model's classes"


@login_required
@require_GET
def recording_detail_view(request, pk: int):
    recording = selectors.recording_get(user=request.user, pk=pk)
    events = selectors.episode_overview(recording=recording)
    context = {
        "recording": recording,
        "status": selectors.recording_status(recording=recording),
        "class_rows": selectors.class_rows(recording=recording),
        "legend": [
            {
                "code": c,
                "name": class_display_name(c),
                "colour": CLASS_COLOURS[c],
                "group": _label_group(c),
            }
            for c in CLASS_COLOURS
        ],  # fmt: skip
        "agreement_rows": _agreement_rows(recording.agreement),
        "quality": selectors.quality_overview(recording=recording),
        "events": events,
        "event_review": _event_review(request, recording),
        "undo": _undo_button(request, recording),
        "redo": _redo_button(request, recording),
        "history": _history_panel(request, recording),
    }
    return render(request, "recordings/detail.html", context)


def _agreement_rows(agreement: dict | None) -> list[dict]:
    if not agreement:
        return []
    return [
        {"code": code, "cells": row, "stats": stats}
        for code, row, stats in zip(
            agreement["classes"], agreement["matrix"], agreement["per_class"], strict=True
        )
    ]


@login_required
@require_GET
def recording_status_view(request, pk: int):
    recording = selectors.recording_get(user=request.user, pk=pk)
    if services.recordings_reclaim_abandoned(recording_id=recording.pk):  # its worker died
        recording.refresh_from_db()
    return JsonResponse(selectors.recording_status(recording=recording), headers=PRIVATE)


def _done(request, pk: int) -> Recording:
    recording = selectors.recording_get(user=request.user, pk=pk)
    if recording.status != Recording.Status.DONE:
        raise Http404("This recording has not been analysed.")
    return recording


@login_required
@require_GET
def recording_strip_view(request, pk: int):
    recording = _done(request, pk)
    try:
        start_s = _float(request.GET.get("start"), 0.0, name="start")
        seconds = _float(request.GET.get("seconds"), 10.0, name="seconds")
    except _BadParameter as exc:
        return JsonResponse({"error": str(exc)}, status=400, headers=PRIVATE)
    data = selectors.recording_strip(
        recording=recording,
        start_s=start_s,
        seconds=seconds,
        all_leads=request.GET.get("leads") == "all",  # else the analysed and second lead
    )
    return JsonResponse(data, headers=PRIVATE)


@login_required
@require_GET
def recording_find_view(request, pk: int):
    """Where the next / previous beat of a class is, to page the strip to it."""
    recording = _done(request, pk)
    try:
        after_s = _float(request.GET.get("after"), -1.0, name="after")
    except _BadParameter as exc:
        return JsonResponse({"error": str(exc)}, status=400, headers=PRIVATE)
    beat = selectors.recording_next_beat(
        recording=recording,
        after_s=after_s,
        label=request.GET.get("label", ""),
        backwards=request.GET.get("direction") == "back",
    )
    return JsonResponse({"time_s": beat.time_s if beat else None}, headers=PRIVATE)


@login_required
@require_GET
def recording_beat_view(request, pk: int, index: int):
    recording = _done(request, pk)
    return JsonResponse(selectors.recording_beat(recording=recording, index=index), headers=PRIVATE)


@login_required
@require_GET
def recording_beat_png_view(request, pk: int, index: int):
    recording = _done(request, pk)
    png = selectors.recording_beat_png(recording=recording, index=index)
    return HttpResponse(png, content_type="image/png", headers=PRIVATE)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
@rate_limited("export")
def recording_csv_view(request, pk: int):
    recording = _done(request, pk)
    rows = selectors.recording_csv_rows(recording=recording)
    response = StreamingHttpResponse(
        (selectors.csv_line(row) for row in rows), content_type="text/csv", headers=PRIVATE
    )
    response["Content-Disposition"] = f'attachment; filename="recording-{recording.pk}-beats.csv"'
    return response


@login_required
@require_GET
@rate_limited("export")
def recording_episodes_csv_view(request, pk: int):
    """The rhythm episodes as reviewed, rejected ones listed with their state."""
    recording = _done(request, pk)
    rows = list(episode_selectors.episode_csv_rows(recording=recording))  # 404 before streaming
    response = HttpResponse(
        "".join(selectors.csv_line(row) for row in rows), content_type="text/csv", headers=PRIVATE
    )
    response["Content-Disposition"] = (
        f'attachment; filename="recording-{recording.pk}-episodes.csv"'
    )
    return response


@login_required
@require_GET
@rate_limited("export")
def recording_zip_view(request, pk: int, label: str):
    recording = _done(request, pk)
    code = {v: k for k, v in selectors.FOLDER_ALIASES.items()}.get(label, label)
    part = request.GET.get("part", "1")
    if not part.isdigit():
        raise Http404("No such part.")
    archive, count = selectors.recording_class_zip(
        recording=recording, label=code, max_beats=settings.RECORDING_ZIP_MAX_BEATS, part=int(part)
    )
    suffix = f"-part{part}" if part != "1" else ""  # part 1 keeps the name it always had
    # Streamed from its temporary file, which the response closes (and so deletes) when sent.
    response = private_file_response(
        archive,
        content_type="application/zip",
        filename=f"recording-{recording.pk}-{selectors.folder_name(code)}{suffix}.zip",
        cache_seconds=0,
    )
    response["X-Beat-Count"] = str(count)
    return response


@login_required
@require_POST
def recording_retry_view(request, pk: int):
    recording = selectors.recording_get_for_change(user=request.user, pk=pk, permission="change")
    try:
        services.recording_retry(recording=recording, lead=request.POST.get("lead", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect(recording)


@login_required
@require_http_methods(["GET", "POST"])
def recording_delete_view(request, pk: int):
    recording = selectors.recording_get_for_change(user=request.user, pk=pk, permission="delete")
    if request.method == "POST":
        services.recording_delete(recording=recording)
        messages.success(request, f"Recording {recording.name} deleted.")
        return redirect("recordings:list")
    return render(request, "recordings/delete.html", {"recording": recording})


# -- the clinician's review (issue 20) ------------------------------------------------------


@login_required
@require_GET
def recording_templates_view(request, pk: int):
    """One card per morphology group, each with a form to relabel the whole group."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    grouping = review_services.template_grouping_get_or_create(
        user=request.user, recording=recording
    )
    context = {
        "recording": recording,
        "grouping": grouping,
        "cards": review_selectors.template_cards(recording=recording, grouping=grouping),
        "confirm_first": review_selectors.beats_to_confirm_first(
            recording=recording, grouping=grouping
        ),
        "confirm_reasons": review_selectors.confirm_first_reasons(),
        "classes": [
            {"code": c, "name": class_display_name(c), "group": _label_group(c)}
            for c in review_labels(recording.model_metadata.get("classes", []))
        ],
        "review": review_selectors.review_overview(recording=recording),
        "corrections": review_selectors.beat_corrections(recording=recording, limit=20),
        "history": review_action_selectors.review_action_history(
            recording=recording, limit=ACTIONS_SHOWN
        ),
        "svg": {"w": review_selectors.SVG_W, "h": review_selectors.SVG_H},
        "undo": _undo_button(request, recording),
        "redo": _redo_button(request, recording),
    }
    response = render(request, "recordings/templates.html", context)
    for name, value in PRIVATE.items():
        response[name] = value
    return response


@login_required
@require_POST
def recording_template_relabel_view(request, pk: int, group: int):
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    label = request.POST.get("label", "")
    try:
        count = review_services.template_group_relabel(
            user=request.user, recording=recording, group=group, label=label
        )
    except CorrectionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{count} beat{'s' if count != 1 else ''} of group {group + 1} reviewed as "
            f"{class_display_name(label)}."
        )  # fmt: skip
    return redirect("recordings:templates", pk=recording.pk)


@login_required
@require_POST
def recording_correct_view(request, pk: int):
    """The strip's form: one beat (or a comma-separated list) gets the owner's class."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    label = request.POST.get("label", "")
    raw = [part for part in request.POST.get("beats", "").split(",") if part.strip()]
    try:
        count = review_services.beat_correct(
            user=request.user, recording=recording, beat_indices=raw, label=label
        )
    except CorrectionRefused as exc:
        messages.error(request, exc.message)
        return redirect(recording)
    messages.success(request, f"Saved: {count} beat{'s' if count != 1 else ''} reviewed as "
                     f"{class_display_name(label)}.")  # fmt: skip
    first = recording.beats.filter(index=int(raw[0])).values_list("time_s", flat=True).first()
    return redirect(f"{recording.get_absolute_url()}?start={int(first or 0)}#strip")


@login_required
@require_POST
def recording_suggest_view(request, pk: int):
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    try:
        result = review_services.beats_suggest(user=request.user, recording=recording)
    except CorrectionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{result['suggested']} beats have a label suggested from your corrections "
            f"(learned from {result['learned_from']} reviewed beats); they are not reviewed.",
        )
    return redirect("recordings:templates", pk=recording.pk)


@login_required
@require_POST
def recording_undo_view(request, pk: int):
    """Undo the latest review action; back to the page the button was on (strip or templates)."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    try:
        action = review_services.review_action_undo(
            user=request.user, recording=recording, expected=_expected(request)
        )
    except NothingToUndo as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Undone: {review_action_selectors.review_action_describe(action)}. "
            "Every beat shows what it showed before.",
        )
    if request.POST.get("back") == "strip":
        return redirect(f"{recording.get_absolute_url()}#strip")
    return redirect("recordings:templates", pk=recording.pk)


@login_required
@require_POST
def recording_redo_view(request, pk: int):
    """Redo the latest undone review action; back to the page the button was on."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    try:
        action = review_services.review_action_redo(
            user=request.user, recording=recording, expected=_expected(request)
        )
    except NothingToRedo as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Redone: {review_action_selectors.review_action_describe(action)}."
        )
    if request.POST.get("back") == "strip":
        return redirect(f"{recording.get_absolute_url()}#strip")
    return redirect("recordings:templates", pk=recording.pk)


@login_required
@require_POST
def recording_action_undo_view(request, pk: int, action_id: int):
    """ "Undo this action" in an action history (templates page, or under the strip): one older
    action alone; back to the page the button was on."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    try:
        result = review_services.review_action_revert(
            user=request.user, recording=recording, action_id=action_id
        )
    except ActionNotUndoable as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, review_action_selectors.review_revert_message(result))
    if request.POST.get("back") == "strip":
        return redirect(f"{recording.get_absolute_url()}#review-actions")
    return redirect(f"{reverse('recordings:templates', args=[recording.pk])}#review-history")


def _owner_reviews(request, recording: Recording) -> bool:
    """Whether the page shows review controls: the recording is the user's and analysed (staff
    may see every recording, but review only their own)."""
    return recording.owner_id == request.user.pk and recording.status == Recording.Status.DONE


def _history_panel(request, recording: Recording) -> list[dict]:
    """The latest review actions under the strip, for the owner only (the same rows as the
    templates page's history); [] for anyone else or before the analysis is done."""
    if not _owner_reviews(request, recording):
        return []
    return review_action_selectors.review_action_history(
        recording=recording, limit=ACTIONS_UNDER_STRIP
    )


def _expected(request) -> int | None:
    """The action the Undo or Redo button named (its form sends the id): a second press of the
    same button, or a page left open while the review moved on, is refused, not applied to the
    action before."""
    try:
        return int(request.POST["action"])
    except (KeyError, ValueError):
        return None


def _redo_button(request, recording: Recording) -> dict | str:
    """The Redo button for the owner: its text and the id of the action it re-applies (sent
    back by the form); "" when there is nothing to redo, or the recording is not theirs."""
    if not _owner_reviews(request, recording):
        return ""
    action = review_action_selectors.review_action_to_redo(recording=recording)
    return (
        {"text": review_action_selectors.review_action_describe(action), "id": action.pk}
        if action
        else ""
    )


def _undo_button(request, recording: Recording) -> dict | str:
    """The Undo button for the owner: its text and the id of the action it undoes; "" when
    there is nothing to undo, or the recording is not theirs."""
    if not _owner_reviews(request, recording):
        return ""
    action = review_action_selectors.review_action_undoable(recording=recording)
    return (
        {"text": review_action_selectors.review_action_describe(action), "id": action.pk}
        if action
        else ""
    )


def _event_review(request, recording: Recording) -> dict | None:
    """The Events list's controls (Confirm / Reject / Correct the span per event, "Confirm all
    N <kind> events" and "Reject all N <kind> events" per kind with events not reviewed,
    "Undo all" per such batch, "Add an event") and the verdicts' audit trail for the owner of
    an analysed recording with episodes; None for anyone else (they see the states only)."""
    if not _owner_reviews(request, recording) or "episodes" not in (recording.summary or {}):
        return None
    unreviewed = episode_selectors.episodes_unreviewed_counts(recording=recording)
    return {
        "kinds": [{"code": k, "name": v} for k, v in EPISODE_LABELS.items()],
        "confirm_all": unreviewed,
        "batches": episode_selectors.episode_batches_active(recording=recording),
        "history": episode_selectors.episode_verdict_history(recording=recording),
    }


def _event_write(request, recording: Recording, write, saved) -> HttpResponse:
    """Run one of the Events list's writes: its message on success (``saved(result)``), the
    refusal's message otherwise (nothing was written); back to the Events list."""
    try:
        result = write()
    except (EpisodeVerdictRefused, EpisodeNotFound) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, saved(result))
    return redirect(f"{recording.get_absolute_url()}#events")


@login_required
@require_POST
def recording_episode_verdict_view(request, pk: int):
    """The Events list's forms: confirm, reject or correct the span of an event, or add one the
    detector missed."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    form = request.POST
    return _event_write(
        request,
        recording,
        lambda: episode_services.episode_verdict_give(
            user=request.user,
            recording=recording,
            verdict=form.get("verdict", ""),
            kind=form.get("kind", ""),
            start_s=form.get("start_s"),
            end_s=form.get("end_s"),
            note=form.get("note", ""),
            corrected_start_s=form.get("corrected_start_s"),
            corrected_end_s=form.get("corrected_end_s"),
        ),
        lambda verdict: f"Saved: {episode_services.episode_verdict_describe(verdict)}.",
    )


@login_required
@require_POST
def recording_episode_verdict_withdraw_view(request, pk: int, verdict_id: int):
    """Undo one verdict (or added event): the row stays in the audit trail, marked withdrawn."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    return _event_write(
        request,
        recording,
        lambda: episode_services.episode_verdict_withdraw(
            user=request.user, recording=recording, verdict_id=verdict_id
        ),
        lambda verdict: f"Withdrawn: {episode_services.episode_verdict_describe(verdict)}.",
    )


def _rows_text(rows: list, words: str) -> str:
    """'3 Ventricular bigeminy events': rows of one kind, counted and named."""
    n = len(rows)
    return f"{n} {EPISODE_LABELS.get(rows[0].kind, rows[0].kind)} {words}{pluralize(n)}"


def _kind_write(request, pk: int, verdict: str) -> HttpResponse:
    """ "Confirm / Reject all N <kind> events": every event of the kind without a verdict, one
    batch (``episode_services.episode_verdicts_give_kind``)."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    return _event_write(
        request,
        recording,
        lambda: episode_services.episode_verdicts_give_kind(
            user=request.user,
            recording=recording,
            verdict=verdict,
            kind=request.POST.get("kind", ""),
            expected=request.POST.get("expected"),
            note=request.POST.get("note", ""),
        ),
        lambda rows: f"{verdict.capitalize()} {_rows_text(rows, 'event')}.",
    )


@login_required
@require_POST
def recording_episode_confirm_kind_view(request, pk: int):
    return _kind_write(request, pk, EpisodeVerdict.Verdict.CONFIRMED)


@login_required
@require_POST
def recording_episode_reject_kind_view(request, pk: int):
    return _kind_write(request, pk, EpisodeVerdict.Verdict.REJECTED)


# What an undone batch withdrew, in the message's words.
BATCH_WORDS = {"confirmed": "confirmation", "rejected": "rejection"}


@login_required
@require_POST
def recording_episode_batch_withdraw_view(request, pk: int, batch):
    """Undo a "confirm / reject all": every verdict of the batch still standing, in one action."""
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    return _event_write(
        request,
        recording,
        lambda: episode_services.episode_verdicts_withdraw_batch(
            user=request.user, recording=recording, batch=batch
        ),
        lambda rows: f"Withdrawn: {_rows_text(rows, BATCH_WORDS[rows[0].verdict])}.",
    )


@login_required
@require_GET
@rate_limited("export")
def recording_atr_view(request, pk: int):
    """The beats as a WFDB annotation file: reviewed labels first, "Q" for no class."""
    recording = _done(request, pk)
    data = review_selectors.recording_wfdb_annotations(recording=recording)
    response = HttpResponse(data, content_type="application/octet-stream", headers=PRIVATE)
    response["Content-Disposition"] = f'attachment; filename="recording-{recording.pk}.atr"'
    return response
