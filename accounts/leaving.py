"""Leaving (issue #18): a user deletes their account.

At once: the account is marked leaving and deactivated (no login, no token works), its
sessions end, its tokens are revoked. Then each of its sites and machines is destroyed
through an ordinary deployment (stacks/services.request_deployment, action destroy), as
many at a time as the live-deployment quota lets; `advance_departures`, run by the
scheduler, asks for the rest as earlier ones finish, and retries a failed destroy. When
nothing of the user's is left undeleted, the personal data goes: address, saved keys,
webhooks, two-factor devices, password. The rows of resources and deployments stay
(marked deleted), as for any destroyed resource, with their history.

Teams (issue #18): a team's sites and machines stay with the team (only personal ones
are destroyed); the user's memberships end at once. The last admin of a team cannot
leave until someone else is admin: the team would have no one to manage it.
"""
import logging

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from sites.models import Site
from stacks.models import Deployment, Status
from stacks.services import DeploymentRefused, request_deployment
from stacks.webhooks import Webhook
from vms.models import VirtualMachine

from . import sessions, twofactor
from .account_models import Profile
from .team_models import Membership, Role

log = logging.getLogger(__name__)
RESOURCE_MODELS = (Site, VirtualMachine)


def refusal(user):
    """Why the user cannot leave now ("" when they can): the teams they are the last
    admin of."""
    mine = Membership.objects.filter(user=user, role=Role.ADMIN)
    others = Membership.objects.filter(team=OuterRef("team"), role=Role.ADMIN).exclude(
        user=user)
    alone = [m.team.name for m in mine.filter(~Exists(others)).select_related("team")]
    if not alone:
        return ""
    return (f"You are the last admin of {', '.join(sorted(alone))}: make another member "
            "admin first (a team's sites and machines stay with it).")


def leave(user):
    """Start the user's departure (once); False when it had started already, or when the
    user is a team's last admin (refusal)."""
    if refusal(user):
        return False
    profile = Profile.for_user(user)
    if not profile.start_leaving():
        return False
    Membership.objects.filter(user=user).delete()  # team resources stay with the team
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    sessions.end(user)
    for token in user.tokens.filter(revoked_at=None):
        token.revoke()
    log.info("account %s is leaving: its resources are being destroyed", user.pk)
    advance(user)
    return True


def advance(user):
    """Ask to destroy what is left; once nothing is, remove the personal data. True when
    the departure is complete."""
    remaining = 0
    for model in RESOURCE_MODELS:
        for resource in _undeleted(model, user):
            remaining += 1
            if not resource.busy:
                _destroy(resource, user)
    if remaining:
        return False
    return _scrub(user)


def advance_departures():
    """For the scheduler: move every unfinished departure on. Returns how many ended."""
    leaving = Profile.objects.exclude(leaving_since=None).filter(left_at=None)
    return sum(advance(profile.user) for profile in leaving.select_related("user"))


def _undeleted(model, user):
    busy = Deployment.objects.filter(stack_name=OuterRef("stack_name"),
                                     status__in=Deployment.ACTIVE_STATES)
    return model.objects.filter(owner=user, team=None).exclude(status=Status.DELETED).annotate(
        busy=Exists(busy))


def _destroy(resource, user):
    try:
        request_deployment(resource, Deployment.Action.DESTROY, user)
    except DeploymentRefused as exc:  # over the quota, host unreachable: next time
        log.info("leaving %s: %s not destroyed yet: %s", user.pk, resource.name, exc)


def _scrub(user):
    profile = Profile.for_user(user)
    if not profile.finish_leaving():
        return False
    user.ssh_keys.all().delete()
    Webhook.objects.filter(owner=user).delete()
    twofactor.disable(user)
    sessions.end(user)
    user.set_unusable_password()
    user.email = ""
    user.first_name = user.last_name = ""
    user.save(update_fields=["password", "email", "first_name", "last_name"])
    log.info("account %s has left: its resources are destroyed, its data removed", user.pk)
    return True
