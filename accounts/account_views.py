"""The Account page (issue #18) and what it links: saved SSH keys, signed-in sessions,
leaving. Every object is the user's own: a stranger's key or session is a 404."""
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes

from . import leaving, sessions, twofactor
from .account_forms import LeaveForm, SshKeyForm
from .account_models import Profile, SshKey


@login_required
def account(request):
    """Address, password, two-factor, keys, sessions, tokens, notifications, leaving."""
    user = request.user
    return render(request, "accounts/account.html", {
        "email_verified": Profile.email_is_verified(user),
        "enrolled": twofactor.is_enrolled(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "keys": list(user.ssh_keys.all()),
        "sessions": list(sessions.active(user)),
        "current_session": request.session.session_key,
    })


@login_required
@limit_changes
def ssh_keys(request):
    """The saved keys, and the form for a new one."""
    form = SshKeyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        key = form.save()
        messages.success(request, f"Key {key.name} saved ({key.fingerprint}).")
        return redirect("accounts-keys")
    return render(request, "accounts/ssh_keys.html",
                  {"form": form, "keys": list(request.user.ssh_keys.all())})


@login_required
@require_POST
@limit_changes
def ssh_key_delete(request, code):
    """Forget a saved key; machines made with it keep their own copy."""
    key = get_object_or_404(SshKey, code=code, user=request.user)
    key.delete()
    messages.success(request, f"Key {key.name} removed. Machines already using it keep it.")
    return redirect("accounts-keys")


@login_required
@require_POST
@limit_changes
def end_other_sessions(request):
    ended = sessions.end(request.user, keep=request.session.session_key)
    messages.success(request, f"{ended} other session(s) ended.")
    return redirect("accounts-account")


@login_required
@require_POST
@limit_changes
def end_session(request, code):
    if not sessions.end_one(request.user, code, keep=request.session.session_key):
        raise Http404
    messages.success(request, "Session ended.")
    return redirect("accounts-account")


@login_required
@limit_changes
def leave(request):
    """Delete my account: password and username again; resources destroyed first."""
    form = LeaveForm(request.POST or None, user=request.user)
    if reason := leaving.refusal(request.user):
        messages.error(request, reason)
        return render(request, "accounts/leave.html", {"form": form, "refused": reason})
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        leaving.leave(user)
        messages.success(request, "Your account is being deleted: your sites and machines "
                                  "are being destroyed, then your data is removed.")
        return redirect("accounts-login")
    return render(request, "accounts/leave.html", {"form": form})
