"""Operators see teams with their members; invitations are read-only (only a hash of a
link is kept)."""
import secrets

from django.contrib import admin
from django.utils.text import slugify

from .team_models import Invitation, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined"]
    readonly_fields = ["joined"]


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    can_delete = False
    fields = ["email", "role", "invited_by", "created", "expires", "accepted_at",
              "accepted_by", "cancelled_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # an invitation is a mailed link: made from the team page


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "code", "created"]
    inlines = [MembershipInline, InvitationInline]

    def save_model(self, request, obj, form, change):
        if not change and not obj.slug:
            obj.slug = f"{slugify(obj.name)[:50] or 'team'}-{secrets.token_hex(3)}"
        super().save_model(request, obj, form, change)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "team", "role", "invited_by", "created", "expires",
                    "accepted_at", "cancelled_at"]
    list_select_related = ["team", "invited_by"]
    search_fields = ["email", "team__name"]
    readonly_fields = ["team", "email", "role", "invited_by", "created", "expires",
                       "accepted_at", "accepted_by", "cancelled_at"]
    exclude = ["digest"]

    def has_add_permission(self, request):
        return False
