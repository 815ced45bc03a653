"""REST endpoints. Thin: serializers validate, the web app's services and selectors do the work
(``classifier.services`` / ``classifier.selectors``), so the API and the pages cannot drift."""

from __future__ import annotations

import mimetypes

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from classifier import selectors, services
from classifier.forms import PredictionFilterForm
from ecgsite.private_files import private_file_response
from reports.services import prediction_heatmap_get_or_create, prediction_report_pdf

from .serializers import ErrorSerializer, PredictionCreateSerializer, PredictionSerializer


class NotFound(exceptions.NotFound):
    pass


ERROR = OpenApiResponse(ErrorSerializer, description="What went wrong, in one sentence.")
FILTER_PARAMETERS = [
    OpenApiParameter("predicted_class", str, description="Class code, e.g. V"),
    OpenApiParameter("image_type", str, enum=["beat_image", "spectrogram"]),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Created on or after"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Created on or before"),
    OpenApiParameter("q", str, description="Text in the patient reference or file name"),
]


def list_filters(form_class, query_params) -> dict:
    """The history page's filter form, strict: a bad filter is a 400, not silently dropped."""
    form = form_class(query_params)
    if not form.is_valid():
        raise exceptions.ValidationError({k: list(v) for k, v in form.errors.items()})
    return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}


class PredictionListCreate(GenericAPIView):
    serializer_class = PredictionSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="List your predictions",
        parameters=FILTER_PARAMETERS,
        responses={200: PredictionSerializer(many=True), 400: ERROR, 401: ERROR},
    )
    def get(self, request):
        filters = list_filters(PredictionFilterForm, request.query_params)
        predictions = selectors.prediction_list(user=request.user, filters=filters)
        page = self.paginate_queryset(predictions)
        data = PredictionSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Classify one image",
        request={"multipart/form-data": PredictionCreateSerializer},
        responses={201: PredictionSerializer, 400: ERROR, 401: ERROR, 429: ERROR, 503: ERROR},
    )
    def post(self, request):
        given = PredictionCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            prediction = services.prediction_create(
                owner=request.user,
                uploaded_file=data["image"],
                image_type=data["image_type"],
                trace_height_mv=data["trace_height_mv"],
                patient_reference=data["patient_reference"],
                note=data["note"],
            )
        except DjangoValidationError as exc:
            # The service checks the file's content: its complaints are about the image.
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"image": exc.messages}
            raise exceptions.ValidationError(detail) from exc
        body = PredictionSerializer(prediction, context={"request": request}).data
        return Response(body, status=201, headers={"Location": body["links"]["self"]})


class PredictionDetail(APIView):
    @extend_schema(summary="One prediction", responses={200: PredictionSerializer, 404: ERROR})
    def get(self, request, pk: int):
        prediction = selectors.prediction_get(user=request.user, pk=pk)
        return Response(PredictionSerializer(prediction, context={"request": request}).data)

    @extend_schema(summary="Delete a prediction and its files", responses={204: None, 404: ERROR})
    def delete(self, request, pk: int):
        prediction = selectors.prediction_get_for_change(user=request.user, pk=pk)
        services.prediction_delete(prediction=prediction)
        return Response(status=204)


class PredictionImage(APIView):
    @extend_schema(
        summary="The uploaded image", responses={(200, "image/*"): OpenApiTypes.BINARY, 404: ERROR}
    )
    def get(self, request, pk: int):
        prediction = selectors.prediction_get(user=request.user, pk=pk)
        try:
            handle = prediction.image.open("rb")
        except (FileNotFoundError, ValueError):
            raise NotFound("The image file is missing.") from None
        kind = mimetypes.guess_type(prediction.image.name)[0] or "application/octet-stream"
        return private_file_response(handle, content_type=kind)


class PredictionHeatMapView(APIView):
    @extend_schema(
        summary="Grad-CAM heat map over the model's input image (PNG)",
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: ERROR},
    )
    def get(self, request, pk: int):
        prediction = selectors.prediction_get(user=request.user, pk=pk)
        heatmap = prediction_heatmap_get_or_create(prediction=prediction)
        return private_file_response(heatmap.overlay.open("rb"), content_type="image/png")


class PredictionReport(APIView):
    @extend_schema(
        summary="PDF report of one prediction",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: ERROR},
    )
    def get(self, request, pk: int):
        prediction = selectors.prediction_get(user=request.user, pk=pk)
        pdf = prediction_report_pdf(prediction=prediction)
        return private_file_response(
            pdf, content_type="application/pdf", filename=f"ecg-prediction-{prediction.pk}.pdf"
        )


def not_found(request, *args, **kwargs):
    return JsonResponse(
        {"status": 404, "code": "not_found", "message": f"No API endpoint at {request.path}."},
        status=404,
    )
