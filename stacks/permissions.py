"""Who may do what (issue #18): the one place every page, the API and the deployment
pages ask.

A personal resource (no team) is its owner's alone. A team's resource is its members':
a viewer sees it; a deployer also deploys and changes it (create, update, preview,
refresh, retry, cancel, apply, rollback, domains); an admin also deletes it (and sets
its expiry, a scheduled delete) and manages the team's members. A resource the user may
not even view does not exist for them (404); one they see but may not change this way is
a 403 with the reason.
"""
from django.db.models import Q

VIEW, DEPLOY, DELETE, MANAGE = "view", "deploy", "delete", "manage"
ACTIONS = (VIEW, DEPLOY, DELETE, MANAGE)
OWNER = "owner"  # the role of a personal resource's owner

ALLOWED = {
    OWNER: {VIEW, DEPLOY, DELETE},
    "viewer": {VIEW},
    "deployer": {VIEW, DEPLOY},
    "admin": {VIEW, DEPLOY, DELETE, MANAGE},
}
WORDS = {VIEW: "see", DEPLOY: "deploy or change", DELETE: "delete",
         MANAGE: "manage the members of"}


def roles_of(user):
    """{team id: role} of the user's teams: one query, kept on the user object for the
    rest of the request."""
    if not user.is_authenticated:
        return {}
    roles = getattr(user, "_team_roles", None)
    if roles is None:
        from accounts.team_models import Membership

        roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
        user._team_roles = roles
    return roles


def forget_roles(user):
    """After the user's memberships changed within this request."""
    try:
        del user._team_roles  # (request.user is a lazy object: del reaches the user)
    except AttributeError:
        pass


def role_on(user, thing):
    """The user's role on a resource, a deployment (both have `owner_id` and `team_id`) or
    a team: OWNER for their personal resource, their role in its team, or None."""
    from accounts.team_models import Team

    if not user.is_authenticated:
        return None
    team_id = thing.pk if isinstance(thing, Team) else thing.team_id
    if team_id is None:
        return OWNER if thing.owner_id == user.pk else None
    return roles_of(user).get(team_id)


def may(user, action, thing):
    """Whether `user` may do `action` (VIEW, DEPLOY, DELETE, MANAGE) on `thing`."""
    assert action in ACTIONS, action
    return action in ALLOWED.get(role_on(user, thing), ())


def refusal(action, thing):
    """Why a member may not: a sentence for the 403 page or the API."""
    team = getattr(thing, "team", thing)
    return (f"Your role in the team {team} does not let you {WORDS[action]} "
            f"{getattr(thing, 'name', 'it')}; ask one of its admins.")


def visible_to(user, model):
    """The rows of `model` (a resource kind or Deployment) the user may view: their
    personal ones and their teams'. Flat: the team ids come from roles_of (one query,
    once per request), never one query per row."""
    if not user.is_authenticated:
        return model.objects.none()
    mine = Q(owner=user, team=None)
    teams = list(roles_of(user))
    return model.objects.filter(mine | Q(team__in=teams) if teams else mine)


def deploy_teams(user):
    """The teams the user may create resources for (deployer or admin)."""
    from accounts.team_models import Team

    ids = [team for team, role in roles_of(user).items() if DEPLOY in ALLOWED[role]]
    return Team.objects.filter(pk__in=ids)


def people_who_may(action, thing):
    """The users who may do `action` on a resource or deployment, each once: its owner for
    a personal one; for a team's, the active members whose role allows it (a creator who
    has left the team is not one)."""
    if thing.team_id is None:
        return [thing.owner]
    from django.contrib.auth import get_user_model

    roles = [role for role, actions in ALLOWED.items() if action in actions and role != OWNER]
    return list(get_user_model().objects.filter(
        is_active=True, memberships__team_id=thing.team_id,
        memberships__role__in=roles).order_by("pk"))
