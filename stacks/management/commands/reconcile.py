"""Records without stacks, and stacks without records, in both directions."""
from django.core.management.base import BaseCommand, CommandError

from stacks import engine
from stacks.models import Status, resource_models

MISSING = "Its stack is missing from the Pulumi backend (found by reconcile)."


class Command(BaseCommand):
    help = ("Compare the database with the Pulumi backend. Without --fix, report and exit "
            "1 if they differ. With --fix, mark records whose stack is missing as failed "
            "and destroy stacks that have no live record, saying each.")

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair what differs.")

    def handle(self, *args, fix=False, **options):
        problems = 0
        for model in resource_models():
            problems += self._reconcile(model, fix)
        if problems and not fix:
            raise CommandError(f"{problems} difference(s); run with --fix to repair.")
        self.stdout.write(f"{problems} difference(s){' repaired' if fix else ''}.")

    def _reconcile(self, model, fix):
        project = model.pulumi_project
        stacks = set(engine.list_stacks(project))
        records = {r.stack_name: r for r in model.objects.exclude(status=Status.DELETED)}
        problems = 0
        for name, resource in sorted(records.items()):
            if name in stacks or resource.is_busy or resource.status == Status.FAILED:
                continue  # busy: its stack may not exist yet; failed: already flagged
            problems += 1
            self.stdout.write(f"record without stack: {project}/{name} ({resource.owner})")
            if fix:
                resource.status, resource.last_error = Status.FAILED, MISSING
                resource.save(update_fields=["status", "last_error", "updated"])
                self.stdout.write("  marked failed")
        for name in sorted(stacks - set(records)):
            problems += 1
            self.stdout.write(f"stack without record: {project}/{name}")
            if fix:
                engine.destroy(project, name, None, on_output=None)
                self.stdout.write("  destroyed and removed")
        return problems
