"""The API of every stack-backed resource (sites, VMs) and of deployments.

The same way through as the pages: the app's Django form validates (so errors carry the
same messages), stacks/services.py records the deployment and enqueues it on commit,
who may do what is stacks/permissions.py: what the user may not see is a 404, what their
team role does not allow is a 403.
"""
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from herocool_project.api import Refused, invalid

from . import services
from .models import Deployment, Status, resource_models
from .permissions import DELETE, DEPLOY, VIEW, may, refusal, visible_to
from .resource_views import _name_check_again, add_owner_field
from .services import QUEUE_DOWN, DeploymentRefused, request_deployment
from .views import MAX_LOG_OFFSET

Action = Deployment.Action


class DeploymentSerializer(serializers.ModelSerializer):
    resource = serializers.SerializerMethodField()
    requested_by = serializers.StringRelatedField()
    cancelled_by = serializers.StringRelatedField()
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Deployment
        fields = ["code", "action", "status", "active", "resource", "requested_by",
                  "cancelled_by", "queued_at", "started_at", "finished_at", "error"]

    def get_resource(self, dep) -> dict:
        """{kind, code, name}: which site or machine it changes."""
        res = dep.resource
        return {"kind": res._meta.app_label, "code": str(res.code), "name": res.name}


class LogSerializer(serializers.Serializer):
    text = serializers.CharField()
    next = serializers.IntegerField(help_text="Ask with ?after=<next> for what follows.")
    status = serializers.CharField()
    active = serializers.BooleanField()


class ChangeSerializer(serializers.Serializer):
    """What a change answers: the resource as it now stands and the deployment queued."""

    resource = serializers.DictField()
    deployment = DeploymentSerializer()
    warning = serializers.CharField(required=False)


def accepted(view, resource, deployment, code=status.HTTP_202_ACCEPTED):
    body = {"resource": view.get_serializer(resource).data,
            "deployment": DeploymentSerializer(deployment).data}
    if not getattr(deployment, "enqueued", True):
        body["warning"] = QUEUE_DOWN
    if getattr(deployment, "budget_warning", ""):  # issue #17: near the budget
        body["budget_warning"] = deployment.budget_warning
    return Response(body, status=code)


def body_of(request):
    """The JSON object a change sends (a form's data), or a multipart form's fields (a
    site's folder comes as a file); anything else is a 400."""
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    if hasattr(request.data, "dict"):  # a QueryDict: one value per field, as a form's
        return request.data.dict()
    return request.data


def refused_as_api(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except DeploymentRefused as exc:
        raise Refused(str(exc)) from None


@extend_schema_field({"type": "string", "nullable": True, "example": "11.88"})
class MonthlyEstimateField(serializers.Field):
    """The monthly estimate in USD as a string ("11.88"), or null where unpriced
    (issue #17)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, resource):
        estimate = resource.monthly_estimate()
        return str(estimate.total) if estimate.priced else None


class ExpiryInput(serializers.Serializer):
    expires_in = serializers.ChoiceField(choices=["", "2h", "1d", "7d", "date"],
                                         required=False,
                                         help_text='"" or none: never; "date": expires_on.')
    expires_on = serializers.DateTimeField(required=False)


class OwnerInput(serializers.Serializer):
    team = serializers.CharField(required=False, help_text="The slug of a team where you are "
                                 "deployer or admin: the team owns it. None: you do.")


NAME_PARAM = OpenApiParameter("name", OpenApiTypes.STR, description="Only the one so named.")
TEAM_PARAM = OpenApiParameter("team", OpenApiTypes.STR, description='Only those of the team '
                              'with this slug; "me": only your personal ones.')
# What each API action needs (stacks/permissions.py); others: VIEW to read, DEPLOY to
# change. Setting an expiry schedules a delete.
ACTION_NEEDS = {"destroy": DELETE, "expiry": DELETE}


class PermittedObjectMixin:
    """get_object: 404 for what the user does not see (get_queryset is visible_to), 403
    for what their role does not allow."""

    def get_object(self):
        thing = super().get_object()
        needs = ACTION_NEEDS.get(self.action,
                                 VIEW if self.request.method in SAFE_METHODS else DEPLOY)
        if not may(self.request.user, needs, thing):
            raise PermissionDenied(refusal(needs, thing))
        return thing


class ResourceViewSet(PermittedObjectMixin, mixins.ListModelMixin,
                      mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Subclasses set model, serializer_class, create_form, update_form, write_scope
    and input serializers (for the OpenAPI document)."""

    lookup_field = "code"
    lookup_value_converter = "uuid"
    create_form = update_form = None

    def get_queryset(self):
        mine = visible_to(self.request.user, self.model).select_related("team")
        if self.action == "list":
            shown = self.get_serializer_class().Meta.fields
            mine = mine.exclude(status=Status.DELETED).defer(
                *(f for f in self.model.list_deferred if f not in shown))
            if name := self.request.query_params.get("name"):
                mine = mine.filter(name=name)
            if team := self.request.query_params.get("team"):  # issue #18
                mine = mine.filter(team=None) if team == "me" else mine.filter(team__slug=team)
        return mine

    def form_kwargs(self):
        return {}

    def create(self, request):
        form = add_owner_field(
            self.create_form(body_of(request), request.FILES or None, owner=request.user,
                             **self.form_kwargs()), request.user, always=True)
        if not form.is_valid():
            raise invalid(form)
        try:
            with transaction.atomic():
                resource = refused_as_api(form.save, commit=False)  # an archive's quota
                resource.owner = request.user
                resource.team = form.cleaned_data.get("team")
                resource.save()
                deployment = refused_as_api(request_deployment, resource, Action.CREATE,
                                            request.user)
        except IntegrityError:
            # A simultaneous create took the name since the form's check.
            taken = _name_check_again(form)
            if taken is None:
                raise
            form.add_error("name", taken)
            raise invalid(form) from None
        return accepted(self, resource, deployment, status.HTTP_201_CREATED)

    def _changed(self, request):
        """The update form, bound to the record's values with the request's on top
        (so a PATCH names only what it changes), validated."""
        resource = self.get_object()
        if resource.is_deleted:
            raise Refused(f"{resource.name} has been deleted.")
        unbound = self.update_form(instance=resource, owner=request.user)
        current = {name: unbound.get_initial_for_field(field, name)
                   for name, field in unbound.fields.items()}
        data = {k: v for k, v in current.items() if v is not None} | body_of(request)
        form = self.update_form(data, request.FILES or None, instance=resource,
                                owner=request.user)
        if not form.is_valid():
            raise invalid(form)
        return resource, form

    def partial_update(self, request, code=None):
        resource, form = self._changed(request)
        fresh = type(resource).objects.get(pk=resource.pk)
        with transaction.atomic():  # the form's save keeps an uploaded folder (sites)
            changes = refused_as_api(form.save, commit=False).proposed()
            deployment = refused_as_api(request_deployment, fresh, Action.UPDATE,
                                        request.user, params=changes)
        fresh.refresh_from_db()
        return accepted(self, fresh, deployment)

    @action(detail=True, methods=["post"])
    def preview(self, request, code=None):
        """Preview a change (the same body as PATCH): nothing changes until it is
        applied (POST /deployments/{code}/apply/)."""
        resource, form = self._changed(request)
        fresh = type(resource).objects.get(pk=resource.pk)
        with transaction.atomic():
            changes = refused_as_api(form.save, commit=False).proposed()
            deployment = refused_as_api(request_deployment, fresh, Action.PREVIEW,
                                        request.user, params=changes)
        return accepted(self, fresh, deployment)

    def destroy(self, request, code=None):
        """Destroy its stack; the record stays, marked deleted, with its history."""
        return self._deploy(Action.DESTROY)

    @extend_schema(request=None, responses={202: ChangeSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request, code=None):
        """Read the real state of its stack back onto the record."""
        return self._deploy(Action.REFRESH)

    @extend_schema(request=None, responses={202: ChangeSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, code=None):
        """Run again the create, update or destroy that failed."""
        resource = self.get_object()
        deployment = refused_as_api(services.retry, resource, request.user)
        resource.refresh_from_db()
        return accepted(self, resource, deployment)

    def _deploy(self, what):
        resource = self.get_object()
        deployment = refused_as_api(request_deployment, resource, what, self.request.user)
        resource.refresh_from_db()
        return accepted(self, resource, deployment)

    @extend_schema(request=ExpiryInput)
    @action(detail=True, methods=["post"])
    def expiry(self, request, code=None):
        """Set, extend or clear its expiry (issue #17): destroyed by the platform then."""
        from .expiry import ExpiryForm

        resource = self.get_object()
        form = ExpiryForm(body_of(request), resource=resource)
        if not form.is_valid():
            raise invalid(form)
        if not resource.set_expiry(form.cleaned_data["when"]):
            raise Refused(f"{resource.name} has been deleted.")
        return Response(self.get_serializer(resource).data)

    @extend_schema(responses={200: DeploymentSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deployments(self, request, code=None):
        """Its deployments, newest first."""
        resource = self.get_object()
        history = resource.deployments.select_related(
            "requested_by", "cancelled_by").defer("summary", "params")
        page = self.paginate_queryset(history)
        for dep in page:
            dep.resource = resource  # known: not one query per row to find it again
        return self.get_paginated_response(DeploymentSerializer(page, many=True).data)


# The columns of a deployment the list's serializer reads (and the cursor's key).
LIST_COLUMNS = ("id", "code", "action", "status", "queued_at", "started_at", "finished_at",
                "error", "resource_type", "resource_id", "requested_by", "cancelled_by")


class DeploymentViewSet(PermittedObjectMixin, mixins.ListModelMixin,
                        mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every deployment the user sees (theirs and their teams'), newest first; one with
    its log; cancel; apply."""

    serializer_class = DeploymentSerializer
    lookup_field = "code"
    lookup_value_converter = "uuid"

    def get_queryset(self):
        # Each row names its resource: one query per kind of resource, not per row.
        resources = GenericPrefetch("resource", [
            model.objects.only("id", "code", "name") for model in resource_models()])
        mine = visible_to(self.request.user, Deployment)
        if self.action == "list":
            # Only what the list shows (its users by name): a page of 50 builds 150 model
            # instances rather than 250 wide ones, the largest cost of this page at a
            # million deployments.
            return (mine.select_related("requested_by", "cancelled_by")
                    .only(*LIST_COLUMNS, "requested_by__username", "cancelled_by__username")
                    .prefetch_related(resources))
        return (mine.select_related("requested_by", "cancelled_by", "resource_type", "team")
                .defer("summary").prefetch_related(resources))

    def scope_of(self, deployment):
        """Changing a machine's deployment needs `machines`; a site's, `deploy`."""
        return "machines" if deployment.resource_type.model == "virtualmachine" else "deploy"

    @extend_schema(parameters=[OpenApiParameter(
        "after", OpenApiTypes.INT, description="The `next` of the previous answer: only "
                                               "what was written since.")],
        responses={200: LogSerializer})
    @action(detail=True, methods=["get"])
    def log(self, request, code=None):
        """The log from character `after` on, and the status: poll it to follow."""
        dep = self.get_object()
        try:
            after = min(max(int(request.query_params.get("after", 0)), 0), MAX_LOG_OFFSET)
        except ValueError:
            after = 0
        text, next_after = dep.read_log(after)
        return Response({"text": text, "next": next_after, "status": dep.status,
                         "active": dep.is_active})

    @extend_schema(request=None, responses={200: DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, code=None):
        """Cancel a queued or running deployment; `note` says what happens next."""
        dep = self.get_object()
        refused_as_api(services.cancel, dep, request.user)
        dep.refresh_from_db()
        return Response({**DeploymentSerializer(dep).data, "note": dep.cancel_note})

    @extend_schema(request=None, responses={202: DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request, code=None):
        """Deploy the changes a succeeded preview showed."""
        preview = self.get_object()
        deployment = refused_as_api(services.apply_preview, preview, request.user)
        return Response(DeploymentSerializer(deployment).data,
                        status=status.HTTP_202_ACCEPTED)
