"""Keep the full logs of each resource's last N deployments; empty the older ones."""
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from stacks.models import Deployment


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
        old = []
        seen = {}
        rows = (Deployment.objects.exclude(log="").exclude(status__in=Deployment.ACTIVE_STATES)
                .order_by("resource_type_id", "resource_id", "-queued_at", "-id")
                .values_list("pk", "resource_type_id", "resource_id"))
        for pk, type_id, resource_id in rows.iterator():
            key = (type_id, resource_id)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > keep:
                old.append(pk)
        if not dry_run:
            note = f"[log pruned on {timezone.now():%Y-%m-%d} by prune_logs --keep {keep}]\n"
            Deployment.objects.filter(pk__in=old).update(log=note)
        verb = "would prune" if dry_run else "pruned"
        self.stdout.write(f"{verb} the logs of {len(old)} deployment(s).")
