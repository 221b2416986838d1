"""RQ entry points. Jobs receive ids, never model objects."""
import logging
import os
import time
import traceback

from django.db import transaction
from django.utils import timezone
from rq.exceptions import NoSuchJobError

from . import engine
from .logwriter import LogHandler, LogWriter, append_log
from .models import Deployment, Status

log = logging.getLogger("herocool.deploy")
Action = Deployment.Action
State = Deployment.State


class PrepareError(Exception):
    """A resource could not get ready for its deployment (message safe to show)."""


def run_deployment(deployment_id):
    """Claim a queued deployment and run it; return its final status, or None when
    there was nothing to run (cancelled meanwhile, or another worker claimed it)."""
    claimed = Deployment.objects.filter(pk=deployment_id, status=State.QUEUED).update(
        status=State.RUNNING, started_at=timezone.now(), worker_pid=os.getpid()
    )
    if claimed != 1:
        return None
    deployment = Deployment.objects.select_related("requested_by").get(pk=deployment_id)
    return DeploymentRunner(deployment).run()


class DeploymentRunner:
    def __init__(self, deployment):
        self.deployment = deployment
        self.resource = deployment.resource
        self.writer = LogWriter(deployment.pk)
        self.handler = LogHandler(self.writer)

    def run(self):
        log.addHandler(self.handler)
        try:
            self._start()
            result = self._execute()
            self._finish(State.SUCCEEDED, result=result)
        except (engine.EngineError, PrepareError) as exc:
            log.error("Deployment failed: %s", exc)
            self._finish(State.FAILED, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - kept with its traceback, then re-raised
            self.writer.line(traceback.format_exc())
            self._finish(State.FAILED, error=f"Internal error: {type(exc).__name__}")
            raise
        finally:
            log.removeHandler(self.handler)
            self.writer.close()
        return self.deployment.status

    def _start(self):
        who = self.deployment.requested_by or "the platform"
        log.info("%s of %s requested by %s; started %s", self.deployment.action.title(),
                 self.resource.stack_name, who, self.deployment.started_at.isoformat())
        if self.deployment.action == Action.CREATE:
            self._set_resource(status=Status.PROVISIONING)

    def _execute(self):
        resource, action = self.resource, self.deployment.action
        project, stack = resource.pulumi_project, resource.stack_name
        out = self.writer.line
        if action in (Action.CREATE, Action.UPDATE):
            resource.prepare(self.deployment)
            return engine.up(project, stack, resource.program(),
                             config=resource.stack_config(), on_output=out)
        if action == Action.DESTROY:
            return engine.destroy(project, stack, resource.program(), on_output=out)
        if action == Action.REFRESH:
            return engine.refresh(project, stack, resource.program(), on_output=out)
        if action == Action.PREVIEW:
            resource.apply_changes(self.deployment.params)  # in memory only, never saved
            resource.prepare(self.deployment)
            return engine.preview(project, stack, resource.program(),
                                  config=resource.stack_config(), on_output=out)
        raise ValueError(f"unknown action {action!r}")

    def _finish(self, state, *, result=None, error=""):
        with transaction.atomic():
            if not self.deployment.finish(state, error=error,
                                          summary=result.summary if result else None):
                return  # cancelled meanwhile: whoever cancelled set the resource's state
            if state == State.FAILED:
                if self.deployment.action != Action.PREVIEW:
                    self.resource.mark_failed(error)
            else:
                self._apply_result(result)
        log.info("Finished %s: %s", self.deployment.action, state)

    def _apply_result(self, result):
        action = self.deployment.action
        if action == Action.PREVIEW:
            return
        if action == Action.DESTROY:
            self.resource.apply_outputs({})
            self._set_resource(status=Status.DELETED, outputs={})
            return
        self.resource.apply_outputs(result.outputs)
        status, error = self.resource.outcome(result.outputs)
        self._set_resource(status=status, last_error=error)

    def _set_resource(self, **fields):
        for name, value in fields.items():
            setattr(self.resource, name, value)
        self.resource.save()


def unlock_stack(deployment_id, wait_seconds=60):
    """After a running deployment was cancelled or its worker died: once its job is gone,
    release the stack's lock so the next deployment can run."""
    deployment = Deployment.objects.get(pk=deployment_id)
    wait_until_job_gone(str(deployment.code), wait_seconds)
    resource = deployment.resource
    engine.cancel(resource.pulumi_project, resource.stack_name)
    append_log(deployment_id, "Stack unlocked after the job stopped.\n")


def job_is_gone(job_id):
    """True when no worker is running the job any more (finished, failed, killed, lost)."""
    import django_rq
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    queue = django_rq.get_queue("default")
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return True
    if job.get_status() != JobStatus.STARTED:
        return job.get_status() not in (JobStatus.QUEUED, JobStatus.SCHEDULED,
                                        JobStatus.DEFERRED)
    registry = StartedJobRegistry(queue=queue)
    return job_id not in registry.get_job_ids() or job_id in registry.get_expired_job_ids()


def wait_until_job_gone(job_id, seconds):
    deadline = time.monotonic() + seconds
    while not job_is_gone(job_id) and time.monotonic() < deadline:
        time.sleep(0.5)
