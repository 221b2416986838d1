"""Operators see every personal access token (never its secret: only a hash is kept)
and revoke them."""
from django.contrib import admin, messages

from .models import Token


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "scopes", "created", "expires",
                    "last_used_at", "last_used_from", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["user", "name", "scopes", "prefix", "created", "expires",
                       "last_used_at", "last_used_from", "revoked_at"]
    exclude = ["digest"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False  # a token is made by its user, who alone sees its text

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = sum(token.revoke() for token in queryset)
        messages.success(request, f"Revoked {revoked} token(s).")
from . import team_admin  # noqa: E402,F401 - issue #18: teams
