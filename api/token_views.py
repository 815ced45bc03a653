"""The "API access" page: a signed-in user creates, replaces or revokes their API token.

The key is shown once, in the response to the request that created it (never stored in a
message or the session, never shown again): whoever loses it creates a new one.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .selectors import token_get
from .services import token_create, token_revoke


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_page(request):
    new_key = None
    if request.method == "POST":
        new_key = token_create(user=request.user).key
    context = {"token": token_get(user=request.user), "new_key": new_key}
    return render(request, "api/token.html", context)


@login_required
@require_POST
def token_revoke_view(request):
    if token_revoke(user=request.user):
        messages.success(request, "Your API token was revoked; requests using it now fail.")
    else:
        messages.info(request, "You had no API token.")
    return redirect("api:token")
