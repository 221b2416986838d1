"""Times in the user's own time zone: static/js/head.js puts the browser's zone (an
IANA name from the Intl API) in the `tz` cookie; this middleware activates it for the
request, so `{{ t|when }}` and the admin write local times. An unknown or missing zone
leaves the server's (UTC), which the times name."""
from functools import lru_cache
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.utils import timezone

COOKIE = "tz"


@lru_cache(maxsize=256)
def zone_named(name):
    """The zone of that IANA name, or None; cached, as names repeat on every request."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None  # ZoneInfo reads a file of that name: nothing path-like
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def user_time_zone(get_response):
    def middleware(request):
        zone = zone_named(unquote(request.COOKIES.get(COOKIE, "")))
        if zone is None:
            return get_response(request)
        with timezone.override(zone):
            return get_response(request)

    return middleware
