"""Owner-only downloads for the result page: the Grad-CAM overlay and the PDF report.

A heat map that cannot be had is a ``HeatMapUnavailable`` (404), answered by the middleware."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest

from classifier import selectors
from ecgsite.private_files import private_file_response
from ecgsite.ratelimit import rate_limited
from recordings.selectors import recording_get

from .recording_services import recording_beat_heatmap_get_or_create, recording_report_pdf
from .services import prediction_heatmap_get_or_create, prediction_report_pdf


@login_required
@rate_limited("heatmap")
def prediction_heatmap(request: HttpRequest, pk: int) -> FileResponse:
    prediction = selectors.prediction_get(user=request.user, pk=pk)
    heatmap = prediction_heatmap_get_or_create(prediction=prediction)
    return private_file_response(heatmap.overlay.open("rb"), content_type="image/png")


@login_required
@rate_limited("export")
def prediction_report(request: HttpRequest, pk: int) -> FileResponse:
    prediction = selectors.prediction_get(user=request.user, pk=pk)
    pdf = prediction_report_pdf(prediction=prediction)
    return private_file_response(
        pdf, content_type="application/pdf", filename=f"ecg-prediction-{prediction.pk}.pdf"
    )


@login_required
@rate_limited("heatmap")
def recording_beat_heatmap(request: HttpRequest, pk: int, index: int) -> FileResponse:
    recording = recording_get(user=request.user, pk=pk)
    heatmap = recording_beat_heatmap_get_or_create(recording=recording, index=index)
    return private_file_response(heatmap.overlay.open("rb"), content_type="image/png")


@login_required
@rate_limited("export")
def recording_report(request: HttpRequest, pk: int) -> FileResponse:
    recording = recording_get(user=request.user, pk=pk)
    pdf = recording_report_pdf(recording=recording)
    return private_file_response(
        pdf, content_type="application/pdf", filename=f"ecg-recording-{recording.pk}.pdf"
    )
