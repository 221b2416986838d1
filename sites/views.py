"""Static site pages. Lists and details read the database only, never the engine."""
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project import ratelimit, redisconn
from herocool_project.ratelimit import limit_changes
from stacks import resource_views as rv
from stacks.expiry_views import expiry_view
from stacks.models import Deployment
from stacks.services import DeploymentRefused, request_deployment

from . import domains, releases
from .forms import SiteContentForm, SiteCreateForm
from .models import Site

log = logging.getLogger(__name__)
Action = Deployment.Action
# Columns the release list never shows (a release's file list can be thousands long).
LIST_DEFERRED = ("files", "content")


index = rv.index_view(Site, "sites/index.html", "sites")
create = rv.create_view(SiteCreateForm, "sites/create.html",
                        "Deploying {name}: it will be live shortly.")


@login_required
def detail(request, code):
    """A site's status, URL, releases and deployment history."""
    site = rv.resource_for(request, Site, code, rv.VIEW)
    kept = list(site.releases.select_related("created_by").defer(*LIST_DEFERRED)[:50])
    for release, older in zip(kept, kept[1:]):
        release.previous = older.number  # its "Changes" compare with this one
    return render(request, "sites/detail.html",
                  {"site": site, "releases": kept, "live": releases.live_release(site),
                   "domains": site.domains.all(),
                   **rv.detail_context(request, site)})


@login_required
@limit_changes
@require_POST
def rollback(request, code):
    """Publish an earlier release (POST `release`: its number) again: an ordinary update
    deployment, with its log."""
    site = rv.resource_for(request, Site, code, rv.DEPLOY)
    number = _number(request.POST.get("release"))
    release = get_object_or_404(site.releases, number=number)
    try:
        deployment = releases.roll_back(site, release, request.user)
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
        return redirect(site)
    rv.say_done(request, deployment, f"Rolling {site.name} back to v{number}.")
    return redirect(site)


@login_required
def release_diff(request, code):
    """The files added, removed and changed from release `?from=` to release `?to=`."""
    site = rv.resource_for(request, Site, code, rv.VIEW)
    older = get_object_or_404(site.releases, number=_number(request.GET.get("from")))
    newer = get_object_or_404(site.releases, number=_number(request.GET.get("to")))
    added, removed, changed = releases.diff(older, newer)
    return render(request, "sites/release_diff.html", {
        "site": site, "older": older, "newer": newer, "added": added,
        "removed": removed, "changed": changed})


def _domain_view(act):
    """A POST-only view doing `act(request, site, name)` for the user's site; a refusal
    is shown on the site's page."""

    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        site = rv.resource_for(request, Site, code, rv.DEPLOY)
        if site.is_deleted or site.target != "local":
            messages.error(request, "Custom domains are for live sites on this platform.")
            return redirect(site)
        try:
            act(request, site, request.POST.get("domain", "")[:300])
        except (domains.DomainError, DeploymentRefused) as exc:
            messages.error(request, str(exc))
        return redirect(site)

    view.__doc__ = act.__doc__
    return view


def _add_domain(request, site, name):
    """Claim a domain for the site; the page then shows the TXT record to publish."""
    claim = domains.add(site, name)
    messages.info(request, f"Add the TXT record below for {claim.name}, then verify it.")


def _verify_domain(request, site, name):
    """Queue a check of the domain's TXT record (a job: the DNS query can take seconds);
    the job publishes the domain with a deployment once it is verified."""
    claim = get_object_or_404(site.domains, name=name)
    if claim.verified_at is not None:
        messages.info(request, f"{claim.name} is verified already.")
        return
    rule = settings.RATE_LIMIT_DOMAIN_CHECKS
    if not ratelimit.allow("domain-check", request.user.pk, rule):
        count, seconds = rule.split("/")
        messages.error(request, f"You may check domains {count} times in {seconds} "
                       "seconds; wait a little, DNS changes take minutes to show anyway.")
        return
    if not claim.queue_check():
        messages.info(request, f"A check of {claim.name} is under way.")
        return
    try:
        redisconn.queue("default").enqueue(domains.check_domain, claim.pk, request.user.pk,
                                           job_timeout=60, result_ttl=600)
    except Exception:  # noqa: BLE001 - Redis down: say so; the user may check again
        log.exception("could not enqueue the check of %s", claim.name)
        type(claim).objects.filter(pk=claim.pk).update(check_queued_at=None)
        messages.error(request, "The job queue is unavailable right now; check again in "
                       "a minute.")
        return
    messages.info(request, f"Checking the TXT record of {claim.name}…")


def _remove_domain(request, site, name):
    """Drop the domain; a verified one is unpublished by a deployment."""
    claim = get_object_or_404(site.domains, name=name)
    with transaction.atomic():
        claim.delete()
        if claim.verified_at is not None:
            deployment = request_deployment(site, Action.UPDATE, request.user, params={})
            rv.say_done(request, deployment, f"Removing {claim.name}.")
            return
    messages.success(request, f"{claim.name} removed.")


add_domain = _domain_view(_add_domain)
verify_domain = _domain_view(_verify_domain)
remove_domain = _domain_view(_remove_domain)


def _number(text):
    """A release number from a form or query string; 0 (no release) if it is not one."""
    return int(text) if text and text.isdigit() and len(text) < 10 else 0


update = rv.update_view(Site, SiteContentForm, "stacks/update.html",
                        "Deploying the new content of {name}.")
delete = rv.delete_view(Site, "sites/delete.html")
refresh = rv.action_view(Site, Action.REFRESH, "Checking {name} for drift.")
retry = rv.retry_view(Site)
expiry = expiry_view(Site)
