"""Address verification, password change and password reset (issue #18), through
Django's own views and token generator: a reset link works once (the token hashes the
password it replaces) and for PASSWORD_RESET_TIMEOUT seconds; resets are asked within
the login limits."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from herocool_project.clientaddr import client_address
from herocool_project.ratelimit import allow, limit_changes, refused

from . import email_verification, loginlimits, sessions
from .account_forms import ResetForm


def verify_email(request):
    """The link from the verification email (no login needed: the link is signed)."""
    user = email_verification.verify(request.GET.get("t", ""))
    if user is None:
        messages.error(request, "This confirmation link is invalid or has expired, or the "
                                "address has changed since. Ask for a new one on your "
                                "Account page.")
    else:
        messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect("accounts-account" if request.user.is_authenticated else "accounts-login")


@login_required
@require_POST
@limit_changes
def resend_verification(request):
    if email_verification.send(request.user):
        messages.info(request, f"A confirmation link is on its way to {request.user.email}.")
    else:
        messages.warning(request, "The confirmation link could not be sent; try again later.")
    return redirect("accounts-account")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; every other session of the user ends with it."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts-account")

    def form_valid(self, form):
        before = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session, under a new key
        sessions.rekey(before, self.request.session.session_key)
        ended = sessions.end(self.request.user, keep=self.request.session.session_key)
        messages.success(self.request, f"Password changed; {ended} other session(s) ended.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link: limited per address like logins, and per address asked for."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    form_class = ResetForm
    success_url = reverse_lazy("accounts-password-reset-done")

    def post(self, request, *args, **kwargs):
        rule = settings.RATE_LIMIT_LOGIN
        if not allow("login-ip", client_address(request), settings.RATE_LIMIT_LOGIN_ADDRESS):
            return refused(request, "requests from your address",
                           settings.RATE_LIMIT_LOGIN_ADDRESS)
        if not allow("reset-email", loginlimits.name_key(request.POST.get("email", "")), rule):
            return refused(request, "reset requests for this address", rule)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        # Links start with the configured address, never the request's Host header.
        self.extra_email_context = {"base_url": settings.HEROCOOL_BASE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from the link; the user's sessions all end (the old password's
    sessions are void anyway: Django checks the password's hash in each)."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts-password-reset-complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        sessions.end(form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
