"""Operators set a user's monthly budget here (issue #17): it overrides the default."""
from django.contrib import admin

from .budget import UserBudget


@admin.register(UserBudget)
class UserBudgetAdmin(admin.ModelAdmin):
    list_display = ["user", "monthly_usd"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
