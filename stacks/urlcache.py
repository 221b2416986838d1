"""reverse() for the links of every list row, computed once per route.

A list page links each row to its resource or deployment; `reverse()` walks the URL
resolver for each, which cost more than the rest of the row. These routes take one UUID,
so the URL is the route's prefix (cached per script prefix) and the UUID."""

import uuid
from functools import lru_cache

from django.urls import get_script_prefix, reverse

_MARKER = uuid.UUID(int=0)


@lru_cache(maxsize=32)
def _parts(name, script_prefix):
    url = reverse(name, args=[_MARKER])
    head, marker, tail = url.partition(str(_MARKER))
    if not marker:
        raise ValueError(f"route {name!r} does not end in its UUID")
    return head, tail


def code_url(name, code):
    """reverse(name, args=[code]) for a route taking one UUID, without the resolver."""
    head, tail = _parts(name, get_script_prefix())
    return f"{head}{uuid.UUID(str(code))}{tail}"
