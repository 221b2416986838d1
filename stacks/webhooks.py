"""Notification records: a user's webhooks, each delivery of an event to one of them and
its attempts, and whether the user is emailed when a deployment fails. Sending them is
stacks/notify.py's work; the state changes are here, each a conditional update.

A delivery is claimed per attempt (its attempt counter moves from n - 1 to n in one
UPDATE), so a job enqueued twice, or re-enqueued by the retry pass while a slow one
still runs, sends each attempt at most once; the attempt's row is written before the
request goes out, so a worker killed mid-send leaves evidence.
"""
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


PING = "ping"  # a test delivery the owner asks for; no deployment


def new_secret():
    return "whsec_" + secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A URL of a user's that hears about their deployments, signed with its secret."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="webhooks")
    url = models.URLField("URL", max_length=2000)
    # The HMAC key: kept as it is (a hash could not sign), shown to its owner only.
    secret = models.CharField(max_length=80, default=new_secret, editable=False)
    events = models.JSONField(default=list)  # Event values
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.url

    def wants(self, event):
        return self.active and event in self.events


class WebhookDelivery(models.Model):
    """One event for one webhook: the body sent, its attempts, how it ended."""

    class Status(models.TextChoices):
        PENDING = "pending"      # waiting for its next attempt (next_attempt_at)
        SENDING = "sending"      # an attempt is under way
        DELIVERED = "delivered"  # answered 2xx
        FAILED = "failed"        # every attempt failed

    WAITING = (Status.PENDING, Status.SENDING)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)
    deployment = models.ForeignKey("stacks.Deployment", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the retry pass (stacks/notify.py) enqueues it, unless a job took it before;
    # for one being sent, when that attempt is taken for lost.
    next_attempt_at = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.event} → {self.webhook_id} ({self.status})"

    @property
    def event_name(self):
        """The Herocool-Event header: deployment.<event>, or ping."""
        return self.event if self.event == PING else f"deployment.{self.event}"

    @classmethod
    def due(cls):
        return cls.objects.filter(status__in=cls.WAITING, next_attempt_at__lte=timezone.now())

    def _move(self, expected_attempts, **fields):
        changed = WebhookDelivery.objects.filter(
            pk=self.pk, status__in=self.WAITING, attempts=expected_attempts).update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(self, name, value)
        return changed == 1

    def claim(self, attempt):
        """Take attempt number `attempt`: only one job can, and only the next one."""
        lost_after = timedelta(seconds=settings.WEBHOOK_TIMEOUT + 60)
        return self._move(attempt - 1, status=self.Status.SENDING, attempts=attempt,
                          next_attempt_at=timezone.now() + lost_after)

    def postpone(self, expected_next):
        """The retry pass enqueued it: not again until this attempt is taken for lost.
        False when something else moved it meanwhile."""
        lost_after = timedelta(seconds=settings.WEBHOOK_TIMEOUT + 60)
        return WebhookDelivery.objects.filter(
            pk=self.pk, status__in=self.WAITING, attempts=self.attempts,
            next_attempt_at=expected_next).update(
                next_attempt_at=timezone.now() + lost_after) == 1

    def retry_in(self, seconds):
        return self._move(self.attempts, status=self.Status.PENDING,
                          next_attempt_at=timezone.now() + timedelta(seconds=seconds))

    def end(self, status):
        return self._move(self.attempts, status=status, finished_at=timezone.now())


class WebhookAttempt(models.Model):
    """One request of a delivery: written before it is sent, completed with the answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    # The start of the response's body, or why there was none.
    excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"],
                                               name="one_attempt_per_number")]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def ok(self):
        return self.response_status is not None and 200 <= self.response_status < 300

    def complete(self, response_status, excerpt):
        self.response_status, self.excerpt = response_status, excerpt[:500]
        self.finished_at = timezone.now()
        WebhookAttempt.objects.filter(pk=self.pk, finished_at=None).update(
            response_status=response_status, excerpt=self.excerpt,
            finished_at=self.finished_at)


class NotificationSettings(models.Model):
    """What a user wants to hear by email (the address is User.email)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_settings")
    email_on_failure = models.BooleanField("Email me when a deployment fails", default=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self):
        return f"notifications of {self.user_id}"

    @classmethod
    def for_user(cls, user):
        """The user's settings; the defaults (not saved) for one who never set them."""
        found = cls.objects.filter(user=user).first()
        return found or cls(user=user)
