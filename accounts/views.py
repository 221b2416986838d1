"""Sign up, and the dashboard of a user's resources."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render

from sites.models import Site
from vms.models import VirtualMachine
from stacks.models import Deployment, Status


def signup(request):
    """Create an account and log in."""
    if request.user.is_authenticated:
        return redirect("accounts-dashboard")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}.")
        return redirect("accounts-dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def dashboard(request):
    """My sites and VMs with their states, and the latest deployments."""
    sites = Site.objects.filter(owner=request.user).exclude(status=Status.DELETED)
    vms = VirtualMachine.objects.filter(owner=request.user).exclude(status=Status.DELETED)
    activity = Deployment.objects.filter(owner=request.user).select_related(
        "requested_by").prefetch_related("resource")[:15]
    return render(request, "accounts/dashboard.html", {
        "sites": sites,
        "vms": vms,
        "activity": activity,
    })
