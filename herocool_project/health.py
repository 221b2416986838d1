"""Health endpoints for load balancers and monitors.

`/healthz`: the process answers (nothing else is touched). `/readyz`: the database,
Redis, the Pulumi CLI and (local target) the sites origin all answer: 200 or 503.
Strangers get "ok" or "unavailable" and the names of failing checks; staff get each
check's detail. Probes come from load balancers that send the backend's address as
Host and carry no cookie, so `probe_middleware` answers them before Django's host check
and the TLS redirect (the answer holds nothing a Host header could poison).
"""
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import resolve
from django.views.decorators.http import require_safe

from . import metrics

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def check_redis():
    import django_rq

    conn = django_rq.get_connection("default")  # a new client: its timeouts are ours
    conn.connection_pool.connection_kwargs.update(
        socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        conn.ping()
    finally:
        conn.close()
    return "pong"


def check_engine_cli():
    """The CLI exists and is executable (cheap: `pulumi version` runs in no probe)."""
    from stacks import engine

    root = engine.cli_root()
    cli = str(Path(root) / "bin" / "pulumi") if root else shutil.which("pulumi")
    if not cli or not os.path.isfile(cli) or not os.access(cli, os.X_OK):
        raise FileNotFoundError(f"no executable Pulumi CLI at {cli or 'PATH'}")
    return cli


def check_sites_origin():
    url = f"http://127.0.0.1:{settings.SITES_PORT}/"
    try:
        urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError:
        pass  # any HTTP answer means the origin is up (unknown hosts get 404)
    return url


def checks():
    """The readiness checks that apply to this installation, by name."""
    found = {"database": check_database, "redis": check_redis,
             "engine_cli": check_engine_cli}
    if settings.HEROCOOL_TARGET == "local":
        found["sites_origin"] = check_sites_origin
    return found


def readiness():
    """{name: {"ok", "ms", "detail"}} for every check; a failure's detail is its error."""
    results = {}
    for name, check in checks().items():
        started = time.monotonic()
        try:
            ok, detail = True, check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        results[name] = {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1),
                         "detail": detail}
    return results


@require_safe
def live(request):
    """The process answers: no database, no Redis, no session."""
    return _no_store(HttpResponse("ok\n", content_type="text/plain"))


@require_safe
def ready(request):
    """200 when every check passes, else 503; details for staff only."""
    results = readiness()
    failing = [name for name, result in results.items() if not result["ok"]]
    status = 503 if failing else 200
    if failing:
        log.warning("not ready: %s", "; ".join(
            f"{name}: {results[name]['detail']}" for name in failing))
    user = getattr(request, "user", None)  # absent when answered by probe_middleware
    if user is not None and user.is_active and user.is_staff:
        return _no_store(JsonResponse({"ready": not failing, "checks": results},
                                      status=status))
    text = "unavailable: " + ", ".join(failing) if failing else "ok"
    return _no_store(HttpResponse(text + "\n", status=status, content_type="text/plain"))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    # Logged above with its reasons: not again as a bare "Service Unavailable" error
    # (Django's request logger skips responses marked so).
    response._has_been_logged = True
    return response


def probe_middleware(get_response):
    """Answer machines' requests for the operator endpoints before any other middleware.

    /healthz always; /readyz and /metrics when no session cookie comes with them (a
    browser's request takes the usual way, where staff are recognised).
    """
    views = {"/healthz": live, "/readyz": ready, "/metrics": metrics.endpoint}

    def middleware(request):
        view = views.get(request.path_info)
        if view is None or (view is not live and
                            settings.SESSION_COOKIE_NAME in request.COOKIES):
            return get_response(request)
        request.resolver_match = resolve(request.path_info)  # for the latency metric
        response = view(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return middleware
