"""Admin for notifications (imported by stacks/admin.py): operators see users' webhooks
(never their secrets) and may switch one off; deliveries and their attempts are a
read-only record."""
from django.contrib import admin

from .webhooks import NotificationSettings, Webhook, WebhookAttempt, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "active", "events", "created"]
    list_filter = ["active"]
    search_fields = ["url", "owner__username"]
    list_select_related = ["owner"]
    fields = ["code", "owner", "url", "events", "active", "created"]
    readonly_fields = ["code", "owner", "url", "events", "created"]

    def has_add_permission(self, request):
        return False


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ["number", "started_at", "finished_at", "response_status",
                                "excerpt"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "webhook", "status", "attempts", "created", "finished_at"]
    list_filter = ["status", "event"]
    search_fields = ["code", "webhook__url"]
    list_select_related = ["webhook"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [AttemptInline]
    ordering = ["-pk"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "email_on_failure"]
    search_fields = ["user__username"]
    readonly_fields = ["user"]

    def has_add_permission(self, request):
        return False
