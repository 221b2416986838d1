from django.conf import settings
from django.contrib import admin

from stacks.admin import ChoicesFilter, StackResourceAdmin

from .models import VirtualMachine


class InstanceTypeFilter(ChoicesFilter):
    title = "instance type"
    parameter_name = "instance_type"
    choices_of = staticmethod(lambda: list(settings.VM_INSTANCE_TYPES))


@admin.register(VirtualMachine)
class VirtualMachineAdmin(StackResourceAdmin):
    list_display = StackResourceAdmin.list_display + ["instance_type", "allowed_cidr"]
    list_filter = StackResourceAdmin.list_filter + [InstanceTypeFilter]
    list_only = StackResourceAdmin.list_only + ["instance_type", "allowed_cidr"]
