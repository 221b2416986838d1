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


def request_deployment(resource, action, user):
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
                )
        except IntegrityError:
            raise DeploymentRefused(_busy_message(resource)) from None
        if action in STATUS_ON_REQUEST:
            resource.status = STATUS_ON_REQUEST[action]
            resource.last_error = ""
            resource.save(update_fields=["status", "last_error", "updated"])
        transaction.on_commit(lambda: enqueue(deployment))
    return deployment


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
