"""Fixed-window rate limits kept in Redis, so every web process shares the counts."""
import functools
import logging

from django.conf import settings
from django.shortcuts import render

log = logging.getLogger(__name__)


def _parse(rule):
    count, seconds = rule.split("/")
    return int(count), int(seconds)


def allow(scope, key, rule):
    """Count one hit of `key` in `scope`; False once the rule's count is exceeded."""
    from herocool_project import redisconn

    limit, window = _parse(rule)
    name = f"herocool:rate:{scope}:{key}"
    try:
        conn = redisconn.connection()
        pipe = conn.pipeline()
        pipe.incr(name)
        pipe.expire(name, window, nx=True)
        hits = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - Redis down: the queue errors say so; don't lock users out
        log.warning("rate limit %s not checked: Redis unavailable", scope)
        return True
    return hits <= limit


def refused(request, what, rule):
    limit, window = _parse(rule)
    return render(request, "ratelimited.html",
                  {"what": what, "limit": limit, "window": window}, status=429)


def limit_changes(view):
    """Refuse a user's POSTs past HEROCOOL_RATE_CHANGES (create, update, delete...)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        rule = settings.RATE_LIMIT_CHANGES
        if request.method == "POST" and request.user.is_authenticated:
            if not allow("changes", request.user.pk, rule):
                return refused(request, "changes", rule)
        return view(request, *args, **kwargs)

    return wrapped
