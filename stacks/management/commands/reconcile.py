"""Records without stacks, and stacks without records, in both directions."""
from django.core.management.base import BaseCommand, CommandError

from stacks import engine
from stacks.models import Deployment, Status, resource_models
from stacks.services import DeploymentRefused, request_deployment

MISSING = "Its stack is missing from the Pulumi backend (found by reconcile)."
ORPHAN = "Its stack was found in the Pulumi backend without a record (found by reconcile)."


class Command(BaseCommand):
    help = ("Compare the database with the Pulumi backend. Without --fix, report and exit "
            "1 if they differ. With --fix, mark records whose stack is missing as failed, "
            "and queue a destroy deployment (with its record and log) for each stack that "
            "has no live record, saying each.")

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair what differs.")

    def handle(self, *args, fix=False, **options):
        problems = refused = 0
        for model in resource_models():
            found, failed = self._reconcile(model, fix)
            problems, refused = problems + found, refused + failed
        if problems and not fix:
            raise CommandError(f"{problems} difference(s); run with --fix to repair.")
        if refused:
            raise CommandError(f"{refused} difference(s) could not be repaired now.")
        self.stdout.write(f"{problems} difference(s){' repaired' if fix else ''}.")

    def _reconcile(self, model, fix):
        project = model.pulumi_project
        stacks = set(engine.list_stacks(project))
        records = {r.stack_name: r for r in model.objects.exclude(status=Status.DELETED)}
        problems = refused = 0
        for name, resource in sorted(records.items()):
            if name in stacks or resource.is_busy or resource.status == Status.FAILED:
                continue  # busy: its stack may not exist yet; failed: already flagged
            problems += 1
            self.stdout.write(f"record without stack: {project}/{name} ({resource.owner})")
            if fix and resource.mark_failed(MISSING):
                self.stdout.write("  marked failed")
        for name in sorted(stacks - set(records)):
            problems += 1
            self.stdout.write(f"stack without record: {project}/{name}")
            if fix:
                refused += not self._destroy_orphan(model, name)
        return problems, refused

    def _destroy_orphan(self, model, name):
        resource = model.adopt(name, ORPHAN)
        try:
            deployment = request_deployment(resource, Deployment.Action.DESTROY, None)
        except DeploymentRefused as exc:
            self.stderr.write(f"  not destroyed: {exc}")
            return False
        self.stdout.write(f"  destroy queued as deployment {deployment.code} of record "
                          f"{resource.name} ({resource.owner})")
        return True
