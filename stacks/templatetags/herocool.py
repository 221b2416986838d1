"""Tags every list row uses, written in Python: a row of a list page used to pay for an
`{% include %}`, Django's `timesince` and a `reverse()` per link, and those were most
of a page's cost under load (BENCHMARKS.md §5)."""

from datetime import datetime
from functools import lru_cache
from html import escape

from django import template
from django.core.signals import setting_changed
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def route(name):
    """{% url name %} for a route without arguments, worked out once per script prefix:
    base.html names ten of them on every page (issues #11, #13)."""
    return _route(name, get_script_prefix())


@lru_cache(maxsize=64)
def _route(name, _script_prefix):
    return reverse(name)


@register.simple_tag
def asset(path):
    """{% static path %}, the hashed file's URL looked up once per process."""
    return _asset(path)


@lru_cache(maxsize=64)
def _asset(path):
    return static(path)


@register.simple_tag
def form_fields(form):
    """Every field of `form` with its label, help and errors (what templates/form_fields.html
    includes), rendered by the forms' Jinja2 engine."""
    from herocool_project.form_renderer import RENDERER

    return mark_safe(RENDERER.render("herocool/form_fields.html", {"form": form}))


def _forget_urls(**kwargs):
    _route.cache_clear()
    _asset.cache_clear()


setting_changed.connect(_forget_urls)

BUSY = frozenset(("pending", "provisioning", "updating", "deleting", "queued", "running",
                  "cancelling"))


@register.simple_tag
def status_badge(status):
    """The badge of a resource's or a deployment's state (`data-busy` makes the page
    watch it: static/js/watch.js)."""
    # What format_html() writes, without its lazy-string checks: these run for every row.
    status = escape(str(status))
    busy = " data-busy" if status in BUSY else ""
    return mark_safe(f'<span class="badge status status-{status}" data-status="{status}"{busy}>'
                     f'{status}</span>')


UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
         (3600, "hour"), (60, "minute"))


def ago(moment, now=None):
    """'3 minutes ago', 'just now', 'in 2 hours': the largest whole unit, as people say it."""
    seconds = int(((now or timezone.now()) - moment).total_seconds())
    span = abs(seconds)
    if span < 60:
        return "just now"
    for size, unit in UNITS:
        if span >= size:
            count = span // size
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "just now"  # not reached: the loop ends at minutes


@register.filter
def when(moment):
    """A time as people read it in a list ('5 minutes ago') with the exact time, with its
    zone, on hover and in the `datetime` attribute for scripts and screen readers."""
    if not isinstance(moment, datetime):
        return ""
    local = escape(timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z"))
    return mark_safe(f'<time datetime="{escape(moment.isoformat())}" title="{local}">'
                     f'{escape(ago(moment))}</time>')


# Each action as a sentence's subject, with its article ("An update", never "A update").
ACTION_NOUNS = {"create": "The first deployment", "update": "An update",
                "destroy": "The deletion", "refresh": "A drift check", "preview": "A preview"}
STATE_WORDS = {"queued": "is queued: waiting for a worker", "running": "is running",
               "cancelling": "is being cancelled"}


@register.filter
def in_progress(deployment):
    """'An update is queued: waiting for a worker', for a banner about a deployment."""
    noun = ACTION_NOUNS.get(deployment.action, f"A {deployment.action}")
    return f"{noun} {STATE_WORDS.get(deployment.status, 'is ' + deployment.status)}"


def span(seconds):
    """'4.2 s', '3 min 05 s', '1 h 02 min': a duration as the deployment page shows it
    (static/js/deployment.js writes the same while it ticks)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@register.filter
def elapsed(deployment):
    """How long it took, or has been running, or has waited for a worker."""
    if deployment.started_at:
        end = deployment.finished_at or timezone.now()
        so_far = "" if deployment.finished_at else " so far"
        return span((end - deployment.started_at).total_seconds()) + so_far
    if deployment.is_active:
        waited = (timezone.now() - deployment.queued_at).total_seconds()
        return f"not started: waiting for a worker for {span(waited)}"
    return "it never ran"
