"""Monthly budgets: a create or update whose estimate would bring its owner past theirs is
refused by request_deployment (so every path: forms, the API, retry, preview-apply, admin
actions) before anything is queued; from HEROCOOL_BUDGET_WARN_FRACTION on, it is warned.

A user's budget is the operator's override (UserBudget, set in the admin) or else
HEROCOOL_DEFAULT_BUDGET_USD; empty means none.
"""
from decimal import Decimal

from django.conf import settings
from django.db import connection, models

from . import cost


class UserBudget(models.Model):
    """An operator's choice of one user's monthly budget (empty: no budget for them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="budget")
    monthly_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True,
        help_text="Empty: no budget for this user (the default budget does not apply).")

    class Meta:
        app_label = "stacks"

    def __str__(self):
        return f"{self.user}: {self.monthly_usd if self.monthly_usd is not None else 'none'}"


class OverBudget(Exception):
    """The message says by how much."""


def budget_of(user_id):
    """The user's monthly budget in USD (a Decimal), or None when they have none. Plain
    SQL: the dashboard and every create or update ask it (issues #11, #13)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT monthly_usd FROM {UserBudget._meta.db_table} "
                       "WHERE user_id = %s", [user_id])
        override = cursor.fetchone()
    if override is None:
        return default_budget()
    return None if override[0] is None else Decimal(str(override[0]))  # SQLite: a float


def default_budget():
    value = settings.HEROCOOL_DEFAULT_BUDGET_USD  # checked by settings.py
    return Decimal(value) if value else None


def check(resource, grows_from):
    """Judge `resource` as it will be (changes applied in memory), given what it cost
    before (`grows_from`: an Estimate, None for a create). Raises OverBudget; returns a
    warning (or "")."""
    # Issue #18: a team's resources count against the team, whose budget is the default.
    budget = budget_of(resource.owner_id) if resource.team_id is None else default_budget()
    if budget is None:
        return ""
    others, _ = cost.owner_total(resource.owner_id, excluding=resource,
                                 team_id=resource.team_id)
    after = others + resource.monthly_estimate().total
    before = others + (grows_from.total if grows_from is not None else 0)
    if after > budget and after > before:
        raise OverBudget(
            f"This would bring your monthly estimate to {cost.usd(after)}, "
            f"{cost.usd(after - budget)} over your budget of {cost.usd(budget)}. Nothing was "
            "changed: pick something smaller or delete a resource first.")
    return warning(after, budget)


def over_budget(resource, grows_from):
    """What check() would refuse, as a sentence ("" when it would pass): for a preview."""
    try:
        check(resource, grows_from)
    except OverBudget as exc:
        return str(exc).split(". Nothing was changed")[0]
    return ""


def warning(total, budget):
    if budget <= 0 or total < budget * Decimal(str(settings.HEROCOOL_BUDGET_WARN_FRACTION)):
        return ""
    share = int(total * 100 / budget)
    return (f"Your monthly estimate is now {cost.usd(total)}, {share}% of your budget of "
            f"{cost.usd(budget)}.")


def standing(user_id):
    """(total, budget or None, unpriced count, warning): for the dashboard."""
    total, unpriced = cost.owner_total(user_id)
    budget = budget_of(user_id)
    return total, budget, unpriced, warning(total, budget) if budget is not None else ""
