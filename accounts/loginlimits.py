"""How logins are limited, the same for the site's login and the admin's.

Three limits, none of which locks an owner out of their account:
- per address (any names): one address cannot try many names;
- per name and address: one address cannot hammer one name;
- per name from anywhere, a back-off: after LOGIN_BACKOFF_AFTER failures in a row each
  further attempt waits twice as long as the last (1, 2, 4... s, at most
  LOGIN_BACKOFF_MAX s). It slows a distributed guesser to one try per few seconds, and
  the owner waits at most those few seconds: never a lock-out.
Names are counted as Django reads them (stripped, NFKC) and casefolded, so look-alike
spellings (full-width or mathematical letters, other cases) count against one name.
"""
import hashlib
import logging
import math
import unicodedata

from django.conf import settings
from django.shortcuts import render

from herocool_project.clientaddr import client_address
from herocool_project.ratelimit import allow, refused

log = logging.getLogger(__name__)

FORGET_FAILURES_AFTER = 15 * 60  # seconds without a failure before a name starts afresh


def name_key(raw):
    """One key for every spelling Django would log in as the same user (hashed: any
    length and character stays a short, safe Redis key)."""
    name = unicodedata.normalize("NFKC", raw[:1000]).strip()
    name = unicodedata.normalize("NFKC", name.casefold())
    return hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:32]


def refusal(request):
    """None when this login attempt may go ahead; else the page saying why and when."""
    address = client_address(request)
    name = name_key(request.POST.get("username", ""))
    by_address = settings.RATE_LIMIT_LOGIN_ADDRESS
    if not allow("login-ip", address, by_address):
        return refused(request, "login attempts from your address", by_address)
    if not allow("login-name-ip", f"{name}:{address}", settings.RATE_LIMIT_LOGIN):
        return refused(request, "login attempts", settings.RATE_LIMIT_LOGIN)
    wait = _backoff_wait(name)
    if wait:
        response = render(request, "ratelimited.html",
                          {"what": "failed logins for this name", "retry_after": wait},
                          status=429)
        response["Retry-After"] = str(wait)
        return response
    return None


def failed(raw_name):
    """Count a wrong password for this name (from the user_login_failed signal)."""
    key = f"herocool:rate:login-failures:{name_key(raw_name)}"
    _redis(lambda conn: conn.pipeline().incr(key).expire(key, FORGET_FAILURES_AFTER)
           .execute())


def succeeded(raw_name):
    """The right password: the name's back-off starts afresh."""
    name = name_key(raw_name)
    _redis(lambda conn: conn.delete(f"herocool:rate:login-failures:{name}",
                                    f"herocool:rate:login-turn:{name}"))


def _backoff_wait(name):
    """Seconds before the name may be tried (0: now, and this attempt takes the turn)."""

    def wait(conn):
        failures = int(conn.get(f"herocool:rate:login-failures:{name}") or 0)
        over = failures - settings.LOGIN_BACKOFF_AFTER
        if over < 0:
            return 0
        seconds = min(2 ** min(over, 30), settings.LOGIN_BACKOFF_MAX)
        turn = f"herocool:rate:login-turn:{name}"
        if conn.set(turn, 1, nx=True, px=int(seconds * 1000)):
            return 0
        return max(1, math.ceil(conn.pttl(turn) / 1000))

    return _redis(wait) or 0


def _redis(work):
    from herocool_project import redisconn

    try:
        return work(redisconn.connection())
    except Exception:  # noqa: BLE001 - Redis down: fail open, as allow() does
        log.warning("login back-off not applied: Redis unavailable")
        return None
