import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignUpForm
from accounts.throttling import address_attempt_allowed

log = logging.getLogger(__name__)

TOO_MANY = "Too many attempts from your network address. Please try again later."


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("classifier:upload")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        # Every attempt counts (failed ones too): probing for taken user names is slowed down.
        if not address_attempt_allowed(request=request, scope="signup", rate=settings.SIGNUP_RATE):
            form = SignUpForm(request.POST)
            form.is_valid()
            form.errors.clear()
            form.add_error(None, TOO_MANY)
            return render(request, "registration/signup.html", {"form": form}, status=429)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}. Your account is ready.")
            return redirect("classifier:upload")
    return render(request, "registration/signup.html", {"form": form})


class RedirectThenRun(HttpResponseRedirect):
    """A redirect that runs ``after`` once the server has sent it (WSGI servers call
    ``close()`` after the last byte): the work's duration cannot show in the response time."""

    def __init__(self, *args, after: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._after = after

    def close(self) -> None:
        # The work runs before super().close(): that sends ``request_finished``, which closes
        # the database connections, and the work's own queries must be tidied up with them.
        after, self._after = self._after, None
        if after is not None:
            try:
                after()
            except Exception:  # the answer is already sent: log, never raise
                log.exception("deferred work after the response failed")
        super().close()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, throttled per client address, and mailing after the response: the
    user lookup, token and SMTP work ran only for known addresses, so the answer came later
    for them (an enumeration by timing)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not address_attempt_allowed(
            request=request, scope="password-reset", rate=settings.PASSWORD_RESET_RATE
        ):
            form = self.get_form()
            form.is_valid()
            form.errors.clear()
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        opts = {
            "use_https": self.request.is_secure(),
            "token_generator": self.token_generator,
            "from_email": self.from_email,
            "email_template_name": self.email_template_name,
            "subject_template_name": self.subject_template_name,
            "request": self.request,
            "html_email_template_name": self.html_email_template_name,
            "extra_email_context": self.extra_email_context,
        }
        return RedirectThenRun(self.get_success_url(), after=lambda: form.save(**opts))
