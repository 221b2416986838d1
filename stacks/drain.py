"""Emptying a host (`manage.py drain_host`): its sites move to other live hosts; its
VMs cannot (their disks live there) and are only listed.

A site moves by recording its new host and an update deployment from its recorded
source, in one transaction, the update running on the new host's queue (so its files
and URL become that host's); then a job on the old host's queue forgets the site's
files there. That job waits in Redis if the old host is down, and runs when it is back.
"""
from dataclasses import dataclass, field

from django.db import transaction

from .hosts import Host, host_queue, live_hosts
from .models import Deployment, Status, resource_models, system_user
from .services import DeploymentRefused, lock_quotas, request_deployment


class DrainError(Exception):
    """Bad input: nothing was done (message for the operator)."""


@dataclass
class DrainReport:
    moved: list = field(default_factory=list)     # (resource, new host)
    stuck: list = field(default_factory=list)     # (resource, why it cannot move now)
    unmovable: list = field(default_factory=list)  # resources whose data lives there


def drain(host_name, *, dry_run=False):
    """Move what can move off `host_name`; returns a DrainReport. Raises DrainError."""
    host = Host.objects.filter(name=host_name).first()
    if host is None:
        known = ", ".join(Host.objects.values_list("name", flat=True)) or "none"
        raise DrainError(f"No host named {host_name!r} (known hosts: {known}).")
    report = DrainReport()
    for model in resource_models():
        on_host = list(model.objects.filter(host=host).exclude(status=Status.DELETED)
                       .order_by("pk"))
        if not model.movable:
            report.unmovable += on_host
            continue
        targets = list(live_hosts().exclude(pk=host.pk)) if on_host else []  # one read
        for resource in on_host:
            if not targets:
                raise DrainError(f"No other live host to move {resource.name} to: start a "
                                 "worker on another machine first.")
            _move_one(resource, host, targets, report, dry_run)
    return report


def _move_one(resource, old, targets, report, dry_run):
    try:
        with transaction.atomic():
            lock_quotas(resource)  # placement and its count, as for a create
            if Deployment.objects.filter(stack_name=resource.stack_name,
                                         status__in=Deployment.ACTIVE_STATES).exists():
                raise DeploymentRefused("a deployment of it is queued or running; run the "
                                        "drain again once it has finished")
            new = resource.pick_host(targets)
            if new is None:
                raise DeploymentRefused(resource.no_room_message(targets))
            if not dry_run:
                _redeploy_on(resource, old, new)
    except DeploymentRefused as exc:
        report.stuck.append((resource, str(exc)))
        return
    report.moved.append((resource, new))


def _redeploy_on(resource, old, new):
    type(resource).objects.filter(pk=resource.pk, host=old).update(host=new)
    resource.host = new
    request_deployment(resource, Deployment.Action.UPDATE, system_user(),
                       params=resource.proposed())
    label = resource._meta.label_lower
    transaction.on_commit(lambda: host_queue(old.name).enqueue(
        "stacks.drain.forget_here", label, resource.pk, job_timeout=600))


def forget_here(label, pk):
    """On the host a resource left: remove what it kept here, unless it lives here again."""
    from django.apps import apps
    from django.conf import settings

    from .models import resource_models

    model = apps.get_model(label)
    if model not in resource_models():  # a job's arguments are only as good as Redis
        raise ValueError(f"{label} is not a stack-backed resource")
    resource = model.objects.select_related("host").get(pk=pk)
    if resource.host is not None and resource.host.name == settings.HEROCOOL_HOST:
        return False
    return resource.forget_local()
