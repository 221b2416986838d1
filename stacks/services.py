"""Recording deployments: the one way a change reaches a stack.

A deployment row is written in the same transaction as the resource's new status; the
job is enqueued only once that transaction commits, so a worker never sees an unsaved
row and a failed request leaves nothing behind. Quotas are checked here, under a lock,
for every path that can grow what a user or the host runs.
"""
import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction

from herocool_project import redisconn
from . import budget, hosts, notify, plans
from .models import Deployment, Status
from .permissions import DEPLOY, forget_roles, may

log = logging.getLogger(__name__)
Action = Deployment.Action
State = Deployment.State

# What the resource shows while each action is queued or running.
STATUS_ON_REQUEST = {
    Action.CREATE: Status.PENDING,
    Action.UPDATE: Status.UPDATING,
    Action.DESTROY: Status.DELETING,
}
# Actions after which the resource may take more than before: quotas are checked.
GROWING = (Action.CREATE, Action.UPDATE)
NOT_DELETED = [s for s in Status.values if s != Status.DELETED]
# Any constants: the keys of the PostgreSQL advisory locks that serialise quota checks,
# host-wide (one 64-bit key) and per owner (two 32-bit keys: this one and the owner's id).
QUOTA_LOCK = 0x68657230
OWNER_QUOTA_LOCK = 0x68657231
TEAM_QUOTA_LOCK = 0x68657232  # issue #18: a team's resources count against the team


class DeploymentRefused(Exception):
    """The request cannot be accepted now; the message says why, for the user."""


def request_deployment(resource, action, user, *, params=None):
    """Record a deployment of `resource` and enqueue it once the transaction commits.

    An update (or preview) carries the changed field values in `params`; the record
    takes them only when the update succeeds, so it always says what is deployed (or
    being created), whatever fails or is cancelled on the way.
    """
    with transaction.atomic():
        if action in GROWING:
            lock_quotas(resource)
        resource = type(resource).objects.select_for_update().get(pk=resource.pk)
        _check_allowed(resource, action, user)
        if action == Action.CREATE:
            _check_still_in_team(resource, user)
            _place(resource)
        cost_before = resource.monthly_estimate() if action == Action.UPDATE else None
        resource.apply_changes(params or {})  # in memory: what the quotas must allow
        if action in GROWING and (problem := resource.quota_problem()
                                  or _expiry_problem(resource)):
            raise DeploymentRefused(problem)
        budget_warning = _check_budget(resource, cost_before) if action in GROWING else ""
        try:
            with transaction.atomic():
                deployment = Deployment.objects.create(
                    resource_type=ContentType.objects.get_for_model(resource),
                    resource_id=resource.pk,
                    owner_id=resource.owner_id,
                    team_id=resource.team_id,
                    stack_name=resource.stack_name,
                    action=action,
                    requested_by=user,
                    params=params or {},
                )
        except IntegrityError:
            raise DeploymentRefused(_busy_message(resource)) from None
        if action in STATUS_ON_REQUEST:
            resource.transition(STATUS_ON_REQUEST[action], expected=NOT_DELETED,
                                last_error="")
        transaction.on_commit(lambda: _enqueue_noting(deployment, resource))
    deployment.budget_warning = budget_warning  # for the page or the API to show
    return deployment


def _check_budget(resource, cost_before):
    try:
        return budget.check(resource, cost_before)
    except budget.OverBudget as exc:
        raise DeploymentRefused(str(exc)) from None


def _expiry_problem(resource):
    if resource.expiry_required and resource.expires_at is None:
        return (f"The operator requires an expiry for {resource._meta.verbose_name}s "
                "like this one: give it one first.")
    return ""


def lock_quotas(resource):
    """Count-then-insert must not interleave: one quota check at a time per owner, and
    host-wide where the resource's host-wide limit must hold exactly (a local VM's
    memory). Other owners' creates never wait on each other: a platform-wide lock held
    to each commit made every create on the platform queue behind the one before.
    Taken before any resource row lock (callers that lock the row first call this
    first), host-wide before owner, so two requests never wait on each other in
    opposite orders. (SQLite's IMMEDIATE transactions already serialise every writer.)"""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if resource.host_wide_quota:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [QUOTA_LOCK])
        # The two-key form: its own key space, apart from the host-wide lock's.
        if resource.team_id is not None:
            lock_team(resource.team_id)
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                           [OWNER_QUOTA_LOCK, resource.owner_id])


def lock_team(team_id):
    """The team's quota lock, until the transaction ends: every create for the team takes
    it, and so does the team's deletion (Team.dissolve), so neither misses the other."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [TEAM_QUOTA_LOCK, team_id])


def _check_still_in_team(resource, user):
    """Asked again under the team's lock: the form's check came before it, and the team
    may have been deleted, or the user removed, since."""
    if resource.team_id is None or user is None:
        return
    forget_roles(user)
    if not may(user, DEPLOY, resource):
        raise DeploymentRefused("You are no longer a deployer or admin of that team (or it "
                                "was deleted): nothing was created.")


QUEUE_DOWN = ("The deployment is recorded, but the job queue is unavailable right now: it "
              "will start automatically once the queue is back (the platform checks every "
              "minute).")


def _enqueue_noting(deployment, resource):
    # The view reads this after its transaction commits, to warn the user.
    deployment.enqueued = enqueue(deployment, resource)


def _place(resource):
    """A new local-target resource gets its host (under the quota lock, so two creates
    cannot both take a host's last room); a retried create keeps the one it has."""
    if resource.target != "local" or resource.host_id is not None:
        return
    try:
        host = hosts.place(resource)
    except hosts.NoRoom as exc:
        raise DeploymentRefused(str(exc)) from None
    type(resource).objects.filter(pk=resource.pk, host=None).update(host=host)
    resource.host = host


def _check_allowed(resource, action, user):
    if resource.status == Status.DELETED:
        raise DeploymentRefused(f"{resource.name} has been deleted.")
    if hosts.is_unreachable(resource):
        raise DeploymentRefused(hosts.unreachable_message(resource))
    if Deployment.objects.filter(stack_name=resource.stack_name,
                                 status__in=Deployment.ACTIVE_STATES).exists():
        raise DeploymentRefused(_busy_message(resource))
    active = Deployment.objects.filter(**resource.owner_filter(),
                                       status__in=Deployment.ACTIVE_STATES).count()
    if active >= settings.QUOTA_LIVE_DEPLOYMENTS:
        who = f"The team {resource.team} has" if resource.team_id else "You already have"
        raise DeploymentRefused(
            f"{who} {active} deployments queued or running; wait for one to finish."
        )


def _busy_message(resource):
    return (f"A deployment of {resource.name} is already queued or running. Wait for it "
            "to finish (or cancel it) before asking for another.")


def queue(name="default"):
    return redisconn.queue(name)


def enqueue(deployment, resource=None):
    """Put the job on its queue (the host's, for a resource that lives on one: give the
    resource if at hand, else it is read); the deployment row stays queued if Redis is
    down (the sweep puts it back later)."""
    from .jobs import run_deployment

    try:
        hosts.queue_for(resource or deployment.resource).enqueue(
            run_deployment, deployment.pk, job_id=str(deployment.code),
            job_timeout=settings.DEPLOYMENT_JOB_TIMEOUT)
    except Exception:  # noqa: BLE001 - any queue failure: the row is the record
        log.exception("could not enqueue deployment %s; it stays queued", deployment.code)
        return False
    return True


def retry(resource, user):
    """Run again what last failed: the create, update (with the same changes) or destroy
    that did not finish."""
    last = resource.deployments.exclude(
        action__in=[Action.PREVIEW, Action.REFRESH]).first()
    if resource.status != Status.FAILED or last is None:
        raise DeploymentRefused(f"{resource.name} has nothing to retry.")
    return request_deployment(resource, last.action, user, params=last.params)


CANCEL_PENDING = ("Cancelling: the job is being stopped; the stack is released once it "
                  "has.")
CANCEL_QUEUE_DOWN = ("Cancel recorded, but the job queue is unavailable right now: the job "
                     "is stopped and the stack released as soon as it is back.")


def cancel(deployment, user):
    """Cancel a queued or running deployment, recording who did it.

    Queued: it becomes cancelled at once and leaves the queue. Running: it becomes
    `cancelling` (still holding the stack), the worker is told to stop the job (RQ kills
    the job's process group, the Pulumi CLI with it), and a maintenance job unlocks the
    stack and ends it as cancelled once the job is gone. The engine is never called from
    here. `deployment.cancel_note` says what the user should know.
    """
    with transaction.atomic():
        was = deployment.request_cancel(user)
        if was is None:
            raise DeploymentRefused("This deployment has already finished.")
        if was == State.QUEUED:
            _settle_queued_cancel(deployment, user)
            notify.deployment_event(deployment, State.CANCELLED)
    reached = _drop_job(deployment) if was == State.QUEUED else _stop_job(deployment)
    deployment.cancel_note = (
        "Deployment cancelled." if was == State.QUEUED and reached
        else CANCEL_PENDING if reached else CANCEL_QUEUE_DOWN)
    return deployment


def _settle_queued_cancel(deployment, user):
    """A deployment that never ran changed nothing: the resource is as it was."""
    if deployment.action not in STATUS_ON_REQUEST:
        return
    resource = deployment.resource
    ever_up = resource.deployments.filter(
        action__in=[Action.CREATE, Action.UPDATE], status=State.SUCCEEDED).exists()
    if ever_up:
        resource.transition(Status.LIVE, expected=[STATUS_ON_REQUEST[deployment.action]],
                            last_error="")
    else:
        resource.mark_failed(f"The {deployment.action} was cancelled by {user} before it "
                             "ran.")


def _drop_job(deployment):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    q = queue()
    try:
        Job.fetch(str(deployment.code), connection=q.connection,
                  serializer=q.serializer).cancel()
    except NoSuchJobError:
        pass  # never reached Redis: nothing to drop, and the claim now fails anyway
    except Exception:  # noqa: BLE001 - Redis down: the claim refuses it when it comes
        log.exception("could not drop job %s from the queue", deployment.code)
        return False
    return True


def _stop_job(deployment):
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    from .jobs import release_stack

    try:
        q = queue()
        try:
            send_stop_job_command(q.connection, str(deployment.code), serializer=q.serializer)
        except (NoSuchJobError, InvalidJobOperation):
            log.info("job %s was not running any more", deployment.code)
        # On the resource's host when it has one: only that host can stop what the job
        # started there (a VM's guest).
        resource = deployment.resource
        release_queue = queue("maintenance") if resource.host_id is None else \
            hosts.queue_for(resource)
        release_queue.enqueue(release_stack, deployment.pk, job_timeout=600)
    except Exception:  # noqa: BLE001 - Redis down: the sweep finishes the cancel later
        log.exception("could not stop job %s; the sweep will", deployment.code)
        return False
    return True


def apply_preview(preview, user):
    """Deploy the changes a succeeded preview showed, as an update."""
    if preview.action != Action.PREVIEW or preview.status != State.SUCCEEDED:
        raise DeploymentRefused("Only a succeeded preview can be deployed.")
    with transaction.atomic():
        lock_quotas(preview.resource)
        resource = type(preview.resource).objects.select_for_update().get(
            pk=preview.resource_id)
        later = resource.deployments.filter(queued_at__gt=preview.queued_at).exclude(
            action__in=[Action.PREVIEW, Action.REFRESH])
        if later.exists():
            raise DeploymentRefused("The resource changed since this preview; preview again.")
        # With the preview's plan: the update may do only what the user saw.
        return request_deployment(resource, Action.UPDATE, user,
                                  params=plans.apply_params(preview))
