from django.contrib import admin

from stacks.admin import StackResourceAdmin

from .models import VirtualMachine


@admin.register(VirtualMachine)
class VirtualMachineAdmin(StackResourceAdmin):
    list_display = StackResourceAdmin.list_display + ["instance_type", "allowed_cidr"]
    list_filter = StackResourceAdmin.list_filter + ["instance_type"]
