"""Copy stack outputs from the Pulumi backend onto the records."""
from django.core.management.base import BaseCommand, CommandError

from stacks import engine
from stacks.management.selection import add_selection_arguments, select_resources


class Command(BaseCommand):
    help = "Read each stack's outputs from the backend and store them on its record."

    def add_arguments(self, parser):
        add_selection_arguments(parser)
        parser.add_argument("--dry-run", action="store_true",
                            help="Show what would change without saving.")

    def handle(self, *args, dry_run=False, **options):
        failures = changed = 0
        resources = select_resources(options)
        for resource in resources:
            try:
                outputs = engine.outputs(resource.pulumi_project, resource.stack_name)
            except engine.EngineError as exc:
                failures += 1
                self.stderr.write(f"{resource.stack_name}: {exc}")
                continue
            if outputs == resource.outputs:
                continue
            changed += 1
            self.stdout.write(f"{'would update' if dry_run else 'updated'} "
                              f"{resource.stack_name}: {resource.outputs} -> {outputs}")
            if not dry_run and not resource.store_outputs(outputs):
                self.stderr.write(f"{resource.stack_name}: changed meanwhile; left as is")
        self.stdout.write(f"{len(resources)} resource(s) read, {changed} changed.")
        if failures:
            raise CommandError(f"{failures} stack(s) could not be read.")
