"""Cost and expiry on the pages (issue #17): estimates read only the row and settings,
so a list pays no query per row."""
import copy
import functools

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html

from herocool_project.form_renderer import RENDERER
from stacks import budget
from stacks.expiry import ExpiryForm

register = template.Library()


def breakdown(estimate):
    if not estimate.priced:
        return estimate.unpriced
    return "; ".join(f"{line.label}: ${line.usd}" for line in estimate.lines)


@register.simple_tag
def monthly_cost(resource):
    """'$11.88/month', its lines on hover."""
    return _cost_html(resource.monthly_estimate())


@functools.lru_cache(maxsize=256)
def _cost_html(estimate):
    """Rows share a handful of estimates (frozen, so a key): each one is formatted once."""
    return format_html('<span class="monthly-cost" data-usd="{}" title="{}">{}{}</span>',
                       estimate.total, breakdown(estimate), estimate,
                       "/month" if estimate.priced else "")


@register.simple_tag
def countdown(moment):
    """A <time> that static/js/countdown.js turns into "in 1 h 59 min", ticking."""
    if moment is None:
        return ""
    local = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")
    return format_html('<time datetime="{}" data-countdown title="{}">{}</time>',
                       moment.isoformat(), local, local)


@register.simple_tag
def new_estimate(model_path):
    """What a new resource of this kind costs here (a site's does not depend on choices)."""
    from django.apps import apps

    estimate = apps.get_model(model_path).estimate_for(settings.HEROCOOL_TARGET, None)
    return format_html('<span class="monthly-cost" title="{}">{}{}</span>', breakdown(estimate),
                       estimate, "/month" if estimate.priced else "")


@register.inclusion_tag("stacks/cost_change.html")
def cost_change(deployment, resource):
    """A preview's monthly cost before and after its changes, and the difference."""
    before = resource.monthly_estimate()
    changed = copy.copy(resource)
    changed.apply_changes(deployment.params or {})
    after = changed.monthly_estimate()
    diff = after.total - before.total
    return {"before": before, "after": after, "diff": diff, "sign": "+" if diff >= 0 else "−",
            "magnitude": abs(diff), "priced": before.priced and after.priced,
            "over_budget": budget.over_budget(changed, before),
            "planned": bool((deployment.summary or {}).get("plan"))}


@register.inclusion_tag("stacks/budget_standing.html")
def budget_standing(user):
    total, limit, unpriced, warning = budget.standing(user.pk)
    return {"total": total, "budget": limit, "unpriced": unpriced, "warning": warning}


@register.simple_tag
def expiry_form(resource):
    return ExpiryForm(resource=resource, renderer=RENDERER)
