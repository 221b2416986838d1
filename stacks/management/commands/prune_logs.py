"""Keep the full logs of each resource's last N deployments; empty the older ones."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from stacks.models import Deployment, DeploymentLogChunk

BATCH = 1000  # deployments per transaction (and under SQLite's limit of parameters)


class Command(BaseCommand):
    help = ("Per resource, keep the logs of the newest N deployments and replace older "
            "logs with a note. The deployments themselves (who, when, result) stay.")

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=int, required=True, metavar="N")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only count what would be pruned.")

    def handle(self, *args, keep, dry_run=False, **options):
        if keep < 1:
            raise CommandError("--keep must be at least 1.")
        old = self._older_than_the_newest(keep)
        if not dry_run:
            note = f"[log pruned on {timezone.now():%Y-%m-%d} by prune_logs --keep {keep}]\n"
            self._replace_logs(old, note)
        verb = "would prune" if dry_run else "pruned"
        self.stdout.write(f"{verb} the logs of {len(old)} deployment(s).")

    def _older_than_the_newest(self, keep):
        """Ids of the finished deployments with a log, past the newest `keep` of their
        resource."""
        old, seen = [], {}
        has_log = Exists(DeploymentLogChunk.objects.filter(deployment=OuterRef("pk")))
        rows = (Deployment.objects.filter(has_log)
                .exclude(status__in=Deployment.ACTIVE_STATES)
                .order_by("resource_type_id", "resource_id", "-queued_at", "-id")
                .values_list("pk", "resource_type_id", "resource_id"))
        for pk, type_id, resource_id in rows.iterator():
            key = (type_id, resource_id)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > keep:
                old.append(pk)
        return old

    def _replace_logs(self, deployment_ids, note):
        """Each log becomes the one-line note: its chunks deleted, one chunk written."""
        for i in range(0, len(deployment_ids), BATCH):
            batch = deployment_ids[i:i + BATCH]
            with transaction.atomic():
                DeploymentLogChunk.objects.filter(deployment__in=batch).delete()
                DeploymentLogChunk.objects.bulk_create(
                    DeploymentLogChunk(deployment_id=pk, start=0, end=len(note), text=note)
                    for pk in batch)
