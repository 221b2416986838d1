"""Admin for deployments, and what every stack-backed resource's admin shares.

Operators look, and act only through deployments: nothing here edits a resource's fields
or deletes a resource or a deployment (a deleted row would leave its stack running and
lose its history).
"""
import functools
import operator
import uuid
from html import escape

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Q
from django.urls import get_script_prefix, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .models import Deployment, resource_models
from .services import DeploymentRefused, cancel, request_deployment, retry


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows, whatever the table holds: a change list of a
    million rows reads one page and a bounded count, never a COUNT of the whole table.
    Past the cap, the pages stop (filter or search to go further) and the list says
    "more than {cap}" (templates/admin/pagination.html)."""

    cap = 10_000

    @cached_property
    def count(self):
        # Unordered and only the keys: the database takes the cheapest index to stop at.
        return self.object_list.order_by().values("pk")[:self.cap + 1].count()


class ColumnsOnlyChangeList(ChangeList):
    """Reads only the columns the page shows (`list_only`): no JSON outputs or a site's
    whole HTML decoded for 25 rows, no user's password hash. Only the page's rows: the
    count and the actions' querysets are as Django makes them."""

    def get_results(self, request):
        whole = self.queryset
        self.queryset = whole.only(*self.model_admin.list_only)
        try:
            super().get_results(request)
        finally:
            self.queryset = whole


class BigListAdmin(admin.ModelAdmin):
    """A change list that stays fast at any size: a bounded count, no second COUNT of
    the whole table for "N of M", and filters that never ask the table for its values."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    # Facets count every filter choice over the whole table ("Show counts" would run one
    # COUNT per choice on a million rows).
    show_facets = admin.ShowFacets.NEVER
    # The rows written in one pass (stacks/templatetags/big_admin_list.py).
    change_list_template = "admin/big_change_list.html"
    # The fields the rows read (their columns, str() of them and of the row): anything
    # missing here costs a query per row (the flat query-count tests catch it).
    list_only = ["pk"]
    # Newest first by the primary key's index (ids follow creation); no sorting by a
    # column the database would have to sort the whole table for.
    ordering = ["-pk"]
    sortable_by = ()
    # Django's change list renders a row in about a millisecond on two shared CPUs, a
    # third of it the action checkbox's form widget: 25 rows (not 100), and the checkbox
    # written directly, keep the page within its 50 ms.
    list_per_page = 25

    # Searched by what an index finds: a user name exactly (that user's rows), else the
    # start of a name (search_prefixes) or a code; never LIKE '%…%' over a million rows.
    search_prefixes = ["stack_name"]
    search_help_text = "A user name, the start of a name or stack name, or a code."

    def get_changelist(self, request, **kwargs):
        return ColumnsOnlyChangeList

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        owner = get_user_model().objects.filter(username=term).values_list("pk",
                                                                           flat=True)
        if owner:
            # Alone, not OR'ed, and newest by time: the index that leads with the owner
            # then gives the page in order (by id, the database would walk the whole
            # table's primary key for a user whose rows are old, filtering).
            return (queryset.filter(owner_id=owner[0])
                    .order_by(f"-{self.model.newest_field}", "-pk")), False
        matches = [Q(**{f"{field}__startswith": term}) for field in self.search_prefixes]
        try:
            matches.append(Q(code=uuid.UUID(term)))
        except ValueError:
            pass
        return queryset.filter(functools.reduce(operator.or_, matches)), False

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        """Django's own checkbox (same markup), without a form widget per row."""
        # format_html's markup, its escaping without its lazy-string checks: once per row.
        return mark_safe(f'<input type="checkbox" name="{ACTION_CHECKBOX_NAME}" '
                         f'value="{escape(str(obj.pk))}" class="action-select" '
                         f'aria-label="Select this object for an action - {escape(str(obj))}">')


class ChoicesFilter(admin.SimpleListFilter):
    """A filter of fixed values: unlike a filter on a field without choices, it never
    runs SELECT DISTINCT over the whole table to find them."""

    choices_of = staticmethod(lambda: [])

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.choices_of()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.parameter_name: self.value()})
        return queryset


class TargetFilter(ChoicesFilter):
    title = parameter_name = "target"
    choices_of = staticmethod(lambda: ["aws", "local"])


@functools.lru_cache(maxsize=64)
def _change_url(app_label, model_name, script_prefix):
    """The admin change page's URL of a model, "__pk__" for the object's key: one
    reverse() per model and script prefix (reverse() uses the request's, the key says
    which), not one per row."""
    return reverse(f"admin:{app_label}_{model_name}_change", args=["__pk__"])


@functools.lru_cache(maxsize=64)
def _resource_link(app_label, model_name, script_prefix):
    """The resource column's link, "__pk__" for the resource's id (in the URL and the
    text): what format_html wrote, worked out once per kind of resource."""
    from django.apps import apps

    url = _change_url(app_label, model_name, script_prefix)
    name = apps.get_model(app_label, model_name)._meta.verbose_name
    return f'<a href="{escape(url)}">{escape(str(name))} __pk__</a>'


class ResourceTypeFilter(ChoicesFilter):
    """Sites or VMs: only the resource models (Django's filter on the foreign key would
    list every content type of the project, read from the database on every page)."""

    title = "resource type"
    parameter_name = "resource_type__id__exact"  # the URL Django's filter made

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*resource_models())  # cached
        return sorted(((str(t.pk), model._meta.verbose_name) for model, t in types.items()),
                      key=lambda choice: choice[1])


class ThroughDeploymentsOnly(BigListAdmin):
    """Read-only pages and no delete; the actions below are the only way to change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Deployment)
class DeploymentAdmin(ThroughDeploymentsOnly):
    list_display = ["stack_name", "resource", "action", "status", "owner", "requested_by",
                    "queued_at", "started_at", "finished_at"]
    list_filter = ["status", "action", ResourceTypeFilter]
    search_fields = ["stack_name", "owner__username", "code"]
    readonly_fields = [f.name for f in Deployment._meta.fields] + ["log_view"]
    list_select_related = ["owner", "requested_by"]
    list_only = ["stack_name", "resource_type", "resource_id", "action", "status",
                 "owner__username", "requested_by__username", "queued_at", "started_at",
                 "finished_at"]

    @admin.display(description="resource")
    def resource(self, obj):
        """A link to the deployment's site or VM in the admin (no query: the URL comes
        from the content type's cached model)."""
        meta = ContentType.objects.get_for_id(obj.resource_type_id).model_class()._meta
        link = _resource_link(meta.app_label, meta.model_name, get_script_prefix())
        return mark_safe(link.replace("__pk__", escape(str(obj.resource_id))))

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
    list_filter = ["status", TargetFilter]
    search_fields = ["name", "stack_name", "owner__username", "code"]
    search_prefixes = ["name", "stack_name"]
    list_select_related = ["owner"]
    list_only = ["name", "owner__username", "status", "target", "stack_name", "created",
                 "updated"]
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


from . import notify_admin  # noqa: E402,F401 - webhooks and deliveries (issue #16)
from . import budget_admin  # noqa: E402,F401 - budgets per user (issue #17)
