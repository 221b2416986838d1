"""What the pages of every stack-backed resource (sites, VMs) share."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes

from .hosts import mark_unreachable
from .keyset import newest_first, page_from_request
from .models import Deployment, Status
from .permissions import DELETE, DEPLOY, VIEW, deploy_teams, may, refusal, visible_to
from .services import QUEUE_DOWN, DeploymentRefused, request_deployment, retry

Action = Deployment.Action


def resource_for(request, model, code, action=VIEW):
    """The resource if the user may do `action` on it (stacks/permissions.py); 404 when
    they may not even see it (a stranger's does not exist for them), 403 with the reason
    when they see it but their role does not allow the action."""
    resource = get_object_or_404(
        visible_to(request.user, model).select_related("host", "team"), code=code)
    if not may(request.user, action, resource):
        raise PermissionDenied(refusal(action, resource))
    return resource


def active_for_user(model, user):
    """The resources the user sees (theirs and their teams') that are not deleted,
    newest first, without the columns lists never show."""
    mine = visible_to(user, model).exclude(status=Status.DELETED).select_related("team")
    return newest_first(mine.defer(*model.list_deferred), "created")


def add_owner_field(form, user, *, always=False):
    """Offer "Owner": me, or a team where the user is deployer or admin (by its slug in
    the API). Only shown to members of a team, unless asked for or `always` (a `team` it
    cannot take must be an error, never a silent personal create)."""
    teams = deploy_teams(user)
    if not (always or form.data.get("team") or teams.exists()):
        return form
    field = forms.ModelChoiceField(teams, required=False, to_field_name="slug",
                                   empty_label="Me (personal)", label="Owner",
                                   help_text="A team's resource is seen and changed by its "
                                             "members, by role.")
    field.widget.attrs["class"] = "form-select"
    form.fields = {"team": field, **form.fields}
    return form


PAGE_ROWS = 50


def index_view(model, template, name):
    @login_required
    def view(request):
        """The user's resources, newest first, fifty to a page, by key (`?before=`)."""
        page = page_from_request(request, active_for_user(model, request.user), "created",
                                 PAGE_ROWS)
        return render(request, template, {name: mark_unreachable(page.rows), "page": page})

    return view


def create_view(form_class, template, success, **form_kwargs):
    """Create a resource and queue its first deployment. form_kwargs maps the form's
    extra arguments to functions of the request."""

    @login_required
    @limit_changes
    def view(request):
        extra = {key: get(request) for key, get in form_kwargs.items()}
        form = add_owner_field(form_class(request.POST or None, request.FILES or None,
                                          owner=request.user, **extra), request.user)
        if request.method == "POST" and form.is_valid():
            done = save_and_deploy(request, form, Action.CREATE, success)
            if done:
                return done
        return render(request, template, {"form": form})

    return view


def save_and_deploy(request, form, action, success):
    """Save the form's resource and record its deployment in one transaction.

    Returns a redirect on success; None (with the reason on the form) when refused.
    """
    try:
        with transaction.atomic():
            resource = form.save(commit=False)
            if resource.pk:
                # The changes travel with the deployment; the record takes them when
                # the update succeeds (status and outputs belong to jobs).
                deployment = request_deployment(resource, action, request.user,
                                                params=resource.proposed())
            else:
                resource.owner = request.user
                resource.team = form.cleaned_data.get("team")
                resource.save()
                deployment = request_deployment(resource, action, request.user)
    except DeploymentRefused as exc:
        form.add_error(None, str(exc))
        return None
    except IntegrityError:
        # A simultaneous create may have taken the name since the form's check: the
        # form's own check, asked again, says so; any other conflict is a real error.
        taken = _name_check_again(form)
        if taken is None:
            raise
        form.add_error("name", taken)
        return None
    say_done(request, deployment, success.format(name=resource.name))
    return redirect(resource)


def _name_check_again(form):
    """The form's name error now, or None if the name is free (or not the form's)."""
    check = getattr(form, "clean_name", None)  # none on updates: the name is fixed
    try:
        if check:
            check()
    except ValidationError as error:
        return error
    return None


def say_done(request, deployment, success):
    """Tell the user it is recorded, and warn if the queue could not take it yet."""
    if getattr(deployment, "enqueued", True):
        messages.success(request, success)
    else:
        messages.warning(request, QUEUE_DOWN)
    if getattr(deployment, "budget_warning", ""):  # issue #17: near the budget
        messages.warning(request, deployment.budget_warning)


def preview_and_redirect(request, form):
    """Record a preview of the form's changes without saving them; show its page."""
    resource = type(form.instance).objects.get(pk=form.instance.pk)
    try:
        preview = request_deployment(resource, Action.PREVIEW, request.user,
                                     params=form.instance.proposed())
    except DeploymentRefused as exc:
        form.add_error(None, str(exc))
        return None
    messages.info(request, "Previewing your changes: nothing is changed until you confirm.")
    return redirect(preview)


def update_view(model, form_class, template, success):
    @login_required
    @limit_changes
    def view(request, code):
        """Change a resource and deploy the change, or preview it first."""
        resource = resource_for(request, model, code, DEPLOY)
        if resource.is_deleted:
            messages.error(request, f"{resource.name} has been deleted.")
            return redirect(resource)
        form = form_class(request.POST or None, request.FILES or None, instance=resource,
                          owner=request.user)
        if request.method == "POST" and form.is_valid():
            if "preview" in request.POST:
                done = preview_and_redirect(request, form)
            else:
                done = save_and_deploy(request, form, Action.UPDATE, success)
            if done:
                return done
        return render(request, template, {"resource": resource, "form": form})

    return view


def deploy_and_redirect(request, resource, action, success):
    try:
        deployment = request_deployment(resource, action, request.user)
        say_done(request, deployment, success.format(name=resource.name))
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
    return redirect(resource)


def action_view(model, action, success):
    """A POST-only view that records `action` for a resource the user may deploy."""

    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        resource = resource_for(request, model, code, DEPLOY)
        return deploy_and_redirect(request, resource, action, success)

    view.__doc__ = f"Record a {action} deployment of the user's {model._meta.verbose_name}."
    return view


def retry_view(model):
    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        """Run again the deployment that failed."""
        resource = resource_for(request, model, code, DEPLOY)
        try:
            retry(resource, request.user)
            messages.success(request, f"Retrying {resource.name}.")
        except DeploymentRefused as exc:
            messages.error(request, str(exc))
        return redirect(resource)

    return view


def delete_view(model, template):
    @login_required
    @limit_changes
    def view(request, code):
        """Confirm, then destroy the stack; the record stays, marked deleted."""
        resource = resource_for(request, model, code, DELETE)
        if request.method == "POST":
            return deploy_and_redirect(request, resource, Action.DESTROY, "Deleting {name}.")
        return render(request, template, {"resource": resource})

    return view


def detail_context(request, resource):
    """The resource and a page of its history, newest first, by key (`?before=`)."""
    mark_unreachable([resource])
    history = resource.deployments.select_related("requested_by").defer("summary", "params")
    page = page_from_request(request, history, "queued_at", PAGE_ROWS)
    user = request.user
    return {"resource": resource, "deployments": page.rows, "page": page,
            "may_deploy": may(user, DEPLOY, resource), "may_delete": may(user, DELETE, resource)}
