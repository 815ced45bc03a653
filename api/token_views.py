"""The "API access" page: a signed-in user names, creates, lists and revokes API tokens.

A key is shown once, in the response to the request that created it (never stored in a
message, the session or the database, where only its digest is kept): whoever loses it creates
a new one.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .forms import TokenCreateForm
from .selectors import token_list
from .services import token_create, token_revoke, token_revoke_all


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_page(request):
    new_key = None
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = TokenCreateForm()
    context = {"tokens": token_list(user=request.user), "new_key": new_key, "form": form}
    return render(request, "api/token.html", context)


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    if token_revoke(user=request.user, pk=pk):
        messages.success(request, "The token was revoked; requests using it now fail.")
    else:
        messages.info(request, "No such token.")
    return redirect("api:token")


@login_required
@require_POST
def token_revoke_all_view(request):
    if count := token_revoke_all(user=request.user):
        messages.success(request, f"Revoked {count} token(s); requests using them now fail.")
    else:
        messages.info(request, "You had no API token.")
    return redirect("api:token")
