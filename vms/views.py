"""Virtual machine pages. Lists and details read the database only, never the engine."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from herocool_project.ratelimit import limit_changes
from stacks import resource_views as rv
from stacks.models import Deployment

from .forms import VmCreateForm, VmForm
from .models import VirtualMachine

Action = Deployment.Action


@login_required
def index(request):
    """The user's machines, newest first."""
    page = rv.paginate(request, rv.active_for_user(VirtualMachine, request.user))
    return render(request, "vms/index.html", {"vms": page.object_list, "page": page})


@login_required
@limit_changes
def create(request):
    """Create a machine and queue its provisioning."""
    form = VmCreateForm(request.POST or None, owner=request.user,
                        client_ip=request.META.get("REMOTE_ADDR"))
    if request.method == "POST" and form.is_valid():
        done = rv.save_and_deploy(request, form, Action.CREATE,
                                  "Provisioning {name}: this takes a minute or two.")
        if done:
            return done
    return render(request, "vms/create.html", {"form": form})


@login_required
def detail(request, code):
    """A machine's status, SSH command, and deployment history."""
    vm = rv.resource_for_user(VirtualMachine, request, code)
    return render(request, "vms/detail.html", {"vm": vm, **rv.detail_context(vm)})


update = rv.update_view(VirtualMachine, VmForm, "vms/update.html", "Updating {name}.")
delete = rv.delete_view(VirtualMachine, "vms/delete.html")
refresh = rv.action_view(VirtualMachine, Action.REFRESH, "Refreshing {name}.")
retry = rv.retry_view(VirtualMachine)
