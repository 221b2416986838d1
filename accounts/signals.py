"""Login results feed the per-name back-off, for every login form (site and admin)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from . import loginlimits


@receiver(user_login_failed)
def count_failure(sender, credentials, **kwargs):
    loginlimits.failed(str(credentials.get(get_user_model().USERNAME_FIELD, "")))


@receiver(user_logged_in)
def forget_failures(sender, user, **kwargs):
    loginlimits.succeeded(user.get_username())


# Issue #18: each login's session is recorded, for the Account page's list.
from django.contrib.auth.signals import user_logged_out  # noqa: E402

from . import sessions  # noqa: E402


@receiver(user_logged_in)
def record_session(sender, request, user, **kwargs):
    sessions.record(request, user)


@receiver(user_logged_out)
def forget_session(sender, request, user, **kwargs):
    if user is not None and request.session.session_key:
        user.login_sessions.filter(session_key=request.session.session_key).delete()
