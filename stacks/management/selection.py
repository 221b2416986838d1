"""Choosing resources in maintenance commands: --user or --team, and --resource.

An owner is a user or a team, as for quotas: --user selects the user's personal
resources (not those they created for a team), --team SLUG the team's."""
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from stacks.models import Status, resource_models


def add_selection_arguments(parser):
    owner = parser.add_mutually_exclusive_group()
    owner.add_argument("--user", help="Only this user's personal resources (username).")
    owner.add_argument("--team", metavar="SLUG", help="Only this team's resources.")
    parser.add_argument("--resource", help="Only this resource (its code or stack name).")


def select_resources(options, *, include_deleted=False):
    owner = _owner_filter(options)
    found = []
    for model in resource_models():
        qs = model.objects.select_related("owner").filter(**owner).order_by("pk")
        if not include_deleted:
            qs = qs.exclude(status=Status.DELETED)
        if options.get("resource"):
            qs = _by_id(qs, options["resource"])
        found += list(qs)
    if options.get("resource") and not found:
        raise CommandError(f"No resource {options['resource']!r}.")
    return found


def _owner_filter(options):
    """The filter of --user (personal ones) or --team (the team's); {} for everyone's."""
    from accounts.models import Team

    if options.get("user"):
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        return {"owner": user, "team": None}
    if options.get("team"):
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r} (give its slug).")
        return {"team": team}
    return {}


def _by_id(qs, value):
    import uuid

    try:
        return qs.filter(code=uuid.UUID(value))
    except ValueError:
        return qs.filter(stack_name=value)
