"""Tags every list row uses, written in Python: a row of a list page used to pay for an
`{% include %}`, Django's `timesince` and a `reverse()` per link, and those were most
of a page's cost under load (BENCHMARKS.md §5)."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

BUSY = frozenset(("pending", "provisioning", "updating", "deleting", "queued", "running",
                  "cancelling"))


@register.simple_tag
def status_badge(status):
    """The badge of a resource's or a deployment's state (`data-busy` makes the page
    watch it: static/js/watch.js)."""
    return format_html('<span class="badge status status-{0}" data-status="{0}"{1}>{0}</span>',
                       status, " data-busy" if status in BUSY else "")


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
    local = timezone.localtime(moment)
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(),
                       local.strftime("%Y-%m-%d %H:%M:%S %Z"), ago(moment))
