"""The second factor's gate, after django-otp's OTPMiddleware: a signed-in enrolled
user whose session was not verified by a code (a session older than the enrolment) is
signed out; a user the operator's HEROCOOL_REQUIRE_2FA covers, not enrolled yet, is sent
to enrol before anything else (the API says so in JSON)."""
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import twofactor

# Where an unenrolled user the policy covers may still go.
ENROL_PATHS = ("accounts-2fa", "accounts-logout")


def second_factor_gate(get_response):
    def middleware(request):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return get_response(request)
        if twofactor.is_enrolled(user):
            logout(request)
            return redirect("accounts-login")
        if twofactor.required_for(user) and not _enrolling(request.path):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Two-factor authentication is required: "
                                     "set it up on the Account page.", "errors": {}},
                                    status=403)
            return redirect("accounts-2fa")
        return get_response(request)

    return middleware


def _enrolling(path):
    return path in {reverse(name) for name in ENROL_PATHS} or path.startswith("/static/")
