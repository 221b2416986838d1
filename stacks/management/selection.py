"""Choosing resources in maintenance commands: --user and --resource."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from stacks.models import Status, resource_models


def add_selection_arguments(parser):
    parser.add_argument("--user", help="Only this user's resources (username).")
    parser.add_argument("--resource", help="Only this resource (its code or stack name).")


def select_resources(options, *, include_deleted=False):
    user = None
    if options.get("user"):
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
    found = []
    for model in resource_models():
        qs = model.objects.select_related("owner").order_by("pk")
        if not include_deleted:
            qs = qs.exclude(status=Status.DELETED)
        if user:
            qs = qs.filter(owner=user)
        if options.get("resource"):
            qs = _by_id(qs, options["resource"])
        found += list(qs)
    if options.get("resource") and not found:
        raise CommandError(f"No resource {options['resource']!r}.")
    return found


def _by_id(qs, value):
    import uuid

    try:
        return qs.filter(code=uuid.UUID(value))
    except ValueError:
        return qs.filter(stack_name=value)
