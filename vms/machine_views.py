"""A machine's power buttons and its console (issue #19): owner only, through the same
lookup every machine page uses (a stranger gets a 404)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from herocool_project.ratelimit import limit_changes
from stacks import resource_views as rv
from stacks.hosts import host_names
from stacks.models import Deployment
from stacks.services import DeploymentRefused, request_deployment

from . import console_copy
from .localvm import console as guest_console
from .models import VirtualMachine

DONE = {"stop": "Stopping {name}: its disk stays.", "start": "Starting {name}.",
        "reboot": "Rebooting {name}."}


@login_required
@limit_changes
@require_POST
def power(request, code, action):
    """Stop, start or reboot the user's machine: an update deployment that records the
    action in its parameters and its log."""
    vm = rv.resource_for(request, VirtualMachine, code, rv.DEPLOY)
    if action not in VirtualMachine.POWER_ACTIONS:
        raise Http404("no such action")
    problem = vm.power_problem(action)
    if problem:
        messages.error(request, problem)
        return redirect(vm)
    try:
        deployment = request_deployment(vm, Deployment.Action.UPDATE, request.user,
                                        params=vm.power_change(action))
        rv.say_done(request, deployment, DONE[action].format(name=vm.name))
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
    return redirect(vm)


@login_required
@require_GET
def console(request, code):
    """The last part of the machine's serial console, as plain text (the guest wrote
    it: never HTML); where it came from, when not this host, in X-Console-Note."""
    vm = rv.resource_for(request, VirtualMachine, code, rv.VIEW)
    text, note = console_of(vm)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Console-Note"] = note
    return response


def console_of(vm):
    """(text, note): the console's tail for a local machine ("" for a cloud one, or
    before any). From this host's disk when the machine runs here; else the copy its
    host published, the note saying which host and how old it is."""
    if vm.target != "local":
        return "", ""
    host = host_names([vm.host_id])[vm.host_id] if vm.host_id else None
    if host in (None, settings.HEROCOOL_HOST):
        return guest_console.tail(settings.VMS_ROOT / vm.stack_name,
                                  settings.VM_CONSOLE_SHOW_BYTES), ""
    copy = console_copy.read(vm.stack_name)
    if copy is None:
        return "", (f"The machine runs on host {host}, which has published no console "
                    "lately (the machine is not running, or the host is not answering).")
    text, age = copy
    return text, (f"Copied from host {host} {round(age)} s ago; it sends a new copy "
                  f"about every {settings.SWEEP_SECONDS} s.")
