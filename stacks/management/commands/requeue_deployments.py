"""By hand, what the sweep does every minute: queued deployments whose job Redis lost
go back on the queue."""
from django.core.management.base import BaseCommand, CommandError

from stacks.sweep import requeue_lost


class Command(BaseCommand):
    help = ("Re-enqueue deployments recorded as queued whose job is not in Redis "
            "(after Redis lost its data or was down when they were requested).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only list them.")

    def handle(self, *args, dry_run=False, **options):
        try:
            found = requeue_lost(grace=0, dry_run=dry_run)
        except Exception as exc:  # noqa: BLE001 - Redis down: say so, exit non-zero
            raise CommandError(f"The queue is unavailable: {exc}") from None
        for deployment in found:
            self.stdout.write(f"{'would re-enqueue' if dry_run else 're-enqueued'} "
                              f"{deployment}")
        self.stdout.write(f"{len(found)} queued deployment(s) missing from Redis.")
