"""A user's signed-in sessions (Django's database sessions), as the Account page lists
them: each login records its session key, address and browser (LoginSession), and ending
a session deletes Django's row, which signs that browser out on its next request."""
from django.contrib.sessions.models import Session
from django.utils import timezone

from herocool_project.clientaddr import client_address

from .account_models import LoginSession


def record(request, user):
    """Note the session a login just made (from the user_logged_in signal)."""
    if request is None or not getattr(request, "session", None):
        return
    if request.session.session_key is None:
        request.session.save()
    LoginSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={"user": user, "address": client_address(request),
                  "user_agent": request.headers.get("User-Agent", "")[:300]})
    # The records of the user's sessions that expired or were cleared go meanwhile.
    LoginSession.objects.filter(user=user).exclude(
        session_key__in=Session.objects.values("session_key")).delete()


def rekey(old, new):
    """The session's key changed (Django cycles it on a password change): follow it."""
    LoginSession.objects.filter(session_key=old).update(session_key=new)


def active(user):
    """The user's recorded sessions that still exist and have not expired."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return LoginSession.objects.filter(user=user, session_key__in=live)


def end(user, keep=None):
    """End the user's sessions, all or all but `keep` (a session key); how many ended."""
    rows = LoginSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)


def end_one(user, code, keep):
    """End one of the user's sessions, by its code (never `keep`, the current one)."""
    row = LoginSession.objects.filter(user=user, code=code).exclude(session_key=keep).first()
    if row is None:
        return False
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()
    return True
