"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("pages.urls")),
    path("api/", include("api.urls")),  # REST API, its docs and the token page (issue 5)
]
