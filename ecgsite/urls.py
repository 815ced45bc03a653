"""URL configuration.

Uploaded media are deliberately NOT served with ``static()``: each image is streamed by a
login-protected view in ``classifier`` to its owner only.
"""

from django.contrib import admin
from django.urls import include, path

from ecgsite.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("predictions/", include("classifier.urls")),
    path("recordings/", include("recordings.urls")),
    path("", include("pages.urls")),
    path("api/", include("api.urls")),  # REST API, its docs and the token page (issue 5)
    path("reports/", include("reports.urls")),  # heat maps and PDF reports (issue 5)
]

# JSON errors under /api/, Django's pages elsewhere (issue 15 item 13)
handler400 = "api.exceptions.bad_request"
handler403 = "api.exceptions.permission_denied"
handler404 = "api.exceptions.page_not_found"
handler500 = "api.exceptions.server_error"
