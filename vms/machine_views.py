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
from stacks.models import Deployment
from stacks.services import DeploymentRefused, request_deployment

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
    it: never HTML)."""
    vm = rv.resource_for(request, VirtualMachine, code, rv.VIEW)
    text = console_text(vm)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def console_text(vm):
    """The console's tail for a local machine ("" for a cloud one, or before any)."""
    if vm.target != "local":
        return ""
    return guest_console.tail(settings.VMS_ROOT / vm.stack_name,
                              settings.VM_CONSOLE_SHOW_BYTES)
