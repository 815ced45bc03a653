"""REST endpoints. Thin: validation in serializers, work in the web app's services/selectors."""

from django.http import JsonResponse


def not_found(request, *args, **kwargs):
    return JsonResponse(
        {"status": 404, "code": "not_found", "message": f"No API endpoint at {request.path}."},
        status=404,
    )
