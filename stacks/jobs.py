"""RQ entry points. Jobs receive ids, never model objects."""
import logging
import os

from django.db import transaction
from rq import get_current_job

from herocool_project import logcontext

from . import engine, notify, plans, sweep
from .logwriter import LogWriter
from .models import Deployment, PrepareError, Status

log = logging.getLogger(__name__)
Action = Deployment.Action
State = Deployment.State
# While a deployment's job runs, the resource's status says what is happening.
IN_FLIGHT = {
    Action.CREATE: [Status.PENDING, Status.PROVISIONING],
    Action.UPDATE: [Status.UPDATING],
    Action.DESTROY: [Status.DELETING],
    # A refresh can run whatever the resource's state (a failed VM may be found running).
    Action.REFRESH: [s for s in Status.values if s != Status.DELETED],
}
# How long a job's end waits for its `started` notification to be recorded first.
STARTED_WAIT_SECONDS = 30


def run_deployment(deployment_id):
    """Claim a queued deployment and run it; return its final status, or None when
    there was nothing to run (cancelled meanwhile, or another worker claimed it)."""
    deployment = Deployment(pk=deployment_id)
    job = get_current_job()
    worker_name = (job.worker_name or "") if job else ""
    if not deployment.claim(worker_name=worker_name,
                            worker_pid=os.getpid()):
        return None
    deployment = Deployment.objects.select_related("requested_by").get(pk=deployment_id)
    with logcontext.bind(deployment=deployment.code, user=deployment.owner_id):
        return DeploymentRunner(deployment).run()


class DeploymentRunner:
    def __init__(self, deployment):
        self.deployment = deployment
        self.resource = deployment.resource
        self.writer = LogWriter(deployment.pk)
        # Its webhooks' `started` deliveries are recorded on the writer's thread, off
        # the engine's path (30 ms of an update: issue #13), before any final event.
        self.started = self.writer.call(notify.deployment_event, deployment, "started")

    def say(self, message, *args):
        """A line in the deployment's log (and in the worker's own log)."""
        text = message % args if args else message
        log.info("%s: %s", self.deployment.code, text)
        self.writer.line(text)

    def run(self):
        try:
            self._start()
            result = self._execute()
            self._finish(State.SUCCEEDED, result=result)
        except (engine.EngineError, PrepareError) as exc:
            self.say("Deployment failed: %s", exc)
            self._finish(State.FAILED, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the traceback goes to the operator only
            log.exception("deployment %s: internal error", self.deployment.code)
            error = (f"Internal error ({type(exc).__name__}); the operators have the details "
                     f"under reference {self.deployment.code}.")
            self.writer.line(error)
            self._finish(State.FAILED, error=error)
            raise
        finally:
            self.writer.close()
        return self.deployment.status

    def _start(self):
        who = self.deployment.requested_by or "the platform"
        self.say("%s of %s requested by %s; started %s", self.deployment.action.title(),
                 self.resource.stack_name, who, self.deployment.started_at.isoformat())
        if self.deployment.action == Action.CREATE:
            self.resource.transition(Status.PROVISIONING, expected=[Status.PENDING])

    def _execute(self):
        resource, action = self.resource, self.deployment.action
        project, stack = resource.pulumi_project, resource.stack_name
        out = self.writer.line
        if action in (Action.CREATE, Action.UPDATE):
            resource.apply_changes(self.deployment.params)  # saved only on success
            resource.prepare(self.deployment, self.say)
            # A create makes the stack first (2 CLI processes); an update is `up` alone,
            # held to its preview's plan when it applies one (stacks/plans.py).
            plan = plans.approved_plan(self.deployment)
            try:
                return engine.up(project, stack, resource.program(),
                                 config=resource.stack_config(), on_output=out,
                                 new=action == Action.CREATE, plan=plan)
            except engine.EngineError as exc:
                raise plans.departure(exc) if plan else exc
        if action == Action.DESTROY:
            return engine.destroy(project, stack, resource.program(), on_output=out)
        if action == Action.REFRESH:
            return engine.refresh(project, stack, resource.program(), on_output=out)
        if action == Action.PREVIEW:
            resource.apply_changes(self.deployment.params)  # in memory only, never saved
            resource.prepare(self.deployment, self.say)
            result = engine.preview(project, stack, resource.program(),
                                    config=resource.stack_config(), on_output=out, plan=True)
            result.summary["plan"] = result.plan  # kept with the preview (stacks/plans.py)
            return result
        raise ValueError(f"unknown action {action!r}")

    def _finish(self, state, *, result=None, error=""):
        self.started.wait(STARTED_WAIT_SECONDS)  # long done, but for the fastest failure
        with transaction.atomic():
            if not self.deployment.finish(state, error=error,
                                          summary=result.summary if result else None):
                return  # cancelled meanwhile: whoever cancelled set the resource's state
            notify.deployment_event(self.deployment, state)
            if self.deployment.action != Action.PREVIEW:  # a preview changes no record
                if state == State.FAILED:
                    self.resource.mark_failed(error)
                else:
                    self._apply_result(result)
        self.say("Finished %s: %s", self.deployment.action, state)

    def _apply_result(self, result):
        expected = IN_FLIGHT[self.deployment.action]
        if self.deployment.action == Action.DESTROY:
            if self.resource.transition(Status.DELETED, expected=expected, outputs={}):
                self.resource.deployed(self.deployment)
            return
        status, error = self.resource.outcome(result.outputs)
        # What was deployed: the update's changes (and content a job fetched) with the
        # stack's outputs, in the same conditional write.
        deployed = self.resource.proposed() if self.deployment.action != Action.REFRESH else {}
        if self.resource.transition(status, expected=expected, last_error=error, **deployed,
                                    **self.resource.output_fields(result.outputs)) \
                and self.deployment.action != Action.REFRESH:
            self.resource.deployed(self.deployment)


def release_stack(deployment_id, wait_seconds=60):
    """After a running deployment was cancelled: once its job is gone, unlock the stack
    and end the deployment. If the job outlives the wait, the sweep finishes later."""
    deployment = Deployment.objects.get(pk=deployment_id)
    if not sweep.wait_until_job_gone(deployment, wait_seconds):
        log.warning("job of %s still running after %ss; the sweep will release it",
                    deployment.code, wait_seconds)
        return False
    return sweep.release(deployment)
