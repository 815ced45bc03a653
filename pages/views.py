from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from classifier.forms import PredictionFilterForm
from classifier.selectors import prediction_list
from pages.content import BY_SLUG, CLASS_PAGES
from pages.selectors import model_summaries, models_registry, recording_lead_reading
from recordings.selectors import recording_history

HISTORY_PAGE_SIZE = 20


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html", {"class_pages": CLASS_PAGES})


def classes(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/classes.html", {"class_pages": CLASS_PAGES})


def class_info(request: HttpRequest, slug: str) -> HttpResponse:
    page = BY_SLUG.get(slug)
    if page is None:
        raise Http404("No such class.")
    return render(request, "pages/class_info.html", {"page": page, "class_pages": CLASS_PAGES})


def about(request: HttpRequest) -> HttpResponse:
    registry = models_registry()
    context = {
        "models": model_summaries(registry=registry),
        "recording_in_int8": settings.RECORDING_MODEL_PRECISION == "int8",
        "recording_lead_reading": recording_lead_reading(registry=registry),
    }
    return render(request, "pages/about.html", context)


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/contact.html", {"contact_email": settings.CONTACT_EMAIL})


@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers on pages without our <link rel="icon"> (admin, API
    docs, files): a temporary redirect to the static file, whose name carries a hash in
    production."""
    return HttpResponseRedirect(static("favicon.ico"))


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's images and recordings on one page, under one set of filters."""
    filter_form = PredictionFilterForm(request.GET or None)
    filters = filter_form.filters()
    predictions = prediction_list(user=request.user, filters=filters)
    if filters.get("kind") == "recording":
        predictions = predictions.none()
    page = Paginator(predictions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": filter_form,
        "page_obj": page,
        "query": query.urlencode(),
        "recordings": recording_history(user=request.user, filters=filters),
    }
    return render(request, "pages/history.html", context)
