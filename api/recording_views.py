"""Recording endpoints: upload returns the job (202), then poll it; results, beats, heat maps
and the PDF once done. The recordings app's form, services and selectors do the work."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ecgsite.private_files import private_file_response
from recordings import (
    review_action_selectors,
    review_selectors,
    review_services,
    selectors,
    services,
)
from recordings.errors import AnalysisNotDone
from recordings.forms import RecordingSearchForm, RecordingUploadForm
from recordings.models import Recording, beats_shown_as
from reports.recording_services import recording_beat_heatmap_get_or_create, recording_report_pdf

from .recording_serializers import (
    ActionUndoneSerializer,
    BeatDetailSerializer,
    BeatSerializer,
    CorrectionCreateSerializer,
    CorrectionSerializer,
    RecordingCreateSerializer,
    RecordingSerializer,
    RedoableSerializer,
    RedoneSerializer,
    ReviewActionListSerializer,
    UndoableSerializer,
    UndoneSerializer,
)
from .views import ERROR, list_filters


def _recording(request, pk: int) -> Recording:
    return selectors.recording_get(user=request.user, pk=pk)


def _done(recording: Recording) -> Recording:
    if recording.status != Recording.Status.DONE:
        raise AnalysisNotDone(
            f"The analysis is {recording.get_status_display().lower()}"
            + (f": {recording.error}" if recording.error else "")
            + "; results exist once it is done."
        )
    return recording


class RecordingListCreate(GenericAPIView):
    serializer_class = RecordingSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="List your recordings",
        parameters=[
            OpenApiParameter("q", str, description="Text in the name, patient reference or note"),
            OpenApiParameter("status", str, enum=list(Recording.Status.values)),
        ],
        responses={200: RecordingSerializer(many=True), 400: ERROR},
    )
    def get(self, request):
        filters = list_filters(RecordingSearchForm, request.query_params)
        page = self.paginate_queryset(selectors.recording_list(user=request.user, filters=filters))
        data = RecordingSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Upload a recording; its analysis runs in the background",
        request={"multipart/form-data": RecordingCreateSerializer},
        responses={202: RecordingSerializer, 400: ERROR, 503: ERROR},
    )
    def post(self, request):
        fields = request.POST.copy()  # the form fields, without the files
        fields.setdefault("units", "mV")  # the page preselects it; API clients may omit it
        form = RecordingUploadForm(fields, request.FILES)
        if not form.is_valid():
            raise exceptions.ValidationError({k: list(v) for k, v in form.errors.items()})
        try:
            recording = services.recording_create(owner=request.user, **form.service_arguments())
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"files": exc.messages}) from exc
        body = RecordingSerializer(recording, context={"request": request}).data
        return Response(body, status=202, headers={"Location": body["links"]["self"]})


class RecordingDetail(APIView):
    @extend_schema(
        summary="A recording: its job status, and its results once done",
        responses={200: RecordingSerializer, 404: ERROR},
    )
    def get(self, request, pk: int):
        recording = _recording(request, pk)
        return Response(RecordingSerializer(recording, context={"request": request}).data)

    @extend_schema(summary="Delete a recording, its beats and files", responses={204: None})
    def delete(self, request, pk: int):
        recording = selectors.recording_get_for_change(
            user=request.user, pk=pk, permission="delete"
        )
        services.recording_delete(recording=recording)
        return Response(status=204)


class RetryRequestSerializer(serializers.Serializer):
    lead = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Optional: another of the recording's stored leads (its `stored_leads`) to "
        "analyse instead of the one that failed; the stored signals are reordered with it first "
        "and the recording's notes say so.",
    )


class RecordingRetry(APIView):
    @extend_schema(
        summary="Analyse a failed recording again, optionally on another stored lead",
        request=RetryRequestSerializer,
        responses={202: RecordingSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request, pk: int):
        recording = selectors.recording_get_for_change(
            user=request.user, pk=pk, permission="change"
        )
        asked = RetryRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        # Django's ValidationError (not failed, not a stored lead) is answered 400 by the
        # API's exception handler; nothing is changed then.
        recording = services.recording_retry(
            recording=recording, lead=asked.validated_data.get("lead", "")
        )
        body = RecordingSerializer(recording, context={"request": request}).data
        return Response(body, status=202, headers={"Location": body["links"]["self"]})


class RecordingBeats(GenericAPIView):
    serializer_class = BeatSerializer

    @extend_schema(
        summary="The classified beats of a recording, in time order",
        parameters=[
            OpenApiParameter(
                "label",
                str,
                description="Only beats shown as this class: the reviewed class when a beat was "
                "corrected, else the model's; uncertain and unreadable beats are of no class",
            )
        ],
        responses={200: BeatSerializer(many=True), 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        recording = _done(_recording(request, pk))
        beats = recording.beats.select_related("reviewed_by").order_by("index")
        if label := request.query_params.get("label"):
            beats = beats.filter(beats_shown_as(label))
        page = self.paginate_queryset(beats)
        return self.get_paginated_response(BeatSerializer(page, many=True).data)


class RecordingBeatDetail(APIView):
    @extend_schema(
        summary="One beat with every class probability",
        responses={200: BeatDetailSerializer, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int, index: int):
        recording = _done(_recording(request, pk))
        return Response(selectors.recording_beat(recording=recording, index=index))


class RecordingBeatHeatMapView(APIView):
    @extend_schema(
        summary="Grad-CAM heat map over one beat as the model saw it (PNG)",
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int, index: int):
        recording = _done(_recording(request, pk))
        heatmap = recording_beat_heatmap_get_or_create(recording=recording, index=index)
        return private_file_response(heatmap.overlay.open("rb"), content_type="image/png")


class RecordingReport(APIView):
    @extend_schema(
        summary="PDF report of an analysed recording",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        recording = _done(_recording(request, pk))
        pdf = recording_report_pdf(recording=recording)
        return private_file_response(
            pdf, content_type="application/pdf", filename=f"ecg-recording-{recording.pk}.pdf"
        )


class RecordingCorrections(GenericAPIView):
    """The clinician's corrections of a recording: only its owner reads or adds them."""

    serializer_class = CorrectionSerializer

    @extend_schema(
        summary="Corrections of a recording's beats, newest first (the audit trail)",
        responses={200: CorrectionSerializer(many=True), 404: ERROR},
    )
    def get(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        corrections = recording.corrections.select_related("beat", "created_by").order_by(
            "-created_at", "-id"
        )
        page = self.paginate_queryset(corrections)
        return self.get_paginated_response(CorrectionSerializer(page, many=True).data)

    @extend_schema(
        summary="Give beats a reviewed class (never changes the model's label)",
        request=CorrectionCreateSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        data = CorrectionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = review_services.beat_correct(
            user=request.user,
            recording=recording,
            beat_indices=data.validated_data["beats"],
            label=data.validated_data["label"],
        )
        review = review_selectors.review_overview(recording=recording)
        return Response(
            {"corrected": count, "beats_reviewed": review["beats_reviewed"],
             "reviewers": review["reviewers"], "summary": recording.summary},
            status=201,
        )  # fmt: skip


class UndoRedoRequestSerializer(serializers.Serializer):
    action = serializers.IntegerField(
        required=False,
        help_text="Optional: the id of the action this request means to undo (or redo), as GET "
        "named it. When it is no longer what POST would undo (or redo) -- another request "
        "just did it, or added an action -- 409 and nothing is written, instead of undoing "
        "(redoing) the next one.",
    )


def _after_review_write(recording) -> dict:
    """What every undo / redo / undo-alone answer ends with: the recount and the next undo."""
    review = review_selectors.review_overview(recording=recording)
    return {
        "beats_reviewed": review["beats_reviewed"],
        "reviewers": review["reviewers"],
        "summary": recording.summary,
        "next_undo": review_action_selectors.review_action_undoable(recording=recording),
    }


class RecordingCorrectionsUndo(APIView):
    """Undo the latest review action of a recording (its owner only)."""

    @extend_schema(
        summary="What an undo would undo: the latest review action not undone yet",
        responses={200: UndoableSerializer, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        recording = _done(review_selectors.recording_get_own(user=request.user, pk=pk))
        action = review_action_selectors.review_action_undoable(recording=recording)
        return Response(UndoableSerializer({"undo": action}).data)

    @extend_schema(
        summary="Undo the latest correction, group relabel or re-classification",
        description=(
            "Every beat of the action gets back the reviewed label it had before (none: the "
            "model's class shows again); the undo is stored in the audit trail as correction "
            "rows of its own, the summary is recounted and the suggestions, if asked for, "
            "recomputed. Called again, it undoes the action before. 409 `nothing_to_undo` when "
            "none is left, or when `action` names an action that is no longer the latest "
            "(nothing written)."
        ),
        request=UndoRedoRequestSerializer,
        responses={200: UndoneSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        data = UndoRedoRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = review_services.review_action_undo(
            user=request.user, recording=recording, expected=data.validated_data.get("action")
        )
        body = {"undone": action, **_after_review_write(recording)}
        return Response(UndoneSerializer(body).data)


class RecordingCorrectionsRedo(APIView):
    """Redo the latest undone review action of a recording (its owner only)."""

    @extend_schema(
        summary="What a redo would re-apply: the action the latest undo not redone undid",
        responses={200: RedoableSerializer, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        recording = _done(review_selectors.recording_get_own(user=request.user, pk=pk))
        action = review_action_selectors.review_action_to_redo(recording=recording)
        return Response(RedoableSerializer({"redo": action}).data)

    @extend_schema(
        summary="Redo the latest undone correction, group relabel or re-classification",
        description=(
            "Re-applies exactly what the latest undo (not redone yet) took away: every beat gets "
            "the reviewed label and reviewer that action gave it, a re-classification's "
            "suggestions come back. The redo is stored in the audit trail as an action with "
            "correction rows of its own (who, when); it can be undone in its turn. Called "
            "again after several undos, it redoes the next one. A new correction, group "
            "relabel or re-classification clears what can be redone. 409 `nothing_to_redo` "
            "when none is left, or when `action` names an action that is no longer what Redo "
            "re-applies (nothing written)."
        ),
        request=UndoRedoRequestSerializer,
        responses={200: RedoneSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        data = UndoRedoRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = review_services.review_action_redo(
            user=request.user, recording=recording, expected=data.validated_data.get("action")
        )
        body = {
            "redone": action,
            "next_redo": review_action_selectors.review_action_to_redo(recording=recording),
            **_after_review_write(recording),
        }
        return Response(RedoneSerializer(body).data)


ACTIONS_LISTED = 200  # the action list's length (newest first)


class RecordingCorrectionActions(APIView):
    """The review actions of a recording, newest first (its owner only)."""

    @extend_schema(
        summary="The review actions, newest first: who, when, what, and whether each can be "
        "undone alone",
        description=f"The {ACTIONS_LISTED} latest actions.",
        responses={200: ReviewActionListSerializer, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        recording = _done(review_selectors.recording_get_own(user=request.user, pk=pk))
        history = review_action_selectors.review_action_history(
            recording=recording, limit=ACTIONS_LISTED
        )
        return Response(ReviewActionListSerializer({"results": history}).data)


class RecordingCorrectionActionUndo(APIView):
    """Undo one review action alone, however old (its owner only)."""

    @extend_schema(
        summary="Undo one review action alone (not only the latest)",
        description=(
            "Every beat the action changed gets back the reviewed label it had before, unless a "
            "later action still in effect changed that beat again: it keeps the later label "
            "(`beats_kept`). Stored as a `revert` action with correction rows of its own; Undo "
            "undoes it, and it clears what Redo can redo, like any new action. The latest "
            "action is undone by Undo itself (`by` is then an `undo`, and Redo re-applies it). "
            "404 for an action not of this recording; 409 `action_not_undoable` when it is "
            "already undone, is an undo (use Redo), is a re-classification that is not the "
            "latest action, or every beat of it was changed again later. Nothing is written "
            "then."
        ),
        request=None,
        responses={200: ActionUndoneSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request, pk: int, action_id: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        result = review_services.review_action_revert(
            user=request.user, recording=recording, action_id=action_id
        )
        body = {
            "undone": result["undone"],
            "by": result["by"],
            "beats_put_back": result["beats"],
            "beats_kept": result["kept"],
            "message": review_action_selectors.review_revert_message(result),
            **_after_review_write(recording),
        }
        return Response(ActionUndoneSerializer(body).data)
