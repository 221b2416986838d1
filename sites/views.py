"""Static site pages. Lists and details read the database only, never the engine."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from stacks import resource_views as rv
from stacks.models import Deployment

from .forms import SiteContentForm, SiteCreateForm
from .models import Site

Action = Deployment.Action


@login_required
def index(request):
    """The user's sites, newest first."""
    return render(request, "sites/index.html",
                  {"sites": rv.active_for_user(Site, request.user)})


@login_required
def create(request):
    """Create a site and queue its first deployment."""
    form = SiteCreateForm(request.POST or None, request.FILES or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        done = rv.save_and_deploy(request, form, Action.CREATE,
                                  "Deploying {name}: it will be live shortly.")
        if done:
            return done
    return render(request, "sites/create.html", {"form": form})


@login_required
def detail(request, code):
    """A site's status, URL, and deployment history."""
    site = rv.resource_for_user(Site, request, code)
    return render(request, "sites/detail.html", {"site": site, **rv.detail_context(site)})


@login_required
def update(request, code):
    """Change a site's content and deploy the change."""
    site = rv.resource_for_user(Site, request, code)
    if site.is_deleted:
        messages.error(request, f"{site.name} has been deleted.")
        return redirect(site)
    form = SiteContentForm(request.POST or None, request.FILES or None, instance=site)
    if request.method == "POST" and form.is_valid():
        done = rv.save_and_deploy(request, form, Action.UPDATE,
                                  "Deploying the new content of {name}.")
        if done:
            return done
    return render(request, "sites/update.html", {"site": site, "form": form})


delete = rv.delete_view(Site, "sites/delete.html")
refresh = rv.action_view(Site, Action.REFRESH, "Refreshing {name}.")
retry = rv.retry_view(Site)
