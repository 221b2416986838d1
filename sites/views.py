"""Static site pages. Lists and details read the database only, never the engine."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from stacks.models import Deployment, Status
from stacks.services import DeploymentRefused, request_deployment, retry

from .forms import SiteContentForm, SiteCreateForm
from .models import Site

Action = Deployment.Action


def site_for_user(request, code):
    """The user's own site, or 404: a stranger's site does not exist for them."""
    return get_object_or_404(Site, code=code, owner=request.user)


@login_required
def index(request):
    """The user's sites, newest first."""
    sites = Site.objects.filter(owner=request.user).exclude(status=Status.DELETED)
    return render(request, "sites/index.html", {"sites": sites})


@login_required
def create(request):
    """Create a site and queue its first deployment."""
    form = SiteCreateForm(request.POST or None, request.FILES or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                site = form.save(commit=False)
                site.owner = request.user
                site.save()
                request_deployment(site, Action.CREATE, request.user)
        except DeploymentRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Deploying {site.name}: it will be live shortly.")
            return redirect(site)
    return render(request, "sites/create.html", {"form": form})


@login_required
def detail(request, code):
    """A site's status, URL, and deployment history."""
    site = site_for_user(request, code)
    deployments = site.deployments.select_related("requested_by")[:50]
    return render(request, "sites/detail.html", {"site": site, "deployments": deployments})


@login_required
def update(request, code):
    """Change a site's content and deploy the change."""
    site = site_for_user(request, code)
    if site.is_deleted:
        messages.error(request, f"{site.name} has been deleted.")
        return redirect(site)
    form = SiteContentForm(request.POST or None, request.FILES or None, instance=site)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                form.save()
                request_deployment(site, Action.UPDATE, request.user)
        except DeploymentRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Deploying the new content of {site.name}.")
            return redirect(site)
    return render(request, "sites/update.html", {"site": site, "form": form})


@login_required
def delete(request, code):
    """Confirm, then destroy the site's stack; the record stays, marked deleted."""
    site = site_for_user(request, code)
    if request.method == "POST":
        return _deploy(request, site, Action.DESTROY, f"Deleting {site.name}.")
    return render(request, "sites/delete.html", {"site": site})


@login_required
@require_POST
def refresh(request, code):
    """Compare the recorded state with what is really published."""
    site = site_for_user(request, code)
    return _deploy(request, site, Action.REFRESH, f"Refreshing {site.name}.")


@login_required
@require_POST
def retry_view(request, code):
    """Run again the deployment that failed."""
    site = site_for_user(request, code)
    try:
        retry(site, request.user)
        messages.success(request, f"Retrying {site.name}.")
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
    return redirect(site)


def _deploy(request, site, action, success):
    try:
        request_deployment(site, action, request.user)
        messages.success(request, success)
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
    return redirect(site)
