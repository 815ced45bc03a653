"""A recording's file exports through the API (issue 20): the rhythm episodes as reviewed as
CSV, and the beats with the episodes as a WFDB annotation file. The recordings app's
selectors build both, as for the page's downloads."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.views import APIView

from ecgsite.private_files import private_headers
from recordings import episode_selectors, review_selectors, selectors

from .recording_views import _done, _recording
from .views import ERROR


class _Export(APIView):
    """One file of an analysed recording that the user may see: ``content_type`` and what
    ``build`` makes of it, sent as an attachment never kept in a cache."""

    content_type = "application/octet-stream"

    def build(self, recording) -> tuple[bytes | str, str]:
        raise NotImplementedError

    def get(self, request, pk: int):
        data, filename = self.build(_done(_recording(request, pk)))
        response = HttpResponse(
            data, content_type=self.content_type, headers=private_headers(cache_seconds=0)
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@extend_schema_view(
    get=extend_schema(
        operation_id="recordings_episodes_csv",
        summary="Rhythm episodes as reviewed, as CSV",
        description=(
            "Columns kind, label, start_s, end_s, duration_s, state, by, at, note; one row per "
            "episode in time order, the owner's added ones included and rejected ones listed "
            "with state `rejected`. 404 for a recording analysed before episodes were detected."
        ),
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: ERROR, 409: ERROR},
    )
)
class RecordingEpisodesCsv(_Export):
    content_type = "text/csv"

    def build(self, recording) -> tuple[bytes | str, str]:
        rows = episode_selectors.episode_csv_rows(recording=recording)
        text = "".join(selectors.csv_line(row) for row in rows)
        return text, f"recording-{recording.pk}-episodes.csv"


@extend_schema_view(
    get=extend_schema(
        operation_id="recordings_annotations_atr",
        summary="Beats and rhythm episodes as a WFDB annotation file (.atr)",
        description=(
            "Written by `wfdb.wrann`, read by `wfdb.rdann`: every beat (reviewed label, else "
            "the model's class when classified, else Q) and the episodes as reviewed as "
            "MIT-BIH rhythm changes (`+` with `(AFIB`, `(VT`... and `(N` where one ends); "
            'pauses and tachycardia as comment annotations (`"`).'
        ),
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: ERROR, 409: ERROR},
    )
)
class RecordingAnnotations(_Export):
    def build(self, recording) -> tuple[bytes | str, str]:
        data = review_selectors.recording_wfdb_annotations(recording=recording)
        return data, f"recording-{recording.pk}.atr"
