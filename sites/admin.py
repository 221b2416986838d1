from django.contrib import admin

from stacks.admin import StackResourceAdmin

from .models import Site


@admin.register(Site)
class SiteAdmin(StackResourceAdmin):
    list_display = StackResourceAdmin.list_display + ["source"]
    list_filter = StackResourceAdmin.list_filter + ["source"]
    list_only = StackResourceAdmin.list_only + ["source"]
