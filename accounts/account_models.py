"""What an account keeps beside Django's User (issue #18): its verified address and
departure, its saved SSH keys, and the record of its signed-in sessions."""
import base64
import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from vms import sshkeys


class Profile(models.Model):
    """One per user, made on first need: which address was verified, and leaving."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="profile")
    # The address a signed link proved; User.email differing from it is unverified.
    verified_email = models.EmailField(blank=True)
    leaving_since = models.DateTimeField(null=True, blank=True, editable=False)
    left_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self):
        return f"profile of {self.user}"

    @classmethod
    def for_user(cls, user):
        return cls.objects.get_or_create(user=user)[0]

    @classmethod
    def for_user_id(cls, user_id):
        """The profile of an existing user id (made if need be); None if no such user."""
        from django.contrib.auth import get_user_model

        if not get_user_model().objects.filter(pk=user_id).exists():
            return None
        return cls.objects.get_or_create(user_id=user_id)[0]

    @classmethod
    def email_is_verified(cls, user):
        """True when the user's address is the one a link proved."""
        return bool(user.email) and cls.objects.filter(
            user=user, verified_email__iexact=user.email).exists()

    # --- state changes: each one conditional on the state it expects -----------------
    def verify(self, email):
        """Mark `email` verified if it is still the user's address; False if not."""
        return Profile.objects.filter(pk=self.pk, user__email__iexact=email).update(
            verified_email=email) == 1

    def start_leaving(self):
        """Mark the account leaving now; False when it already was."""
        now = timezone.now()
        changed = Profile.objects.filter(pk=self.pk, leaving_since=None).update(
            leaving_since=now)
        if changed:
            self.leaving_since = now
        return changed == 1

    def finish_leaving(self):
        """Mark the departure complete; False when it was, or never started."""
        now = timezone.now()
        changed = Profile.objects.filter(pk=self.pk, left_at=None).exclude(
            leaving_since=None).update(left_at=now, verified_email="")
        if changed:
            self.left_at = now
        return changed == 1


class SshKey(models.Model):
    """A public key saved on the account, offered on the machine form. Machines copy the
    key's text when made: removing it here changes no machine."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="ssh_keys")
    name = models.CharField(max_length=100)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=100, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "fingerprint"],
                                               name="one_saved_copy_of_a_key")]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"

    def save(self, *args, **kwargs):
        self.fingerprint = fingerprint(self.public_key)
        super().save(*args, **kwargs)


def fingerprint(public_key):
    """OpenSSH's SHA256 fingerprint of a normalized public key line."""
    blob = base64.b64decode(public_key.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def normalize(text):
    """The key as one clean line, or sshkeys.InvalidKey (the VM form's own checks)."""
    return sshkeys.normalize_public_key(text)


class LoginSession(models.Model):
    """A session made by a login: whose, from where, with what, when. The session itself
    is Django's (database backend); ending it deletes both."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    address = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_in_at", "-id"]

    def __str__(self):
        return f"{self.user} from {self.address or '?'} at {self.signed_in_at:%Y-%m-%d %H:%M}"
