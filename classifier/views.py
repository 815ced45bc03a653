"""Thin views: parse the request, call a service or selector, render. Every view needs login."""

from __future__ import annotations

import csv
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from classifier import selectors, services
from classifier.errors import ModelMissing
from classifier.exports import csv_response_name, prediction_csv_rows
from classifier.forms import PredictionFilterForm, UploadForm
from classifier.model_service import format_example_png
from classifier.thumbnails import make_thumbnail
from ecgsite.model_registry import get_model_registry
from ecgsite.private_files import private_file_response, private_headers


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    registry = get_model_registry()
    installed = registry.installed_image_kinds()
    if not installed:
        raise ModelMissing(f"No image model is installed in {registry.models_dir}.")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.prediction_create_many(
                owner=request.user,
                uploaded_files=data["images"],
                image_type=data["image_type"],
                trace_height_mv=data["trace_height_mv"],
                patient_reference=data["patient_reference"],
                note=data["note"],
            )
        except ValidationError as exc:  # the file's content: shown on the form
            form.add_error(None, exc)
        else:
            if len(created) == 1:
                return redirect(created[0])
            ids = ",".join(str(p.pk) for p in created)
            return redirect(f"{reverse('classifier:batch')}?ids={ids}")
    context = {"form": form, "models": registry.image_models_metadata()}
    # a refused upload is a client error: 400 with the form and its messages
    status = 400 if request.method == "POST" else 200
    return render(request, "classifier/upload.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def format_example(request: HttpRequest, kind: str) -> HttpResponse:
    """A synthetic beat in the app's own beat-image or spectral-image format (no patient data)."""
    try:
        png = format_example_png(kind=kind)
    except ValueError:
        raise Http404("No such image format.") from None
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="example-{kind}.png"'
    return response


@login_required
def batch(request: HttpRequest) -> HttpResponse:
    try:
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i][:100]
    except ValueError:
        raise Http404("Bad list of results.") from None
    if any(not 0 < i < 2**63 for i in ids):  # the database's integer would overflow: a 500
        raise Http404("Bad list of results.")
    predictions = selectors.predictions_by_ids(user=request.user, ids=ids)
    if not predictions:
        raise Http404("No such results.")
    return render(request, "classifier/batch.html", {"predictions": predictions})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = selectors.prediction_get(user=request.user, pk=pk)
    return render(request, "classifier/detail.html", {"prediction": prediction})


@login_required
def image(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """Stream the uploaded image to its owner (or staff); 404 for everyone else.

    ``?thumb=1`` returns a small PNG preview instead (history and results lists).
    """
    prediction = selectors.prediction_get(user=request.user, pk=pk)
    try:
        handle = prediction.image.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("Image file missing.") from None
    if request.GET.get("thumb"):
        with handle:
            thumbnail = make_thumbnail(handle)
        return HttpResponse(thumbnail, content_type="image/png", headers=private_headers())
    content_type = mimetypes.guess_type(prediction.image.name)[0] or "application/octet-stream"
    return private_file_response(handle, content_type=content_type)


@login_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    filter_form = PredictionFilterForm(request.GET or None)
    predictions = selectors.prediction_list(user=request.user, filters=filter_form.filters())
    writer = csv.writer(_Echo())
    return StreamingHttpResponse(
        (writer.writerow(row) for row in prediction_csv_rows(predictions)),
        content_type="text/csv; charset=utf-8",
        headers={
            **private_headers(cache_seconds=0),
            "Content-Disposition": f'attachment; filename="{csv_response_name()}"',
        },
    )


class _Echo:
    """A file-like object for csv.writer that hands each line back for streaming."""

    def write(self, value: str) -> str:
        return value


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    prediction = selectors.prediction_get_for_change(user=request.user, pk=pk)
    if request.method == "POST":
        name = prediction.original_name
        services.prediction_delete(prediction=prediction)
        messages.success(request, f"Deleted the prediction for “{name}”.")
        return redirect("pages:history")
    return render(request, "classifier/delete.html", {"prediction": prediction})
