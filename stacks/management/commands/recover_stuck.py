"""By hand, what the sweep does every minute: deployments whose worker died end failed,
and cancelled ones whose job is gone end cancelled, their stacks unlocked."""
from django.core.management.base import BaseCommand, CommandError

from stacks import engine
from stacks.sweep import release, release_abandoned


class Command(BaseCommand):
    help = ("Deployments left running or cancelling by a worker that is gone: unlock their "
            "stacks and end them (failed, or cancelled), their logs kept.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=0, metavar="MIN",
                            help="Only deployments started at least MIN minutes ago.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only say what would be recovered.")

    def handle(self, *args, older_than, dry_run, **options):
        stuck = release_abandoned(older_than=older_than, dry_run=True)
        failures = 0
        for deployment in stuck:
            if dry_run:
                self.stdout.write(f"would recover {deployment}")
                continue
            try:
                release(deployment)
                deployment.refresh_from_db()
                self.stdout.write(f"recovered {deployment}: stack unlocked")
            except engine.EngineError as exc:
                failures += 1
                self.stderr.write(f"could not unlock {deployment.stack_name}: {exc}")
        self.stdout.write(f"{len(stuck)} stuck deployment(s).")
        if failures:
            raise CommandError(f"{failures} stack(s) could not be unlocked.")
