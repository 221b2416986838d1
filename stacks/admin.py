"""Admin for deployments, and what every stack-backed resource's admin shares.

Operators look, and act only through deployments: nothing here edits a resource's fields
or deletes a resource or a deployment (a deleted row would leave its stack running and
lose its history).
"""
from django.contrib import admin, messages
from django.utils.html import format_html

from .models import Deployment
from .services import DeploymentRefused, cancel, request_deployment, retry


class ThroughDeploymentsOnly(admin.ModelAdmin):
    """Read-only pages and no delete; the actions below are the only way to change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Deployment)
class DeploymentAdmin(ThroughDeploymentsOnly):
    list_display = ["stack_name", "action", "status", "owner", "requested_by",
                    "queued_at", "started_at", "finished_at"]
    list_filter = ["status", "action", "resource_type"]
    search_fields = ["stack_name", "owner__username", "code"]
    readonly_fields = [f.name for f in Deployment._meta.fields] + ["log_view"]
    list_select_related = ["owner", "requested_by"]

    @admin.display(description="Log")
    def log_view(self, obj):
        return format_html('<pre style="white-space: pre-wrap; max-height: 40em; '
                           'overflow: auto">{}</pre>', obj.full_log())

    actions = ["cancel_selected"]

    @admin.action(description="Cancel selected queued or running deployments")
    def cancel_selected(self, request, queryset):
        done = 0
        for deployment in queryset:
            try:
                cancel(deployment, request.user)
                done += 1
            except DeploymentRefused as exc:
                self.message_user(request, f"{deployment}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"Cancelled {done} deployment(s).", messages.SUCCESS)


class StackResourceAdmin(ThroughDeploymentsOnly):
    """Operators see owner, status, target and times; actions make deployments."""

    list_display = ["name", "owner", "status", "target", "stack_name", "created", "updated"]
    list_filter = ["status", "target"]
    search_fields = ["name", "stack_name", "owner__username", "code"]
    list_select_related = ["owner"]
    actions = ["retry_selected", "refresh_selected", "cancel_selected", "destroy_selected"]

    @admin.action(description="Retry the failed deployment of selected resources")
    def retry_selected(self, request, queryset):
        self._each(request, queryset, lambda r: retry(r, request.user), "Retrying")

    @admin.action(description="Refresh outputs of selected resources from their stacks")
    def refresh_selected(self, request, queryset):
        self._each(request, queryset,
                   lambda r: request_deployment(r, Deployment.Action.REFRESH, request.user),
                   "Refreshing")

    @admin.action(description="Cancel the live deployment of selected resources")
    def cancel_selected(self, request, queryset):
        def cancel_live(resource):
            active = resource.active_deployment()
            if active is None:
                raise DeploymentRefused("nothing queued or running")
            cancel(active, request.user)

        self._each(request, queryset, cancel_live, "Cancelled the deployment of")

    @admin.action(description="Destroy selected resources (through deployments)")
    def destroy_selected(self, request, queryset):
        self._each(request, queryset,
                   lambda r: request_deployment(r, Deployment.Action.DESTROY, request.user),
                   "Destroying")

    def _each(self, request, queryset, deploy, verb):
        done = 0
        for resource in queryset:
            try:
                deploy(resource)
                done += 1
            except DeploymentRefused as exc:
                self.message_user(request, f"{resource.name}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} resource(s).", messages.SUCCESS)
