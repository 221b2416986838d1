"""List rows written in Python (issues #11, #13): a site row through the template engine
cost ~375 Python calls (a variable lookup, an escape and a node per cell); the same markup
built here costs a tenth. The rows' markup lives here; the table or list around them stays in
templates/sites/table.html and templates/stacks/activity_list.html."""
from html import escape

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import mark_safe

from .cost import countdown, monthly_cost
from .herocool import status_badge, when

register = template.Library()

UNREACHABLE = (' <span class="badge text-bg-danger" data-unreachable title="The machine it '
               'lives on has stopped answering">host unreachable</span>')


def team_badge(resource):
    """The team a resource belongs to, beside its name (nothing for a personal one)."""
    if resource.team_id is None:
        return ""
    return (' <span class="badge text-bg-light border" title="Team">'
            f"{escape(resource.team.name)}</span>")


@register.simple_tag
def site_row(site):
    """One <tr> of the sites table: name, status, URL, last change, monthly cost."""
    url = escape(site.website_url)
    link = (f'<a href="{url}" rel="noopener noreferrer" target="_blank">{url}</a>'
            if url else "")
    expires = (f' <span class="text-body-secondary">expires {countdown(site.expires_at)}</span>'
               if site.expires_at else "")
    return mark_safe(
        "<tr>\n"
        f'    <td><a href="{escape(site.get_absolute_url())}">{escape(site.name)}</a>'
        f"{team_badge(site)}</td>\n"
        f"    <td>{status_badge(site.status)}"
        f"{UNREACHABLE if getattr(site, 'host_unreachable', False) else ''}</td>\n"
        f'    <td class="text-nowrap">{link}</td>\n'
        f'    <td class="text-body-secondary small text-nowrap">{when(site.updated)}</td>\n'
        f'    <td class="small">{monthly_cost(site)}{expires}</td>\n'
        "  </tr>")


@register.simple_tag
def activity_item(deployment):
    """One <li> of the activity feed: what was done to which resource, its state, when and
    by whom."""
    d = deployment
    resource = d.resource
    name = (getattr(resource, "name", "") if resource is not None else "") or d.stack_name
    by = d.requested_by or "the platform"
    return mark_safe(
        '<li class="list-group-item">\n'
        f'    <a href="{escape(d.get_absolute_url())}">{escape(str(d.action))} '
        f"{escape(str(name))}</a>\n"
        f"    {status_badge(d.status)}\n"
        f'    <div class="small text-body-secondary">{when(d.queued_at)} by '
        f"{escape(str(by))}</div>\n"
        "  </li>")


@register.simple_tag
def activity_items(deployments):
    """Every <li> of the feed in one tag, spaced as the template's loop spaced them: a
    tag per row cost more than the row (issue #13)."""
    return mark_safe("".join(f"\n  {activity_item(d)}\n  " for d in deployments))


@register.simple_tag
def history_row(deployment):
    """One <tr> of a resource's deployments: action, result, who asked, when, how long."""
    d = deployment
    duration = d.duration
    took = f"{floatformat(duration.total_seconds(), 1)} s" if duration else ""
    return mark_safe(
        "<tr>\n"
        f'    <td><a href="{escape(d.get_absolute_url())}">{escape(str(d.action))}</a></td>\n'
        f"    <td>{status_badge(d.status)}</td>\n"
        f"    <td>{escape(str(d.requested_by or 'the platform'))}</td>\n"
        f'    <td class="text-nowrap">{when(d.queued_at)}</td>\n'
        f'    <td class="text-nowrap">{took}</td>\n'
        "  </tr>")
