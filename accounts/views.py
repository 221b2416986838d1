"""Sign up, log in (rate-limited), and the dashboard of a user's resources."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from herocool_project.ratelimit import allow, refused
from sites.models import Site
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

from .forms import LoginForm, SignupForm


class LoginView(auth_views.LoginView):
    """Django's login, refusing too many attempts from one address or for one name."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def post(self, request, *args, **kwargs):
        rule = settings.RATE_LIMIT_LOGIN
        username = request.POST.get("username", "")[:150].lower()
        by_address = allow("login-ip", request.META.get("REMOTE_ADDR", "?"), rule)
        by_name = allow("login-user", username, rule)
        if not (by_address and by_name):
            return refused(request, "login attempts", rule)
        return super().post(request, *args, **kwargs)


def signup(request):
    """Create an account and log in."""
    if request.user.is_authenticated:
        return redirect("accounts-dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if not allow("signup", request.META.get("REMOTE_ADDR", "?"),
                     settings.RATE_LIMIT_LOGIN):
            return refused(request, "sign-ups", settings.RATE_LIMIT_LOGIN)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}.")
            return redirect("accounts-dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def dashboard(request):
    """My sites and VMs with their states, and the latest deployments."""
    mine = {"owner": request.user}
    return render(request, "accounts/dashboard.html", {
        "sites": Site.objects.filter(**mine).exclude(status=Status.DELETED),
        "vms": VirtualMachine.objects.filter(**mine).exclude(status=Status.DELETED),
        "activity": Deployment.objects.filter(**mine).select_related("requested_by")
                                      .prefetch_related("resource")[:15],
    })
