"""Rhythm episodes as reviewed (issue 20): read them with their verdicts, and (the owner only)
confirm, reject, correct the span of or add one, confirm or reject every episode of a kind not
reviewed in one action, withdraw a verdict or such a batch, read the verdicts' audit trail. The
recordings app's episode services and selectors do the work."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from recordings import episode_selectors, episode_services, review_selectors

from .episode_serializers import (
    EpisodeBatchSerializer,
    EpisodeKindVerdictSerializer,
    EpisodesReviewedSerializer,
    EpisodeVerdictCreateSerializer,
    EpisodeVerdictRowSerializer,
)
from .recording_views import _done, _recording
from .views import ERROR


def _reviewed(recording) -> dict:
    return EpisodesReviewedSerializer(episode_selectors.episodes_reviewed(recording=recording)).data


class RecordingEpisodes(APIView):
    @extend_schema(
        summary="Rhythm episodes with the owner's verdicts and added episodes",
        description=(
            "Every episode of `summary.episodes` (the model's, or the recount after a beat "
            "review: never changed by a verdict) with its state, and the episodes the owner "
            "added, in time order; counts per kind leave rejected episodes out and count added "
            "ones in. A verdict applies to the episode of its kind that overlaps its span most "
            "now; one that applies to none is listed under `unmatched`."
        ),
        responses={200: EpisodesReviewedSerializer, 404: ERROR, 409: ERROR},
    )
    def get(self, request, pk: int):
        return Response(_reviewed(_done(_recording(request, pk))))


class RecordingEpisodeVerdicts(GenericAPIView):
    """The owner's verdicts on a recording's episodes."""

    serializer_class = EpisodeVerdictRowSerializer

    @extend_schema(
        summary="Every episode verdict, withdrawn ones too, newest first (the audit trail)",
        responses={200: EpisodeVerdictRowSerializer(many=True), 404: ERROR},
    )
    def get(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        rows = recording.episode_verdicts.select_related("created_by", "withdrawn_by")
        page = self.paginate_queryset(rows.order_by("-created_at", "-id"))
        return self.get_paginated_response(EpisodeVerdictRowSerializer(page, many=True).data)

    @extend_schema(
        summary="Confirm, reject or correct the span of an episode, or add one",
        description=(
            "`confirmed` / `rejected` / `corrected` name an episode as listed now (kind, "
            "start_s, end_s within 5 ms: its `model_start_s` / `model_end_s`, or a corrected "
            "one's `start_s` / `end_s`); it replaces the verdict that applied to it before "
            "(kept, withdrawn). `corrected` also gives `corrected_start_s` / `corrected_end_s`, "
            "the span the owner reads (within the recording, end after start, not the detected "
            "span): from then on the episode is listed, counted and exported over it, the "
            "summary keeping the detected one. `added`: a new episode over start_s-end_s "
            "(within the recording, end after start). 400 `invalid_episode_verdict` with the "
            "reason, 409 `episode_not_found` when no such episode is listed now (recounted "
            "since it was read); nothing is written then."
        ),
        request=EpisodeVerdictCreateSerializer,
        responses={201: EpisodesReviewedSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request, pk: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        data = EpisodeVerdictCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        episode_services.episode_verdict_give(
            user=request.user, recording=recording, **data.validated_data
        )
        return Response(_reviewed(recording), status=201)


class RecordingEpisodeVerdictWithdraw(APIView):
    @extend_schema(
        summary="Withdraw (undo) one episode verdict or added episode",
        description=(
            "The row stays in the audit trail, marked withdrawn; the episode shows as not "
            "reviewed again (an added one goes). 404 for a verdict not of this recording, 400 "
            "when it was already withdrawn."
        ),
        request=None,
        responses={200: EpisodesReviewedSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request, pk: int, verdict_id: int):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        episode_services.episode_verdict_withdraw(
            user=request.user, recording=recording, verdict_id=verdict_id
        )
        return Response(_reviewed(recording))


def _batch_body(rows: list, recording) -> dict:
    """A batch given or withdrawn: its id, verdict, how many, and the episodes now."""
    verdict = rows[0].verdict
    return {
        "batch": rows[0].batch,
        "verdict": verdict,
        "confirmed": len(rows) if verdict == "confirmed" else 0,
        "rejected": len(rows) if verdict == "rejected" else 0,
        "episodes": _reviewed(recording),
    }


def _give_kind(request, pk: int, verdict: str) -> Response:
    recording = review_selectors.recording_get_own(user=request.user, pk=pk)
    data = EpisodeKindVerdictSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    rows = episode_services.episode_verdicts_give_kind(
        user=request.user, recording=recording, verdict=verdict, **data.validated_data
    )
    return Response(_batch_body(rows, recording), status=201)


KIND_DESCRIPTION = (
    "Each episode of `kind` in `summary.episodes` without a verdict gets a `{verdict}` verdict "
    "of its own, with the optional `note`; episodes with one (confirmed, rejected, corrected) "
    "are left as they are. The rows share a `batch` id: POST .../episodes/batches/{{batch}}/"
    "withdraw/ undoes them together (each row's own withdraw still undoes it alone). 400 "
    "`invalid_episode_verdict` when none is left, or when `expected` is given and differs from "
    "the number found now; 400 for an unknown kind; nothing is written then."
)


class RecordingEpisodesConfirmKind(APIView):
    @extend_schema(
        summary="Confirm every episode of one kind that has no verdict, in one action",
        description=KIND_DESCRIPTION.format(verdict="confirmed"),
        request=EpisodeKindVerdictSerializer,
        responses={201: EpisodeBatchSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request, pk: int):
        return _give_kind(request, pk, "confirmed")


class RecordingEpisodesRejectKind(APIView):
    @extend_schema(
        summary="Reject every episode of one kind that has no verdict, in one action",
        description=KIND_DESCRIPTION.format(verdict="rejected")
        + " Rejected episodes are left out of the counts per kind, as one rejected alone is.",
        request=EpisodeKindVerdictSerializer,
        responses={201: EpisodeBatchSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request, pk: int):
        return _give_kind(request, pk, "rejected")


class RecordingEpisodeBatchWithdraw(APIView):
    @extend_schema(
        summary='Withdraw (undo) a "confirm / reject all of a kind" in one action',
        description=(
            "Every verdict of the batch not withdrawn yet is marked withdrawn (the rows stay in "
            "the audit trail). 404 for a batch not of this recording, 400 when all of it was "
            "withdrawn already."
        ),
        request=None,
        responses={200: EpisodeBatchSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request, pk: int, batch):
        recording = review_selectors.recording_get_own(user=request.user, pk=pk)
        rows = episode_services.episode_verdicts_withdraw_batch(
            user=request.user, recording=recording, batch=batch
        )
        return Response(_batch_body(rows, recording))
