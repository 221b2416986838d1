"""Put back on the queue the deployments the database says are queued but Redis lacks."""
import django_rq
from django.core.management.base import BaseCommand

from stacks.models import Deployment
from stacks.services import enqueue


class Command(BaseCommand):
    help = ("Re-enqueue deployments recorded as queued whose job is not in Redis "
            "(after Redis lost its data or was down when they were requested).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only list them.")

    def handle(self, *args, dry_run=False, **options):
        queue = django_rq.get_queue("default")
        waiting = set(queue.job_ids)
        missing = [d for d in Deployment.objects.filter(status=Deployment.State.QUEUED)
                   .order_by("queued_at") if str(d.code) not in waiting]
        for deployment in missing:
            if dry_run or enqueue(deployment):
                verb = "would re-enqueue" if dry_run else "re-enqueued"
                self.stdout.write(f"{verb} {deployment}")
            else:
                self.stderr.write(f"could not enqueue {deployment}")
                raise SystemExit(1)
        self.stdout.write(f"{len(missing)} queued deployment(s) missing from Redis.")
