"""The owner sets, extends or clears a resource's expiry (issue #17)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from herocool_project.forms import errors_text
from herocool_project.ratelimit import limit_changes

from .expiry import ExpiryForm
from .permissions import DELETE
from .resource_views import resource_for


def expiry_view(model):
    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        """Set (or extend) the expiry to the chosen time, or clear it (a scheduled
        delete: for whoever may delete it)."""
        resource = resource_for(request, model, code, DELETE)
        form = ExpiryForm(request.POST, resource=resource)
        if not form.is_valid():
            messages.error(request, errors_text(form))
        elif not resource.set_expiry(form.cleaned_data["when"]):
            messages.error(request, f"{resource.name} has been deleted.")
        elif resource.expires_at is None:
            messages.success(request, f"{resource.name} no longer expires.")
        else:
            when = timezone.localtime(resource.expires_at).strftime("%Y-%m-%d %H:%M %Z")
            messages.success(request, f"{resource.name} now expires at {when}.")
        return redirect(resource)

    return view
