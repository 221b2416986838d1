"""Personal access tokens: how scripts and the CLI reach the API (issue #16).

A token is `hc_<prefix>_<secret>`: the prefix finds the row, a SHA-256 of the whole text
is what is kept (random 32-byte secrets need no slow hash), and the text itself is shown
once, when it is made. Revoked or expired tokens stay as rows, for the record.
"""
import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX_BYTES = 6
SECRET_BYTES = 32
# A token used again within this long from the same address is not written again.
LAST_USED_GRANULARITY = timedelta(seconds=60)


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Token(models.Model):
    """A user's personal access token: a name, scopes, an expiry; stored hashed."""

    class Scope(models.TextChoices):
        READ = "read", "Read: list and show sites, machines and deployments"
        DEPLOY = "deploy", "Deploy: create, change and delete sites; deployments"
        MACHINES = "machines", "Machines: create, change and delete virtual machines"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="tokens")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    prefix = models.CharField(max_length=2 * PREFIX_BYTES, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_from = models.CharField(max_length=45, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.name} (hc_{self.prefix}_…)"

    @classmethod
    def issue(cls, user, name, scopes, lifetime):
        """Make a token; returns (token, its text). The text is never stored."""
        prefix = secrets.token_hex(PREFIX_BYTES)
        text = f"hc_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        token = cls.objects.create(user=user, name=name, scopes=sorted(set(scopes)),
                                   prefix=prefix, digest=_digest(text),
                                   expires=timezone.now() + lifetime)
        return token, text

    @classmethod
    def find(cls, text):
        """The token whose text this is, revoked or expired or not; None if none."""
        parts = text.split("_", 2)  # the secret itself may hold "_"
        if len(parts) != 3 or parts[0] != "hc":
            return None
        token = cls.objects.select_related("user").filter(prefix=parts[1]).first()
        if token is None or not hmac.compare_digest(token.digest, _digest(text)):
            return None
        return token

    @property
    def is_expired(self):
        return self.expires <= timezone.now()

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def is_usable(self):
        return not (self.is_revoked or self.is_expired) and self.user.is_active

    def allows(self, scope):
        return scope in self.scopes

    # --- state changes: each one conditional on the state it expects -----------------
    def revoke(self):
        """Revoke it now; False when it already was."""
        now = timezone.now()
        changed = Token.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=now)
        if changed:
            self.revoked_at = now
        return changed == 1

    def note_use(self, address):
        """Record when and from where it was last used (at most once a minute per
        address, so a busy script does not write on every request)."""
        now = timezone.now()
        if (self.last_used_from == address and self.last_used_at
                and self.last_used_at >= now - LAST_USED_GRANULARITY):
            return  # recorded moments ago: no write at all
        stale = (Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
                 | ~Q(last_used_from=address))
        Token.objects.filter(stale, pk=self.pk).update(last_used_at=now,
                                                       last_used_from=address)


# Issue #18: profile (verified address, leaving), saved SSH keys, signed-in sessions.
from .account_models import LoginSession, Profile, SshKey  # noqa: E402,F401
# Issue #18: teams, their members and invitations.
from .team_models import Invitation, Membership, Team  # noqa: E402,F401
