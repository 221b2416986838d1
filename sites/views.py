"""Static site pages. Lists and details read the database only, never the engine."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from herocool_project.ratelimit import limit_changes
from stacks import resource_views as rv
from stacks.models import Deployment

from .forms import SiteContentForm, SiteCreateForm
from .models import Site

Action = Deployment.Action


@login_required
def index(request):
    """The user's sites, newest first."""
    page = rv.paginate(request, rv.active_for_user(Site, request.user))
    return render(request, "sites/index.html", {"sites": page.object_list, "page": page})


@login_required
@limit_changes
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


update = rv.update_view(Site, SiteContentForm, "sites/update.html",
                        "Deploying the new content of {name}.")
delete = rv.delete_view(Site, "sites/delete.html")
refresh = rv.action_view(Site, Action.REFRESH, "Refreshing {name}.")
retry = rv.retry_view(Site)
