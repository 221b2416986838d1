"""Teams (issue #18): a team owns sites and machines; its members act on them by role.

A site or machine belongs to a user or to a team (its nullable `team`); `owner` stays the
user who created it, and its stack name stays derived from that owner's id and its code
(stacks/models.py), so nothing is renamed when people come and go. Who may do what is
decided in one place: stacks/permissions.py.
"""
import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer: sees"
    DEPLOYER = "deployer", "Deployer: sees, deploys and changes"
    ADMIN = "admin", "Admin: also deletes and manages members"


class LastAdmin(Exception):
    """A team must keep an admin: the message says so, for the user."""


class TeamInUse(Exception):
    """A team that still owns sites or machines cannot be deleted: the message says
    which, for the user."""


RESERVED_SLUGS = {"me"}


class Team(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    # Set once at creation, never changed: how the API names the team.
    slug = models.SlugField(max_length=63, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("teams-detail", args=[self.code])

    @classmethod
    def start(cls, name, creator):
        """A new team, its creator its first admin."""
        base = slugify(name)[:50] or "team"
        with transaction.atomic():
            slug = base
            # "me" is the API's and CLI's word for "personal": never a team's slug.
            while slug in RESERVED_SLUGS or cls.objects.filter(slug=slug).exists():
                slug = f"{base}-{secrets.token_hex(3)}"
            team = cls.objects.create(name=name, slug=slug)
            Membership.objects.create(team=team, user=creator, role=Role.ADMIN)
        return team

    def rename(self, name):
        """Change the display name only: the slug (the API's and CLI's name for it), the
        code (its URLs) and its resources' stack names stay."""
        Team.objects.filter(pk=self.pk).update(name=name)
        self.name = name

    def alive_resources(self):
        """Its sites and machines that are not deleted (destroying ones included)."""
        from stacks.models import Status, resource_models

        return [r for model in resource_models()
                for r in model.objects.filter(team=self).exclude(status=Status.DELETED)
                .only("name").order_by("name")]

    def dissolve(self):
        """Delete the team, once it owns nothing alive (TeamInUse says what it still
        owns): its memberships and invitations go, and its row too unless deleted
        resources or deployments still name it (their history keeps its name; with no
        members it is no one's to see). Under the team's quota lock, which every create
        for the team takes (stacks.services.lock_team): a create under way is seen here,
        and one that comes after finds its maker no longer in the team and is refused."""
        from stacks.services import lock_team

        with transaction.atomic():
            lock_team(self.pk)  # first, as creates take it before any row lock
            self.locked()
            alive = self.alive_resources()
            if alive:
                names = ", ".join(r.name for r in alive[:5]) + (", ..." if alive[5:] else "")
                raise TeamInUse(f"{self} still owns {len(alive)} site(s) or machine(s) "
                                f"({names}): delete them first.")
            self.invitations.all().delete()
            self.memberships.all().delete()
            try:
                self.delete()
            except ProtectedError:
                pass  # its deleted resources' rows keep it, memberless

    def locked(self):
        """This team's row, locked until the transaction ends: membership changes of one
        team happen one at a time, so two admins cannot each demote the other."""
        return Team.objects.select_for_update().get(pk=self.pk)


class Membership(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"],
                                               name="one_membership_per_team_and_user")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    def _is_last_admin(self):
        return self.role == Role.ADMIN and not self.team.memberships.filter(
            role=Role.ADMIN).exclude(pk=self.pk).exists()

    # --- state changes: under the team's lock, each from the state it expects ---------
    def set_role(self, role):
        """Change the role; the last admin cannot be demoted (LastAdmin)."""
        with transaction.atomic():
            self.team.locked()
            self.refresh_from_db(fields=["role"])
            if role != Role.ADMIN and self._is_last_admin():
                raise LastAdmin(f"{self.user} is the last admin of {self.team}: make "
                                "someone else admin first.")
            Membership.objects.filter(pk=self.pk).update(role=role)
            self.role = role

    def end(self):
        """Leave or be removed; the last admin cannot go (LastAdmin)."""
        with transaction.atomic():
            self.team.locked()
            self.refresh_from_db(fields=["role"])
            if self._is_last_admin():
                raise LastAdmin(f"{self.user} is the last admin of {self.team}: make "
                                "someone else admin first.")
            Membership.objects.filter(pk=self.pk).delete()


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """An emailed link to join a team with a role. Only a SHA-256 of the link's token is
    kept; the link works once, before `expires`, for a user signed in with the invited,
    verified address."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.email} to {self.team} as {self.role}"

    @classmethod
    def issue(cls, team, email, role, invited_by):
        """(invitation, token): the token goes into the emailed link, never stored."""
        token = secrets.token_urlsafe(32)
        expires = timezone.now() + timedelta(seconds=settings.TEAM_INVITATION_MAX_AGE)
        invitation = cls.objects.create(team=team, email=email, role=role,
                                        digest=_digest(token), invited_by=invited_by,
                                        expires=expires)
        return invitation, token

    @classmethod
    def find(cls, token):
        return cls.objects.select_related("team").filter(digest=_digest(token or "")).first()

    @property
    def is_pending(self):
        return (self.accepted_at is None and self.cancelled_at is None
                and self.expires > timezone.now())

    # --- state changes: each one conditional on the state it expects -----------------
    def claim(self, user):
        """Mark it accepted by `user`, once, while it is pending. True if it happened."""
        now = timezone.now()
        changed = Invitation.objects.filter(
            pk=self.pk, accepted_at=None, cancelled_at=None, expires__gt=now).update(
            accepted_at=now, accepted_by=user)
        return changed == 1

    def cancel(self):
        now = timezone.now()
        return Invitation.objects.filter(pk=self.pk, accepted_at=None,
                                         cancelled_at=None).update(cancelled_at=now) == 1
