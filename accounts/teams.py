"""Team invitations (issue #18): an emailed, single-use, expiring link; accepted only by a
user signed in with the invited address, verified."""
import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from .account_models import Profile
from .team_models import Invitation, Membership

log = logging.getLogger(__name__)
INVALID = "This invitation link is invalid, was used already, was withdrawn or has expired."


class InvitationRefused(Exception):
    """The message says why, for the user."""


def link(token):
    return f"{settings.HEROCOOL_BASE_URL}{reverse('teams-accept')}?t={token}"


def invite(team, email, role, invited_by):
    """Record the invitation, then mail its link. Returns (invitation, sent): a mail
    server that is down leaves the invitation pending, to be withdrawn and sent again."""
    invitation, token = Invitation.issue(team, email, role, invited_by)
    days = max(settings.TEAM_INVITATION_MAX_AGE // 86400, 1)
    try:
        send_mail(f"Herocool: join the team {team}",
                  f"Hello,\n\n{invited_by.username} invites you to the team {team} on "
                  f"Herocool as {role}. Sign in with this address ({email}), confirmed, and "
                  f"open this link within {days} day(s):\n\n{link(token)}\n\n"
                  "If you did not expect this, ignore this message.\n",
                  None, [email])
    except (OSError, smtplib.SMTPException):
        log.warning("invitation %s not sent: mail server unavailable", invitation.pk,
                    exc_info=True)
        return invitation, False
    return invitation, True


def pending(token):
    """The pending invitation of a link, or InvitationRefused."""
    invitation = Invitation.find(token)
    if invitation is None or not invitation.is_pending:
        raise InvitationRefused(INVALID)
    return invitation


def accept(token, user):
    """Join the team of the link's invitation, with its role (a member already keeps
    theirs). Returns the membership."""
    invitation = pending(token)
    if not (Profile.email_is_verified(user)
            and user.email.lower() == invitation.email.lower()):
        raise InvitationRefused(
            "This invitation is for another address: sign in with the address it was sent "
            "to, confirmed on your Account page, then open the link again.")
    with transaction.atomic():
        if not invitation.claim(user):
            raise InvitationRefused(INVALID)
        membership, _ = Membership.objects.get_or_create(
            team=invitation.team, user=user, defaults={"role": invitation.role})
    log.info("user %s joined team %s as %s", user.pk, invitation.team_id, membership.role)
    return membership
