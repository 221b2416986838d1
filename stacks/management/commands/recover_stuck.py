"""Deployments left `running` by a worker that died become `failed`, stacks unlocked."""
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from stacks import engine
from stacks.jobs import job_is_gone
from stacks.logwriter import append_log
from stacks.models import Deployment

REASON = ("The worker running this deployment stopped before it finished (killed, "
          "crashed or timed out). Its log is kept; the stack was unlocked; retry it.")


class Command(BaseCommand):
    help = ("Mark deployments stuck in `running` whose RQ job is gone as failed, with a "
            "reason, and unlock their stacks.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=0, metavar="MIN",
                            help="Only deployments started at least MIN minutes ago.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only say what would be recovered.")

    def handle(self, *args, older_than, dry_run, **options):
        cutoff = timezone.now() - timedelta(minutes=older_than)
        running = Deployment.objects.filter(status=Deployment.State.RUNNING,
                                            started_at__lte=cutoff)
        stuck = [d for d in running if job_is_gone(str(d.code))]
        failures = 0
        for deployment in stuck:
            if dry_run:
                self.stdout.write(f"would recover {deployment}")
                continue
            try:
                self._recover(deployment)
                self.stdout.write(f"recovered {deployment}: failed, stack unlocked")
            except engine.EngineError as exc:
                failures += 1
                self.stderr.write(f"could not unlock {deployment.stack_name}: {exc}")
        self.stdout.write(f"{len(stuck)} stuck deployment(s) of {running.count()} running.")
        if failures:
            raise CommandError(f"{failures} stack(s) could not be unlocked.")

    def _recover(self, deployment):
        resource = deployment.resource
        engine.cancel(resource.pulumi_project, resource.stack_name)
        with transaction.atomic():
            ended = deployment.finish(Deployment.State.FAILED, error=REASON)
            if ended and deployment.action != Deployment.Action.PREVIEW:
                resource.mark_failed(REASON)
        append_log(deployment.pk, f"\n{REASON}\n")
