from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from pages.content import BY_SLUG, CLASS_PAGES
from pages.selectors import model_summaries


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
    return render(request, "pages/about.html", {"models": model_summaries()})


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/contact.html", {"contact_email": settings.CONTACT_EMAIL})


@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers on pages without our <link rel="icon"> (admin, API
    docs, files): a temporary redirect to the static file, whose name carries a hash in
    production."""
    return HttpResponseRedirect(static("favicon.ico"))
