"""Security headers Django does not set itself, and a clear page when the database is down."""
import logging

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
