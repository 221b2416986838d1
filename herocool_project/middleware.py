"""The front door (refusals before Django reads a request), security headers Django does
not set itself, and a clear page when the database is down."""
import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from .clientaddr import client_address
from .sizes import exact_bytes

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


def content_security_policy(get_response):
    """Every platform page gets a strict CSP: no inline script, no third-party origin."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    return middleware


class DatabaseUnavailable:
    """A lost database connection becomes a clear 503 page, never a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError
        from django.http import HttpResponse
        from django.template.loader import render_to_string

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database unavailable: %s", exception)
        # Rendered without the request: its context processors would query the database.
        return HttpResponse(render_to_string("503.html"), status=503,
                            headers={"Retry-After": "30"})


def front_door(get_response):
    """First of all middleware: refuse what must never reach Django's own handling.

    - A Host not in ALLOWED_HOSTS gets a plain 400, never the debug page (DEBUG or not).
    - A body larger than its path allows (REQUEST_MAX_BYTES, or REQUEST_MAX_BYTES_SITE_FORM
      on the site pages that take a whole page of HTML) is refused with a 413 before a
      byte of it is read, so nothing is spooled to memory or to a temporary file; so is a
      body without a Content-Length (chunked), whose size cannot be known beforehand.
    - request.client_address is the client's address (behind trusted proxies too).
    """

    def middleware(request):
        try:
            request.get_host()
        except DisallowedHost as exc:
            log.warning("refused: %s", exc)
            return _plain_page("400.html", 400)
        request.client_address = client_address(request)
        refused = _body_refusal(request)
        if refused:
            return refused
        return get_response(request)

    return middleware


def _body_refusal(request):
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length:
        if "HTTP_TRANSFER_ENCODING" not in request.META:
            return None  # no body
        size = None  # chunked: refused everywhere, whatever it would have been
    elif not (length.isascii() and length.isdigit()):
        return _plain_page("400.html", 400)
    else:
        size = int(length)
        if size <= settings.REQUEST_MAX_BYTES:
            return None  # the common case, decided without resolving the URL
    limit = _body_limit(request)
    if size is not None and size <= limit:
        return None
    log.warning("refused a %s body for %s from %s", "chunked" if size is None else
                f"{size} bytes", request.path[:200], request.client_address)
    return _plain_page("413.html", 413, {
        "size": None if size is None else exact_bytes(size), "limit": exact_bytes(limit),
        "site_form": limit == settings.REQUEST_MAX_BYTES_SITE_FORM})


LARGE_BODY_VIEWS = ("sites-create", "sites-update",
                    # The API's site create, update and preview (herocool_project/api_urls.py).
                    "api-sites-list", "api-sites-detail", "api-sites-preview")


def _body_limit(request):
    try:
        name = resolve(request.path_info).url_name
    except Resolver404:
        name = None
    if name in LARGE_BODY_VIEWS:
        return settings.REQUEST_MAX_BYTES_SITE_FORM
    return settings.REQUEST_MAX_BYTES


def _plain_page(template, status, context=None):
    """A page from the template alone: no request, no context processors, no settings."""
    return HttpResponse(render_to_string(template, context or {}), status=status)
