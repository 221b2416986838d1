"""Static site pages. Lists and details read the database only, never the engine."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from stacks import resource_views as rv
from stacks.expiry_views import expiry_view
from stacks.models import Deployment

from .forms import SiteContentForm, SiteCreateForm
from .models import Site

Action = Deployment.Action


index = rv.index_view(Site, "sites/index.html", "sites")
create = rv.create_view(SiteCreateForm, "sites/create.html",
                        "Deploying {name}: it will be live shortly.")


@login_required
def detail(request, code):
    """A site's status, URL, and deployment history."""
    site = rv.resource_for_user(Site, request, code)
    return render(request, "sites/detail.html",
                  {"site": site, **rv.detail_context(request, site)})


update = rv.update_view(Site, SiteContentForm, "stacks/update.html",
                        "Deploying the new content of {name}.")
delete = rv.delete_view(Site, "sites/delete.html")
refresh = rv.action_view(Site, Action.REFRESH, "Checking {name} for drift.")
retry = rv.retry_view(Site)
expiry = expiry_view(Site)
