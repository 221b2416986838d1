"""The account's personal access tokens: make one (shown once), list them, revoke."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes

from .forms import TokenForm


@never_cache  # the page that shows a new token must not be kept by the browser
@login_required
@limit_changes
def tokens(request):
    """The user's tokens, newest first, and the form for a new one. A token just made is
    shown on the page this once: it is stored only as a hash."""
    form = TokenForm(request.POST or None, user=request.user)
    made = None
    if request.method == "POST" and form.is_valid():
        token, text = form.save()
        made = {"token": token, "text": text}
        form = TokenForm(user=request.user)
    return render(request, "accounts/tokens.html", {
        "form": form, "made": made,
        "tokens": request.user.tokens.all()})


@login_required
@limit_changes
@require_POST
def revoke(request, code):
    """Revoke one of the user's tokens at once: the API refuses it from now on."""
    token = get_object_or_404(request.user.tokens, code=code)
    if token.revoke():
        messages.success(request, f"Token {token.name} revoked.")
    else:
        messages.info(request, f"Token {token.name} was already revoked.")
    return redirect("accounts-tokens")
