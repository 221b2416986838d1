from django.contrib import admin

from stacks.admin import StackResourceAdmin

from .models import Release, Site, SiteDomain


@admin.register(Site)
class SiteAdmin(StackResourceAdmin):
    list_display = StackResourceAdmin.list_display + ["source"]
    list_filter = StackResourceAdmin.list_filter + ["source"]
    list_only = StackResourceAdmin.list_only + ["source"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """Releases are records of what was published: read-only here too."""

    list_display = ["site", "number", "created", "created_by", "source", "file_count",
                    "total_bytes", "rollback_of"]
    list_select_related = ["site", "created_by"]
    raw_id_fields = ["site", "deployment", "created_by"]
    exclude = ["files", "content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SiteDomain)
class SiteDomainAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "verified_at", "checked_at", "last_error"]
    list_select_related = ["site"]
    search_fields = ["name"]
    raw_id_fields = ["site"]
    readonly_fields = ["token", "verified_at", "checked_at", "last_error"]
