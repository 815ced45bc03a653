"""Sign up here; log in / out, password change and reset are Django's own auth views."""

from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # throttled, mails after the response; before Django's own views, which it overrides
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
