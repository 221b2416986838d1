"""Context on every log line: the request id, the user and the deployment being run.

A request gets an id (the caller's X-Request-ID when it is a short safe token, else a new
one), echoed in the response. Jobs bind the deployment they run:

    with logcontext.bind(deployment=deployment.code, user=deployment.owner_id):
        ...

Fields live in a contextvar, so threads and requests never see each other's. The
formatters print a fixed set of fields: never a request body, header or cookie.
"""
import contextvars
import json
import logging
import re
import uuid
from datetime import datetime, timezone

from django.core.signals import request_finished
from django.utils.functional import empty

REQUEST_ID_HEADER = "X-Request-ID"
# Short and plain, so a caller cannot forge log lines or smuggle markup through it.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FIELDS = ("request_id", "user_id", "deployment", "client")

_context = contextvars.ContextVar("herocool_log_context", default={})


class Bound:
    """What bind() returns: undo it with reset(), or use it as a context manager."""

    def __init__(self, token):
        self._token = token

    def reset(self):
        _context.reset(self._token)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reset()


def bind(*, request_id=None, user=None, deployment=None, request=None):
    """Add fields to the context of every log line from here on (in this context)."""
    fields = dict(_context.get())
    for name, value in (("request_id", request_id), ("user_id", user),
                        ("deployment", deployment), ("request", request)):
        if value is not None:
            fields[name] = value if name == "request" else str(value)
    return Bound(_context.set(fields))


def current():
    """The context fields now in force, as strings (the user from a request if known)."""
    fields = _context.get()
    found = {name: fields[name] for name in FIELDS if name in fields}
    request = fields.get("request")
    user_id = _user_id_of(request)
    if user_id is not None and "user_id" not in found:
        found["user_id"] = str(user_id)
    # The client's address, once herocool_project.clientaddr has put it on the request.
    if getattr(request, "client_address", None):
        found["client"] = str(request.client_address)
    return found


def _user_id_of(request):
    # request.user is lazy: read it only once the request has loaded it, so a log line
    # never costs a query (nor fails when the database is down).
    user = getattr(request, "user", None) if request is not None else None
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


def request_id_for(request):
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if SAFE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def request_id_middleware(get_response):
    """Give each request an id, bind it (with the request, for its user) and echo it."""

    def middleware(request):
        request.request_id = request_id_for(request)
        # Set, not reset at the end: Django logs a response's 4xx/5xx after the
        # middleware has returned. Cleared when the response is closed (below).
        _context.set({"request_id": request.request_id, "request": request})
        response = get_response(request)
        response.headers[REQUEST_ID_HEADER] = request.request_id
        return response

    return middleware


def _clear(**kwargs):
    _context.set({})


request_finished.connect(_clear, dispatch_uid="herocool_project.logcontext.clear")


class ContextFilter(logging.Filter):
    """Copies the context fields onto each record (as attributes named in FIELDS)."""

    def filter(self, record):
        fields = current()
        for name in FIELDS:
            setattr(record, name, fields.get(name))
        return True


def _timestamp(record):
    moment = datetime.fromtimestamp(record.created, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`time level logger [req=… user=… dep=… client=…] message`, fields when known."""

    def format(self, record):
        context = " ".join(f"{label}={getattr(record, name)}" for label, name in
                           (("req", "request_id"), ("user", "user_id"),
                            ("dep", "deployment"), ("client", "client"))
                           if getattr(record, name, None))
        line = (f"{_timestamp(record)} {record.levelname} {record.name} "
                f"{'[' + context + '] ' if context else ''}{record.getMessage()}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the same fields as the text format."""

    def format(self, record):
        entry = {"time": _timestamp(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        for name in FIELDS:
            if getattr(record, name, None):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(log_format="text", level="INFO"):
    """Django's LOGGING: everything, Django's and RQ's too, through one handler."""
    if log_format not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                                 "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level},
        # Django's defaults give these handlers of their own (console only with DEBUG,
        # mail to admins): one format for every line instead.
        "loggers": {"django": {"handlers": [], "level": level, "propagate": True},
                    "django.server": {"handlers": [], "propagate": True}},
    }
