"""Sign up, log in (rate-limited, also the admin's), and the dashboard of a user's
resources."""
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from herocool_project.clientaddr import client_address
from herocool_project.ratelimit import allow, refused
from sites.models import Site
from stacks.hosts import mark_unreachable
from stacks.resource_views import active_for_user
from stacks.views import latest_for_user
from vms.models import VirtualMachine

from . import email_verification, loginlimits, twofactor
from .forms import LoginForm, SignupForm


DASHBOARD_ROWS = 10
# The columns the dashboard's rows read (templates/sites/table.html, vms/table.html, the
# cost and the host check): a lean query to build and fewer fields to load per row. A
# column missing here costs a query per row (accounts/tests/test_dashboard_markup.py and
# the flat query-count tests catch it).
ROW_COLUMNS = ("code", "name", "team__name", "status", "outputs", "updated", "target",
               "expires_at", "host")
SITE_COLUMNS = ROW_COLUMNS
VM_COLUMNS = ROW_COLUMNS + ("instance_type",)


class LoginView(auth_views.LoginView):
    """Django's login, within the login limits (accounts/loginlimits.py); for a user with
    two-factor on, the password only leads to the code step (accounts/twofactor.py)."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def post(self, request, *args, **kwargs):
        return loginlimits.refusal(request) or super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if twofactor.is_enrolled(user):
            twofactor.begin_login(self.request, user, self.get_success_url())
            return redirect("accounts-2fa-verify")
        return super().form_valid(form)


class AdminLoginView(LoginView):
    """The admin's own login page, within the same limits as the site's and with the same
    code step: Django's admin login (admin.site.login) would sign in on a password."""

    template_name = "admin/login.html"
    authentication_form = AdminAuthenticationForm

    def dispatch(self, request, *args, **kwargs):
        request.current_app = admin.site.name
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if admin.site.has_permission(request):
            return redirect("admin:index")
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return reverse("admin:index")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request),
                "title": "Log in", "app_path": self.request.get_full_path(),
                "username": self.request.user.get_username()}


admin_login = AdminLoginView.as_view()


def signup(request):
    """Create an account and log in."""
    if request.user.is_authenticated:
        return redirect("accounts-dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if not allow("signup", client_address(request), settings.RATE_LIMIT_LOGIN):
            return refused(request, "sign-ups", settings.RATE_LIMIT_LOGIN)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}.")
            _say_link_sent(request, user)
            return redirect("accounts-dashboard")
    return render(request, "accounts/signup.html", {"form": form})


def _say_link_sent(request, user):
    if email_verification.send(user):
        messages.info(request, f"We sent a link to {user.email}: open it to confirm "
                               "your address.")
    else:
        messages.warning(request, "We could not send the link confirming your address; "
                                  "send it again from your Account page.")


@login_required
def dashboard(request):
    """My sites and VMs with their states, and the latest deployments."""
    activity = latest_for_user(request.user, 15)
    sites = list(active_for_user(Site, request.user).only(*SITE_COLUMNS)[:DASHBOARD_ROWS + 1])
    vms = list(active_for_user(VirtualMachine, request.user)
               .only(*VM_COLUMNS)[:DASHBOARD_ROWS + 1])
    return render(request, "accounts/dashboard.html", {
        "sites": mark_unreachable(sites[:DASHBOARD_ROWS]),
        "more_sites": len(sites) > DASHBOARD_ROWS,
        "vms": mark_unreachable(vms[:DASHBOARD_ROWS]), "more_vms": len(vms) > DASHBOARD_ROWS,
        "activity": activity,
    })
