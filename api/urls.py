from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from . import docs_views, episode_views, export_views, recording_views, token_views, views

app_name = "api"

# The API documentation pages (schema only, no health data) may use the inline <style> elements
# that Swagger UI and Redoc inject, and Redoc's search worker (a blob: URL); every other page
# keeps the strict policy. Swagger UI's own start-up script is served as a file by the "split"
# view, so no inline script is allowed. Redoc's script comes from docs_views, without the request
# for its logo to its CDN.
docs_csp = csp_replace({"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("token/", token_views.token_page, name="token"),
    path("token/revoke/", token_views.token_revoke_all_view, name="token-revoke"),
    path("token/<int:pk>/revoke/", token_views.token_revoke_view, name="token-revoke-one"),
    path("v1/predictions/", views.PredictionListCreate.as_view(), name="prediction-list"),
    path("v1/predictions/<int:pk>/", views.PredictionDetail.as_view(), name="prediction-detail"),
    path(
        "v1/predictions/<int:pk>/image/", views.PredictionImage.as_view(), name="prediction-image"
    ),
    path(
        "v1/predictions/<int:pk>/heatmap/",
        views.PredictionHeatMapView.as_view(),
        name="prediction-heatmap",
    ),
    path(
        "v1/predictions/<int:pk>/report/",
        views.PredictionReport.as_view(),
        name="prediction-report",
    ),
    path("v1/recordings/", recording_views.RecordingListCreate.as_view(), name="recording-list"),
    path(
        "v1/recordings/<int:pk>/",
        recording_views.RecordingDetail.as_view(),
        name="recording-detail",
    ),
    path(
        "v1/recordings/<int:pk>/retry/",
        recording_views.RecordingRetry.as_view(),
        name="recording-retry",
    ),
    path(
        "v1/recordings/<int:pk>/beats/",
        recording_views.RecordingBeats.as_view(),
        name="recording-beats",
    ),
    path(
        "v1/recordings/<int:pk>/beats/<int:index>/",
        recording_views.RecordingBeatDetail.as_view(),
        name="recording-beat",
    ),
    path(
        "v1/recordings/<int:pk>/beats/<int:index>/heatmap/",
        recording_views.RecordingBeatHeatMapView.as_view(),
        name="recording-beat-heatmap",
    ),
    path(
        "v1/recordings/<int:pk>/report/",
        recording_views.RecordingReport.as_view(),
        name="recording-report",
    ),
    path(
        "v1/recordings/<int:pk>/corrections/",
        recording_views.RecordingCorrections.as_view(),
        name="recording-corrections",
    ),
    path(
        "v1/recordings/<int:pk>/corrections/undo/",
        recording_views.RecordingCorrectionsUndo.as_view(),
        name="recording-corrections-undo",
    ),
    path(
        "v1/recordings/<int:pk>/corrections/actions/",
        recording_views.RecordingCorrectionActions.as_view(),
        name="recording-correction-actions",
    ),
    path(
        "v1/recordings/<int:pk>/corrections/actions/<int:action_id>/undo/",
        recording_views.RecordingCorrectionActionUndo.as_view(),
        name="recording-correction-action-undo",
    ),
    path(
        "v1/recordings/<int:pk>/corrections/redo/",
        recording_views.RecordingCorrectionsRedo.as_view(),
        name="recording-corrections-redo",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/",
        episode_views.RecordingEpisodes.as_view(),
        name="recording-episodes",
    ),
    path(
        "v1/recordings/<int:pk>/episodes.csv",
        export_views.RecordingEpisodesCsv.as_view(),
        name="recording-episodes-csv",
    ),
    path(
        "v1/recordings/<int:pk>/annotations.atr",
        export_views.RecordingAnnotations.as_view(),
        name="recording-annotations",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/verdicts/",
        episode_views.RecordingEpisodeVerdicts.as_view(),
        name="recording-episode-verdicts",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/verdicts/<int:verdict_id>/withdraw/",
        episode_views.RecordingEpisodeVerdictWithdraw.as_view(),
        name="recording-episode-verdict-withdraw",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/confirm-kind/",
        episode_views.RecordingEpisodesConfirmKind.as_view(),
        name="recording-episodes-confirm-kind",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/reject-kind/",
        episode_views.RecordingEpisodesRejectKind.as_view(),
        name="recording-episodes-reject-kind",
    ),
    path(
        "v1/recordings/<int:pk>/episodes/batches/<uuid:batch>/withdraw/",
        episode_views.RecordingEpisodeBatchWithdraw.as_view(),
        name="recording-episode-batch-withdraw",
    ),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "v1/docs/",
        docs_csp(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "v1/redoc/",
        docs_csp(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="redoc",
    ),
    path("v1/redoc/redoc.standalone.js", docs_views.redoc_bundle, name="redoc-bundle"),
    # Anything else under /api/ answers in JSON too, never with an HTML error page.
    re_path(r"^.*$", views.not_found, name="not-found"),
]
