"""What the pages of every stack-backed resource (sites, VMs) share."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes

from .hosts import mark_unreachable
from .keyset import newest_first, page_from_request
from .models import Deployment, Status
from .services import QUEUE_DOWN, DeploymentRefused, request_deployment, retry

Action = Deployment.Action


def resource_for_user(model, request, code):
    """The user's own resource, or 404: a stranger's resource does not exist for them."""
    return get_object_or_404(model.objects.select_related("host"), code=code, owner=request.user)


def active_for_user(model, user):
    """The user's resources that are not deleted, newest first, without the columns
    lists never show."""
    mine = model.objects.filter(owner=user).exclude(status=Status.DELETED)
    return newest_first(mine.defer(*model.list_deferred), "created")


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
        form = form_class(request.POST or None, request.FILES or None,
                          owner=request.user, **extra)
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
        resource = resource_for_user(model, request, code)
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
    """A POST-only view that records `action` for one of the user's resources."""

    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        resource = resource_for_user(model, request, code)
        return deploy_and_redirect(request, resource, action, success)

    view.__doc__ = f"Record a {action} deployment of the user's {model._meta.verbose_name}."
    return view


def retry_view(model):
    @login_required
    @limit_changes
    @require_POST
    def view(request, code):
        """Run again the deployment that failed."""
        resource = resource_for_user(model, request, code)
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
        resource = resource_for_user(model, request, code)
        if request.method == "POST":
            return deploy_and_redirect(request, resource, Action.DESTROY, "Deleting {name}.")
        return render(request, template, {"resource": resource})

    return view


def detail_context(request, resource):
    """The resource and a page of its history, newest first, by key (`?before=`)."""
    mark_unreachable([resource])
    history = resource.deployments.select_related("requested_by").defer("summary", "params")
    page = page_from_request(request, history, "queued_at", PAGE_ROWS)
    return {"resource": resource, "deployments": page.rows, "page": page}
