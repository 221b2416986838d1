"""Two-factor pages (issue #18): the code step of sign-in, enrolment, recovery codes,
turning it off. See accounts/twofactor.py for how sign-in is split in two."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from herocool_project.ratelimit import allow, limit_changes, refused

from . import twofactor
from .account_forms import CodeForm, PasswordConfirmForm


@never_cache
def verify(request):
    """Sign-in's second step: a code from the authenticator, or a recovery code."""
    user, next_url = twofactor.pending_login(request)
    if user is None:
        return redirect("accounts-login")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if not allow("2fa", user.pk, settings.RATE_LIMIT_LOGIN):
            return refused(request, "codes", settings.RATE_LIMIT_LOGIN)
        if form.is_valid():
            device, wait = twofactor.verify_code(user, form.cleaned_data["code"])
            if wait:
                form.add_error("code", f"Too many wrong codes: wait {wait} s, then try "
                                       "again.")
            elif device is not None:
                twofactor.finish_login(request, user, device)
                if device.name == "Recovery codes":
                    messages.warning(request, f"Recovery code used: "
                                     f"{twofactor.recovery_codes_left(user)} left.")
                return redirect(next_url)
            else:
                form.add_error("code", "That code is not right (or was used already).")
    return render(request, "accounts/2fa_verify.html", {"form": form})


@never_cache
@login_required
@limit_changes
def setup(request):
    """Enrol: scan the secret, confirm with a first code; then the recovery codes, once."""
    user = request.user
    if twofactor.is_enrolled(user):
        return render(request, "accounts/2fa.html", {
            "enrolled": True, "codes_left": twofactor.recovery_codes_left(user),
            "disable_form": PasswordConfirmForm(user=user)})
    device = twofactor.unconfirmed_authenticator(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and device is not None and form.is_valid():
        if twofactor.confirm(device, form.cleaned_data["code"]):
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is on.")
            return _show_codes(request, twofactor.new_recovery_codes(user))
        form.add_error("code", "That code is not right: check the time on your phone.")
    if device is None or request.method == "GET":
        device = twofactor.new_authenticator(user)
    return render(request, "accounts/2fa.html", {
        "enrolled": False, "form": form, "secret": twofactor.secret_text(device),
        "qr": twofactor.qr_data_uri(device),
        "required": twofactor.required_for(user)})


@never_cache
@login_required
@require_POST
@limit_changes
def recovery_codes(request):
    """New recovery codes (the old ones stop working), shown this once."""
    if not twofactor.is_enrolled(request.user):
        return redirect("accounts-2fa")
    return _show_codes(request, twofactor.new_recovery_codes(request.user))


@login_required
@require_POST
@limit_changes
def disable(request):
    """Turn two-factor off, with the password; not when the operator requires it."""
    user = request.user
    form = PasswordConfirmForm(request.POST, user=user)
    if twofactor.required_for(user):
        messages.error(request, "Two-factor authentication is required on this platform.")
    elif form.is_valid():
        twofactor.disable(user)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts-account")
    else:
        messages.error(request, "Two-factor authentication stays on: wrong password.")
    return redirect("accounts-2fa")


def _show_codes(request, codes):
    """The codes, once (the views are never_cache: no copy stays in a cache)."""
    return render(request, "accounts/2fa_codes.html", {"codes": codes})
