"""Recovery with no operator: what the scheduler runs every minute (stacks/cron.py) and
the maintenance commands run by hand.

- queued deployments whose job Redis lost go back on the queue, once (the job id is the
  deployment's code, and the claim lets only one worker run it);
- running deployments whose worker is dead (no RQ heartbeat), and cancelling ones whose
  job is gone, have their stack unlocked and end failed or cancelled, their log kept;
- anything a stopped job started that no stack records is stopped (VM guests).
"""
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from herocool_project import redisconn

from . import engine, notify
from .hosts import enqueue_host_ticks
from .logwriter import append_log
from .models import Deployment

log = logging.getLogger(__name__)
State = Deployment.State
DEAD_WORKER = ("The worker running this deployment stopped before it finished (killed, "
               "crashed or timed out). Its log is kept; the stack was unlocked; retry it.")
WAITING = ("queued", "started", "scheduled", "deferred")


class QueueUnavailable(Exception):
    pass


def sweep():
    """One pass of every recovery; returns what it did (kept as the RQ job's result)."""
    done = {
        "requeued": [str(d.code) for d in requeue_lost()],
        "released": [str(d.code) for d in release_abandoned()],
        # What runs on a host (its guests) is reaped there, by a tick on its own queue.
        "host_ticks": enqueue_host_ticks(),
    }
    if done["requeued"] or done["released"]:  # (ticks go out every time)
        log.info("sweep: %s", done)
    return done


def requeue_lost(*, grace=None, dry_run=False):
    """Queued deployments (older than `grace` seconds) whose job is not waiting in Redis:
    put back. Returns them."""
    from .services import enqueue

    grace = settings.SWEEP_GRACE_SECONDS if grace is None else grace
    cutoff = timezone.now() - timedelta(seconds=grace)
    lost = [d for d in Deployment.objects.filter(status=State.QUEUED, queued_at__lte=cutoff)
            .order_by("queued_at") if not _job_waiting(str(d.code))]
    for deployment in lost:
        if not dry_run and not enqueue(deployment):
            raise QueueUnavailable(f"could not requeue {deployment}")
        log.info("%s %s: its job was missing from Redis", "would requeue" if dry_run
                 else "requeued", deployment)
    return lost


def release_abandoned(*, older_than=0, dry_run=False):
    """Running deployments whose worker is dead, and cancelling ones whose job is gone:
    unlock their stacks and end them. Returns those released (or to be, on a dry run)."""
    cutoff = timezone.now() - timedelta(minutes=older_than)
    found = [d for d in Deployment.objects.filter(
        status__in=[State.RUNNING, State.CANCELLING], started_at__lte=cutoff)
        .order_by("started_at") if job_is_gone(d)]
    if dry_run:
        return found
    return [d for d in found if _release_noting(d)]


def _release_noting(deployment):
    """release(), logging a stack the engine could not unlock rather than giving up the
    rest of the sweep for it (the next sweep tries again)."""
    try:
        return release(deployment)
    except engine.EngineError as exc:
        log.error("could not unlock %s: %s", deployment.stack_name, exc)
        return False


def release(deployment):
    """Unlock the stack of a deployment whose job is gone, then end the deployment:
    cancelling → cancelled, running → failed. Anything the job started that the stack
    does not record is stopped. False when there was nothing to do."""
    resource = deployment.resource
    engine.cancel(resource.pulumi_project, resource.stack_name)
    who = deployment.cancelled_by
    with transaction.atomic():  # the deployment and its resource end together: no reader
        ended = deployment.settle(error=DEAD_WORKER)  # sees one ended, the other busy
        if ended is None:
            return False
        notify.deployment_event(deployment, ended)
        if ended == State.CANCELLED:
            reason = (f"The {deployment.action} was cancelled by {who} while it ran: the "
                      "stack may be partly changed; retry or refresh.")
        else:
            reason = DEAD_WORKER
        if deployment.action not in (Deployment.Action.PREVIEW, Deployment.Action.REFRESH):
            resource.mark_failed(reason)
    if resource.host_id is None or resource.host.name == settings.HEROCOOL_HOST:
        resource.release_untracked()  # else its own host's tick stops what it left
    append_log(deployment.pk, f"\nThe job is gone; the stack was unlocked. {reason}\n")
    log.info("released %s: %s", deployment, ended)
    return True


def job_is_gone(deployment):
    """True when no worker runs this deployment's job any more: its worker is dead (no
    heartbeat), or alive but past it, or (no worker recorded) RQ says it ended."""
    job_id = str(deployment.code)
    if not deployment.worker_name:
        return _job_status(job_id) not in WAITING
    worker = _live_worker(deployment.worker_name)
    if worker is None:
        return True
    current = worker.get_current_job_id()
    if current is None and _fetch(job_id) is None:
        # Redis lost its records (a restart without persistence, a flush) and the worker's
        # heartbeat re-created its key without them: it may still be on this job.
        return False
    return current != job_id


def _live_worker(name):
    from rq import Worker

    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name,
                                connection=redisconn.connection())
    return worker if is_alive(worker) else None


def is_alive(worker):
    """An RQ worker that has not died and heartbeat within WORKER_DEAD_AFTER (a host is
    live while one of its workers is: stacks/hosts.py)."""
    if worker is None or worker.death_date or worker.last_heartbeat is None:
        return False
    silent = timezone.now() - worker.last_heartbeat
    return silent.total_seconds() < settings.WORKER_DEAD_AFTER


def _fetch(job_id):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue = redisconn.queue("default")
    try:
        return Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return None


def _job_status(job_id):
    job = _fetch(job_id)
    return job.get_status() if job else None


def _job_waiting(job_id):
    """The job will still run: waiting in Redis, or taken by a worker that lives and is
    on it (one killed between taking the job and claiming its row left it 'started')."""
    job = _fetch(job_id)
    if job is None:
        return False
    status = job.get_status()
    if status == "started":
        worker = _live_worker(job.worker_name) if job.worker_name else None
        return worker is not None and worker.get_current_job_id() == job_id
    return status in WAITING


def wait_until_job_gone(deployment, seconds):
    deadline = time.monotonic() + seconds
    while not job_is_gone(deployment):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
