"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("recordings/", include("recordings.urls")),
    path("", include("pages.urls")),
]
