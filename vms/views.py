"""Virtual machine pages. Lists and details read the database only, never the engine."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from herocool_project.clientaddr import client_address
from stacks import resource_views as rv
from stacks.expiry_views import expiry_view
from stacks.models import Deployment

from .forms import VmCreateForm, VmForm
from .machine_views import console_of
from .models import VirtualMachine

Action = Deployment.Action


index = rv.index_view(VirtualMachine, "vms/index.html", "vms")
create = rv.create_view(VmCreateForm, "vms/create.html",
                        "Provisioning {name}: this takes a minute or two.",
                        client_ip=client_address)


@login_required
def detail(request, code):
    """A machine's status, SSH command, and deployment history."""
    vm = rv.resource_for(request, VirtualMachine, code, rv.VIEW)
    console, console_note = console_of(vm)
    return render(request, "vms/detail.html",
                  {"vm": vm, "console": console, "console_note": console_note,
                   "console_kb": settings.VM_CONSOLE_SHOW_BYTES // 1024,
                   **rv.detail_context(request, vm)})


update = rv.update_view(VirtualMachine, VmForm, "stacks/update.html", "Updating {name}.")
delete = rv.delete_view(VirtualMachine, "vms/delete.html")
refresh = rv.action_view(VirtualMachine, Action.REFRESH, "Checking {name} for drift.")
retry = rv.retry_view(VirtualMachine)
expiry = expiry_view(VirtualMachine)
