"""A deployment's page and its live log; the user's activity feed."""
from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes

from . import services
from .keyset import newest_first, page_from_request
from .models import Deployment
from .permissions import DEPLOY, VIEW, may, refusal, visible_to
from .urlcache import code_url

MAX_LOG_OFFSET = 2**62  # past any log's end, and within the offsets' 64-bit column


def deployment_for(request, code, action=VIEW):
    """A deployment of a resource the user sees, or 404; 403 when their role does not
    allow `action` (cancel and apply are DEPLOY), as for the resource itself."""
    dep = get_object_or_404(
        visible_to(request.user, Deployment).select_related("requested_by", "cancelled_by",
                                                            "team"),
        code=code,
    )
    if not may(request.user, action, dep):
        raise PermissionDenied(refusal(action, dep))
    return dep


# A feed row costs about half a millisecond to render (a badge, a time ago, the
# resource's name): 25 to a page keeps the feed within its 50 ms.
FEED_ROWS = 25


class Named(NamedTuple):
    """The feed's view of a resource: its name."""

    name: str


class FeedItem(NamedTuple):
    """A deployment as the feed's item shows it (stacks/templatetags/rows.py
    activity_item reads these attributes, as it reads a Deployment's)."""

    code: object
    action: str
    status: str
    queued_at: object
    stack_name: str
    requested_by: str | None  # the user name, None for the platform
    resource: Named | None  # None when the row is gone
    pk: int  # with queued_at, the key of the page after it (stacks/keyset.py)

    def get_absolute_url(self):
        return code_url("stacks-deployment", self.code)


FEED_COLUMNS = ("code", "action", "status", "queued_at", "stack_name",
                "requested_by__username", "resource_type_id", "resource_id", "pk")


def feed_items(deployments):
    """Feed items of a (sliced) queryset of deployments, read as plain values: no model
    instances, no generic prefetch (the feed's most expensive part, issue #13). One query
    for the rows, one for the names of their resources."""
    rows = list(deployments.values_list(*FEED_COLUMNS))
    names = resource_names({(type_id, resource_id) for *_, type_id, resource_id, _ in rows})
    return [FeedItem(*row[:6], None if (name := names.get(row[6:8])) is None
                     else Named(name), row[8]) for row in rows]


def feed_of(user):
    """The deployments the user sees (theirs and their teams'), newest first."""
    return newest_first(visible_to(user, Deployment), "queued_at")


def latest_for_user(user, count):
    """The user's `count` latest deployments as feed items (the dashboard's)."""
    return feed_items(feed_of(user)[:count])


def resource_names(keys):
    """{(content type id, id): name} of these resources, in one plain-SQL query for
    every kind (a UNION ALL of one indexed lookup by primary key each): the ORM's
    compilation of one query per kind cost more than the rows."""
    wanted = {}
    for type_id, pk in keys:
        wanted.setdefault(type_id, []).append(pk)
    parts, params = [], []
    for type_id, ids in sorted(wanted.items()):
        meta = ContentType.objects.get_for_id(type_id).model_class()._meta
        parts.append(f"SELECT {int(type_id)}, {meta.pk.column}, {meta.get_field('name').column} "
                     f"FROM {meta.db_table} WHERE {meta.pk.column} IN "
                     f"({', '.join(['%s'] * len(ids))})")
        params += ids
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {(type_id, pk): name for type_id, pk, name in cursor.fetchall()}


@login_required
def activity(request):
    """Every deployment of the user's, newest first, 25 to a page, by key
    (`?before=`)."""
    page = page_from_request(request, feed_of(request.user), "queued_at", FEED_ROWS,
                             read=feed_items)
    return render(request, "stacks/activity.html", {"activity": page.rows, "page": page})


@login_required
def deployment(request, code):
    """One deployment: who asked, when, how long, the result and the whole log."""
    dep = deployment_for(request, code)
    log_text, log_next = dep.read_log()
    return render(request, "stacks/deployment.html", {
        "deployment": dep, "resource": dep.resource, "log": log_text, "log_next": log_next,
        "may_deploy": may(request.user, DEPLOY, dep)})


@login_required
def deployment_log(request, code):
    """The log from character `after` on, and the status, for the page to poll: only
    the chunks written since are read."""
    dep = deployment_for(request, code)
    try:
        after = min(max(int(request.GET.get("after", 0)), 0), MAX_LOG_OFFSET)
    except ValueError:
        after = 0
    text, next_after = dep.read_log(after)
    return JsonResponse({
        "status": dep.status,
        "text": text,
        "next": next_after,
        "active": dep.is_active,
        "started_at": dep.started_at.isoformat() if dep.started_at else None,
        "finished_at": dep.finished_at.isoformat() if dep.finished_at else None,
    })


@login_required
@limit_changes
@require_POST
def cancel(request, code):
    """Cancel a queued or running deployment."""
    dep = deployment_for(request, code, DEPLOY)
    try:
        services.cancel(dep, request.user)
        messages.info(request, dep.cancel_note)
    except services.DeploymentRefused as exc:
        messages.error(request, str(exc))
    return redirect(dep)


@login_required
@limit_changes
@require_POST
def apply_preview(request, code):
    """Deploy the changes a preview showed."""
    preview = deployment_for(request, code, DEPLOY)
    try:
        deployment = services.apply_preview(preview, request.user)
    except services.DeploymentRefused as exc:
        messages.error(request, str(exc))
        return redirect(preview)
    messages.success(request, "Deploying the previewed changes.")
    if getattr(deployment, "budget_warning", ""):  # issue #17: near the budget
        messages.warning(request, deployment.budget_warning)
    return redirect(deployment.resource)
