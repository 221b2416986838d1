from django.conf import settings
from django.contrib import admin

from stacks.admin import ChoicesFilter, StackResourceAdmin

from .models import VirtualMachine


class InstanceTypeFilter(ChoicesFilter):
    title = "instance type"
    parameter_name = "instance_type"
    choices_of = staticmethod(lambda: list(settings.VM_INSTANCE_TYPES))


class NetworkCutFilter(admin.SimpleListFilter):
    """The machines whose host has their network switched off: one fixed choice (no
    query for the choices), read through the partial index of the few cut rows."""

    title = "network"
    parameter_name = "network_cut"

    def lookups(self, request, model_admin):
        return [("yes", "switched off by its host")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(network_cut_at__isnull=False)
        return queryset


@admin.register(VirtualMachine)
class VirtualMachineAdmin(StackResourceAdmin):
    list_display = StackResourceAdmin.list_display + ["instance_type", "allowed_cidr"]
    list_filter = StackResourceAdmin.list_filter + [InstanceTypeFilter, NetworkCutFilter]
    readonly_fields = ["network_cut_at"]
    list_only = StackResourceAdmin.list_only + ["instance_type", "allowed_cidr"]
