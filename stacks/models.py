"""What sites and VMs share: a resource backed by a Pulumi stack, and its deployments."""
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

NAME_RE = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
validate_name = RegexValidator(
    NAME_RE,
    "Use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a "
    "letter or digit.",
)


class Status(models.TextChoices):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    LIVE = "live"
    UPDATING = "updating"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"


# The statuses during which a deployment is in flight for the resource.
BUSY_STATUSES = (Status.PENDING, Status.PROVISIONING, Status.UPDATING, Status.DELETING)


class StackResource(models.Model):
    """A user's resource whose real state lives in one Pulumi stack of its own."""

    # Subclasses set these: the Pulumi project, the short prefix of stack names, and
    # the fields a user's update changes (what a preview carries before it is applied).
    pulumi_project = ""
    stack_prefix = ""
    change_fields = ()
    # Columns list pages never show: left unloaded there (a site's page can be 1 MB).
    list_deferred = ("last_error",)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    name = models.CharField(max_length=63, validators=[validate_name])
    target = models.CharField(max_length=10, editable=False)
    stack_name = models.CharField(max_length=80, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    outputs = models.JSONField(default=dict, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deployments = GenericRelation("stacks.Deployment", "resource_id", "resource_type")

    class Meta:
        abstract = True
        ordering = ["-created"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Named from stable ids, never from free text: two users cannot collide and a
        # rename (if ever allowed) cannot orphan the stack.
        if not self.stack_name:
            self.stack_name = f"{self.stack_prefix}-u{self.owner_id}-{self.code.hex[:12]}"
        if not self.target:
            self.target = settings.HEROCOOL_TARGET
        super().save(*args, **kwargs)

    @property
    def is_busy(self):
        return self.status in BUSY_STATUSES

    @property
    def is_deleted(self):
        return self.status == Status.DELETED

    def live_deployment(self):
        return self.deployments.filter(status__in=Deployment.LIVE_STATUSES).first()

    def proposed(self):
        """The values of the fields an update would change, as a preview carries them."""
        return {name: getattr(self, name) for name in self.change_fields}

    def apply_changes(self, values):
        for name in self.change_fields:
            if name in values:
                setattr(self, name, values[name])

    def program(self):
        """The Pulumi program (a function of a spec) for this resource's target."""
        raise NotImplementedError

    def stack_config(self):
        """Stack configuration for this resource's target, as {key: (value, secret)}."""
        if self.target == "aws":
            return {"aws:region": (settings.AWS_REGION, False)}
        return {}

    def prepare(self, deployment):
        """Work a job does before running the engine (e.g. fetching content)."""

    def release_untracked(self):
        """After a job was stopped: stop anything it started that the stack does not record."""

    def mark_failed(self, error):
        self.status, self.last_error = Status.FAILED, error
        self.save(update_fields=["status", "last_error", "updated"])

    def apply_outputs(self, outputs):
        """Store a stack's outputs on the record; subclasses may copy fields out."""
        self.outputs = outputs

    def outcome(self, outputs):
        """(status, error) after a successful up or refresh: a VM may be found stopped."""
        return Status.LIVE, ""


class Deployment(models.Model):
    """One change to one stack: recorded first, then run by a worker."""

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DESTROY = "destroy"
        REFRESH = "refresh"
        PREVIEW = "preview"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    LIVE_STATUSES = (State.QUEUED, State.RUNNING)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resource_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    resource_id = models.PositiveBigIntegerField()
    resource = GenericForeignKey("resource_type", "resource_id")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    stack_name = models.CharField(max_length=80, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    status = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    # A preview's proposed field values, applied to the resource if the user confirms.
    params = models.JSONField(default=dict, blank=True)
    worker_pid = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["resource_type", "resource_id", "-queued_at"])]
        constraints = [
            # The database itself refuses a second live deployment for one stack.
            models.UniqueConstraint(
                fields=["stack_name"],
                condition=Q(status__in=["queued", "running"]),
                name="one_live_deployment_per_stack",
            )
        ]

    def __str__(self):
        return f"{self.action} {self.stack_name} ({self.status})"

    @property
    def is_live(self):
        return self.status in self.LIVE_STATUSES

    def finish(self, state, *, error="", summary=None):
        """End a running deployment in `state`. False when it was no longer running
        (cancelled or recovered meanwhile): its outcome must then leave the resource be."""
        ended = Deployment.objects.filter(pk=self.pk, status=self.State.RUNNING).update(
            status=state, finished_at=timezone.now(), error=error, summary=summary or {})
        self.refresh_from_db(fields=["status", "finished_at", "error", "summary"])
        return ended == 1

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("stacks-deployment", args=[self.code])


def resource_models():
    """Every concrete stack-backed model (sites, VMs), for maintenance commands."""
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, StackResource)]
