"""Recording deployments: the one way a change reaches a stack.

A deployment row is written in the same transaction as the resource's new status; the
job is enqueued only once that transaction commits, so a worker never sees an unsaved
row and a failed request leaves nothing behind.
"""
import logging

import django_rq
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Deployment, Status

log = logging.getLogger(__name__)
Action = Deployment.Action

# What the resource shows while each action is queued or running.
STATUS_ON_REQUEST = {
    Action.CREATE: Status.PENDING,
    Action.UPDATE: Status.UPDATING,
    Action.DESTROY: Status.DELETING,
}


class DeploymentRefused(Exception):
    """The request cannot be accepted now; the message says why, for the user."""


def request_deployment(resource, action, user, *, params=None):
    """Record a deployment of `resource` and enqueue it once the transaction commits."""
    with transaction.atomic():
        resource = type(resource).objects.select_for_update().get(pk=resource.pk)
        _check_allowed(resource, action, user)
        try:
            with transaction.atomic():
                deployment = Deployment.objects.create(
                    resource_type=ContentType.objects.get_for_model(resource),
                    resource_id=resource.pk,
                    owner_id=resource.owner_id,
                    stack_name=resource.stack_name,
                    action=action,
                    requested_by=user,
                    params=params or {},
                )
        except IntegrityError:
            raise DeploymentRefused(_busy_message(resource)) from None
        if action in STATUS_ON_REQUEST:
            resource.status = STATUS_ON_REQUEST[action]
            resource.last_error = ""
            resource.save(update_fields=["status", "last_error", "updated"])
        transaction.on_commit(lambda: _enqueue_noting(deployment))
    return deployment


QUEUE_DOWN = ("The deployment is recorded, but the job queue is unavailable right now: it "
              "will start as soon as the queue is back.")


def _enqueue_noting(deployment):
    # The view reads this after its transaction commits, to warn the user.
    deployment.enqueued = enqueue(deployment)


def _check_allowed(resource, action, user):
    if resource.status == Status.DELETED:
        raise DeploymentRefused(f"{resource.name} has been deleted.")
    if Deployment.objects.filter(stack_name=resource.stack_name,
                                 status__in=Deployment.LIVE_STATUSES).exists():
        raise DeploymentRefused(_busy_message(resource))
    live = Deployment.objects.filter(owner_id=resource.owner_id,
                                     status__in=Deployment.LIVE_STATUSES).count()
    if live >= settings.QUOTA_LIVE_DEPLOYMENTS:
        raise DeploymentRefused(
            f"You already have {live} deployments queued or running; wait for one to "
            "finish."
        )


def _busy_message(resource):
    return (f"A deployment of {resource.name} is already queued or running. Wait for it "
            "to finish (or cancel it) before asking for another.")


def enqueue(deployment):
    """Put the job on the queue; the deployment row stays queued if Redis is down."""
    from .jobs import run_deployment

    try:
        django_rq.get_queue("default").enqueue(
            run_deployment,
            deployment.pk,
            job_id=str(deployment.code),
            job_timeout=settings.DEPLOYMENT_JOB_TIMEOUT,
        )
    except Exception:  # noqa: BLE001 - any queue failure: the row is the record
        log.exception("could not enqueue deployment %s; it stays queued", deployment.code)
        return False
    return True


def retry(resource, user):
    """Run again what last failed: the create, update or destroy that did not finish."""
    last = resource.deployments.exclude(
        action__in=[Action.PREVIEW, Action.REFRESH]).first()
    if resource.status != Status.FAILED or last is None:
        raise DeploymentRefused(f"{resource.name} has nothing to retry.")
    return request_deployment(resource, last.action, user)


def cancel(deployment, user):
    """Cancel a queued or running deployment, recording who did it.

    Queued: it leaves the queue and never runs. Running: the worker is told to stop the
    job (RQ kills the job's process group, the Pulumi CLI with it) and a follow-up job
    unlocks the stack once the job is gone. The engine is never called from here.
    """
    State = Deployment.State
    with transaction.atomic():
        was = Deployment.objects.select_for_update().filter(pk=deployment.pk).values_list(
            "status", flat=True).first()
        if was not in Deployment.LIVE_STATUSES:
            raise DeploymentRefused("This deployment has already finished.")
        Deployment.objects.filter(pk=deployment.pk).update(
            status=State.CANCELLED, cancelled_by=user, finished_at=timezone.now(),
            error=f"Cancelled by {user} while {was}.")
        _settle_after_cancel(deployment, was, user)
        transaction.on_commit(lambda: _stop_job(deployment, was))
    deployment.refresh_from_db()
    return deployment


def _settle_after_cancel(deployment, was, user):
    resource = deployment.resource
    if deployment.action in (Action.PREVIEW, Action.REFRESH) and was == "queued":
        return
    ever_up = resource.deployments.filter(
        action__in=[Action.CREATE, Action.UPDATE], status=Deployment.State.SUCCEEDED
    ).exists()
    if was == "queued" and ever_up:
        resource.status, resource.last_error = Status.LIVE, ""
        resource.save(update_fields=["status", "last_error", "updated"])
    else:
        resource.mark_failed(
            f"The {deployment.action} was cancelled by {user} "
            + ("while running: the stack may be partly changed; retry or refresh."
               if was == "running" else "before it ran.")
        )


def _stop_job(deployment, was):
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    from .jobs import unlock_stack

    queue = django_rq.get_queue("default")
    job_id = str(deployment.code)
    try:
        if was == "queued":
            Job.fetch(job_id, connection=queue.connection,
                      serializer=queue.serializer).cancel()
            return
        send_stop_job_command(queue.connection, job_id, serializer=queue.serializer)
    except (NoSuchJobError, InvalidJobOperation):
        log.info("job %s was not running any more", job_id)
    except Exception:  # noqa: BLE001 - Redis down: recover_stuck cleans up later
        log.exception("could not stop job %s", job_id)
    if was == "running":
        queue.enqueue(unlock_stack, deployment.pk, job_timeout=600)


def apply_preview(preview, user):
    """Deploy the changes a succeeded preview showed, as an update."""
    if preview.action != Action.PREVIEW or preview.status != Deployment.State.SUCCEEDED:
        raise DeploymentRefused("Only a succeeded preview can be deployed.")
    later = preview.resource.deployments.filter(queued_at__gt=preview.queued_at).exclude(
        action__in=[Action.PREVIEW, Action.REFRESH])
    if later.exists():
        raise DeploymentRefused("The resource changed since this preview; preview again.")
    with transaction.atomic():
        resource = type(preview.resource).objects.select_for_update().get(
            pk=preview.resource_id)
        resource.apply_changes(preview.params)
        resource.save()
        return request_deployment(resource, Action.UPDATE, user)
