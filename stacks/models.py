"""What sites and VMs share: a resource backed by a Pulumi stack, and its deployments."""
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
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


class PrepareError(Exception):
    """A resource could not get ready for its deployment (message safe to show)."""


class StackResource(models.Model):
    """A user's resource whose real state lives in one Pulumi stack of its own."""

    # Subclasses set these: the Pulumi project, the short prefix of stack names, and
    # the fields a user's update changes (what a preview carries before it is applied).
    pulumi_project = ""
    stack_prefix = ""
    change_fields = ()
    # Columns list pages never show: left unloaded there (a site's page can be 1 MB).
    list_deferred = ("last_error",)
    # The time the lists order by, newest first (the indexes lead with owner, then it).
    newest_field = "created"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed by (owner, -created, -id) below, which serves every lookup by owner.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              db_index=False)
    name = models.CharField(max_length=63, validators=[validate_name])
    target = models.CharField(max_length=10, editable=False)
    stack_name = models.CharField(max_length=80, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    outputs = models.JSONField(default=dict, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deployments = GenericRelation("stacks.Deployment", "resource_id", "resource_type")
    # The machine a local-target resource lives on (stacks/hosts.py); none for the cloud.
    host = models.ForeignKey("stacks.Host", null=True, blank=True, editable=False,
                             on_delete=models.PROTECT, related_name="+")
    # Expiry (issue #17, stacks/expiry.py): destroyed by the scheduler at this time; the
    # owner is reminded (once per expiry set) before.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Issue #18: the team it belongs to, if any (then `owner` is only who created it;
    # stacks/permissions.py decides who may act on it).
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")

    class Meta:
        abstract = True
        ordering = ["-created"]
        indexes = [
            # A user's list and dashboard, newest first, by key (stacks/keyset.py), and
            # the admin's list of one user's rows (stacks/admin.py).
            models.Index(fields=["owner", "-created", "-id"], name="%(class)s_owner_list"),
            # The admin's list by status, newest (highest id) first; its search by the
            # start of a name (stack names have their unique index's twin for LIKE).
            models.Index(fields=["status", "-id"], name="%(class)s_status"),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"],
                         name="%(class)s_name_prefix"),
            # The scheduler's expiry pass: only the rows that have an expiry.
            models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False),
                         name="%(class)s_expiry"),
            # No index on (created) for the whole table: given one, the database walks it
            # for a user whose rows are few or old, filtering out everyone else's rows.
            # The admin lists by id instead (stacks/admin.py).
        ]

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

    def active_deployment(self):
        return self.deployments.filter(status__in=Deployment.ACTIVE_STATES).first()

    def proposed(self):
        """The values of the fields an update would change, as a preview carries them."""
        return {name: getattr(self, name) for name in self.change_fields}

    def apply_changes(self, values):
        for name in self.change_fields:
            if name in values:
                setattr(self, name, values[name])

    # Whether drain_host can move it to another host (a site can; a VM's disk stays).
    movable = False

    def forget_local(self):
        """On the host it left: remove what it kept there (drain_host). True if removed."""
        return False

    def pick_host(self, hosts):
        """The host among `hosts` (live ones) with the most room for this new resource,
        or None when none has room. Subclasses judge room."""
        return hosts[0] if hosts else None

    def no_room_message(self, hosts):
        return "No machine has room for it now. Nothing was created; try again later."

    def program(self):
        """The Pulumi program (a function of a spec) for this resource's target."""
        raise NotImplementedError

    def stack_config(self):
        """Stack configuration for this resource's target, as {key: (value, secret)}."""
        if self.target == "aws":
            return {"aws:region": (settings.AWS_REGION, False)}
        return {}

    def prepare(self, deployment, say):
        """Work a job does before running the engine (e.g. fetching content); `say`
        writes a line to the deployment's log. Raises PrepareError."""

    def deployed(self, deployment):
        """After a create, update or destroy succeeded, in the transaction that records
        its outcome: what the resource keeps of it (a site's release)."""

    def release_untracked(self):
        """After a job was stopped: stop anything it started that the stack does not
        record (a VM's guest booted by a cancelled create)."""

    @classmethod
    def adopt(cls, stack_name, reason):
        """The record of a stack found in the backend without a live one: its deleted
        record brought back as failed, or a new failed record owned by the user the stack
        is named after (else the platform's own system user). A destroy deployment of it
        then leaves the usual trace: who, when, the log."""
        found = cls.objects.filter(stack_name=stack_name).first()
        if found is not None:
            found.transition(Status.FAILED, expected=[Status.DELETED], last_error=reason)
            return found
        owner = _user_named_by(stack_name) or system_user()
        return cls.objects.create(owner=owner, name=f"orphan-{uuid.uuid4().hex[:8]}",
                                  stack_name=stack_name, status=Status.FAILED,
                                  last_error=reason)

    @classmethod
    def reap_untracked(cls):
        """Stop whatever of this kind runs on this host with no record that wants it;
        returns what was stopped. Run on each host by its tick (stacks/hosts.py)."""
        return []

    # --- state changes: each one conditional on the states it expects ---------------
    def transition(self, status, *, expected, **fields):
        """Move to `status` (with other fields) only from one of the `expected` statuses,
        in one conditional UPDATE. True when it happened; the object follows the row."""
        fields = {"status": status, **fields, "updated": timezone.now()}
        changed = type(self).objects.filter(pk=self.pk, status__in=expected).update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(self, name, value)
        return changed == 1

    def mark_failed(self, error):
        """Any state but deleted can fail (a deleted resource's history stays as it is)."""
        not_deleted = [s for s in Status.values if s != Status.DELETED]
        return self.transition(Status.FAILED, expected=not_deleted, last_error=error)

    def store_outputs(self, outputs):
        """Outputs read from the stack by an operator's sync: stored unless the record
        moved on meanwhile or a deployment is changing it."""
        if self.is_busy:
            return False
        return self.transition(self.status, expected=[self.status],
                               **self.output_fields(outputs))

    def output_fields(self, outputs):
        """The columns a stack's outputs set on the record; subclasses copy fields out."""
        return {"outputs": outputs}

    def outcome(self, outputs):
        """(status, error) after a successful up or refresh: a VM may be found stopped."""
        return Status.LIVE, ""

    # --- cost and expiry (issue #17): stacks/cost.py, stacks/expiry.py -----------------
    # The fields its estimate depends on (lists and totals group by them).
    cost_fields = ("target",)

    def monthly_estimate(self):
        """What it costs a month as it stands in memory (a stacks.cost.Estimate)."""
        raise NotImplementedError

    @property
    def expiry_required(self):
        """Whether the operator requires it to have an expiry."""
        return False

    def set_expiry(self, when):
        """Expire at `when` (None: never), unless deleted; a new time earns a new
        reminder. True when it happened."""
        changed = type(self).objects.filter(pk=self.pk).exclude(
            status=Status.DELETED).update(expires_at=when, expiry_reminded_at=None)
        if changed:
            self.expires_at, self.expiry_reminded_at = when, None
        return changed == 1

    def claim_expiry_reminder(self, now):
        """Only one pass reminds the owner of one expiry."""
        return type(self).objects.filter(
            pk=self.pk, expires_at=self.expires_at, expiry_reminded_at=None).update(
            expiry_reminded_at=now) == 1

    # --- quotas: checked by request_deployment under a lock, for every path ----------
    # True where a host-wide limit must hold exactly (quota checks then take the
    # host-wide lock); a limit counted over every owner's rows may otherwise be passed by
    # as many creates as run at the same moment.
    @property
    def host_wide_quota(self):
        return False

    @classmethod
    def alive_of(cls, owner, team=None):
        """The resources of this kind that are not deleted of `team`, or else `owner`'s
        personal ones: where a name must be unique (a team is an owner of its own)."""
        rows = (cls.objects.filter(team=team) if team is not None
                else cls.objects.filter(owner=owner, team=None))
        return rows.exclude(status=Status.DELETED)

    @staticmethod
    def taken_message(team, noun, name):
        who = f"The team {team} already has" if team is not None else "You already have"
        return f"{who} a {noun} named {name}."

    def owner_filter(self):
        """What its quotas and budget count with it: its team's resources, or its owner's
        personal ones (a team's are not the creator's). Deployments have the same two
        fields, so the filter counts them too."""
        if self.team_id is not None:
            return {"team_id": self.team_id}
        return {"owner_id": self.owner_id, "team": None}

    def quota_problem(self):
        """Why this resource, as it now stands in the database, breaks its owner's or the
        host's limits (a message for the user), or "" when it fits."""
        return ""


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
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"

    # In flight: the stack belongs to this deployment. A cancelling one still does, until
    # its job is gone and the stack unlocked.
    ACTIVE_STATES = (State.QUEUED, State.RUNNING, State.CANCELLING)
    # The time the feed and histories order by, newest first.
    newest_field = "queued_at"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    resource_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    resource_id = models.PositiveBigIntegerField()
    resource = GenericForeignKey("resource_type", "resource_id")
    # Indexed by (owner, -queued_at, -id) below, which serves every lookup by owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Issue #18: the team of its resource, if any: who sees it (stacks/permissions.py).
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
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
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    # A preview's proposed field values, applied to the resource if the user confirms.
    params = models.JSONField(default=dict, blank=True)
    worker_pid = models.IntegerField(null=True, blank=True)
    # The RQ worker that claimed it: its heartbeat in Redis says whether it still lives
    # (a pid means nothing on another host, or after a reboot).
    worker_name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            # A resource's history, by key (stacks/keyset.py).
            models.Index(fields=["resource_type", "resource_id", "-queued_at", "-id"],
                         name="deployment_history"),
            # A user's activity feed and the dashboard's latest deployments.
            models.Index(fields=["owner", "-queued_at", "-id"], name="deployment_owner_feed"),
            # The admin's list by status, newest (highest id) first. No index on
            # (queued_at) for the whole table: given one, the database walks it for a
            # user whose deployments are few or old, filtering out everyone else's. The
            # admin lists by id (the primary key's index) instead (stacks/admin.py).
            models.Index(fields=["status", "-id"], name="deployment_status"),
        ]
        constraints = [
            # The database itself refuses a second active deployment for one stack.
            models.UniqueConstraint(
                fields=["stack_name"],
                condition=Q(status__in=["queued", "running", "cancelling"]),
                name="one_active_deployment_per_stack",
            )
        ]

    def __str__(self):
        return f"{self.action} {self.stack_name} ({self.status})"

    @property
    def is_active(self):
        return self.status in self.ACTIVE_STATES

    # --- state changes: each one conditional on the state it expects -----------------
    def _move(self, expected, **fields):
        changed = Deployment.objects.filter(pk=self.pk, status__in=expected).update(**fields)
        self.refresh_from_db(fields=list(fields))
        return changed == 1

    def claim(self, *, worker_name="", worker_pid=None):
        """queued → running, by exactly one worker."""
        return self._move([self.State.QUEUED], status=self.State.RUNNING,
                          started_at=timezone.now(), worker_name=worker_name,
                          worker_pid=worker_pid)

    def finish(self, state, *, error="", summary=None):
        """End a running deployment in `state`. False when it was no longer running
        (cancelled or recovered meanwhile): its outcome must then leave the resource be."""
        return self._move([self.State.RUNNING], status=state, finished_at=timezone.now(),
                          error=error, summary=summary or {})

    def request_cancel(self, user):
        """queued → cancelled at once (it never ran); running → cancelling, which still
        holds the stack until the job is gone. Returns the state it was in, or None when
        it had already ended."""
        error = f"Cancelled by {user}"
        if self._move([self.State.QUEUED], status=self.State.CANCELLED, cancelled_by=user,
                      finished_at=timezone.now(), error=f"{error} before it ran."):
            return self.State.QUEUED
        if self._move([self.State.RUNNING], status=self.State.CANCELLING, cancelled_by=user,
                      error=f"{error} while it ran."):
            return self.State.RUNNING
        return None

    def settle(self, *, error):
        """Once its job is gone and the stack unlocked: cancelling → cancelled; running
        (its worker died) → failed with `error`. Returns the new state, or None when it
        had already ended."""
        now = timezone.now()
        if self._move([self.State.CANCELLING], status=self.State.CANCELLED, finished_at=now):
            return self.State.CANCELLED
        if self._move([self.State.RUNNING], status=self.State.FAILED, finished_at=now,
                      error=error):
            return self.State.FAILED
        return None

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def get_absolute_url(self):
        from .urlcache import code_url

        return code_url("stacks-deployment", self.code)

    def read_log(self, after=0):
        """(text, next): the log from character `after` on, and the offset to ask from
        next time. One indexed query for the chunks that end after `after`."""
        chunks = list(self.log_chunks.filter(end__gt=after).order_by("end")
                      .values_list("start", "end", "text"))
        if not chunks:
            return "", after
        first_start = chunks[0][0]
        text = "".join(chunk[2] for chunk in chunks)
        return text[max(after - first_start, 0):], chunks[-1][1]

    def full_log(self):
        """The whole log, for the deployment's page and the admin."""
        return self.read_log()[0]


class DeploymentLogChunk(models.Model):
    """Characters [start, end) of a deployment's log: appended once, never changed, so
    a flush costs one INSERT and a poll reads only what is new."""

    # Indexed by the two below (both lead with it): no index of its own to maintain.
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE,
                                   related_name="log_chunks", db_index=False)
    start = models.PositiveBigIntegerField()
    end = models.PositiveBigIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["deployment", "end"]
        indexes = [models.Index(fields=["deployment", "end"], name="log_chunk_end")]
        constraints = [
            # Two writers that read the same end of the log cannot both append at it:
            # one of them gets this error and tries again after the other.
            models.UniqueConstraint(fields=["deployment", "start"],
                                    name="one_log_chunk_per_start"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="log_chunk_not_empty"),
        ]

    def __str__(self):
        return f"{self.deployment_id}[{self.start}:{self.end}]"


def resource_models():
    """Every concrete stack-backed model (sites, VMs), for maintenance commands."""
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, StackResource)]


def _user_named_by(stack_name):
    """The owner a stack name (`<prefix>-u<owner id>-<code>`) names, if they exist."""
    from django.contrib.auth import get_user_model

    parts = stack_name.split("-")
    if len(parts) < 3 or not parts[1][:1] == "u" or not parts[1][1:].isdigit():
        return None
    return get_user_model().objects.filter(pk=int(parts[1][1:])).first()


def system_user():
    """The platform's own account, owner of what no user owns; it cannot log in."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username="herocool-system", defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


from .hosts import Host  # noqa: E402,F401 - a model of this app, defined with its logic
# Notifications (issue #16): webhooks, their deliveries and attempts, email settings.
from .webhooks import (NotificationSettings, Webhook, WebhookAttempt,  # noqa: E402,F401
                       WebhookDelivery)
# Budgets (issue #17): an operator's per-user override of the default budget.
from .budget import UserBudget  # noqa: E402,F401
