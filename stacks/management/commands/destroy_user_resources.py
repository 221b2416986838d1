"""Tear down all of a user's personal resources through deployments (for account
deletion): what they created for a team stays with the team, as when they leave."""
from django.core.management.base import BaseCommand, CommandError

from stacks.management.selection import select_resources
from stacks.models import Deployment
from stacks.services import DeploymentRefused, request_deployment


class Command(BaseCommand):
    help = ("Queue a destroy deployment for every personal site and VM of USER (not its "
            "teams'); the workers do the rest. Records stay, marked deleted, with their logs.")

    def add_arguments(self, parser):
        parser.add_argument("user", help="The username.")
        parser.add_argument("--dry-run", action="store_true",
                            help="List what would be destroyed.")

    def handle(self, *args, user, dry_run=False, **options):
        resources = select_resources({"user": user})
        refused = 0
        for resource in resources:
            if dry_run:
                self.stdout.write(f"would destroy {resource.stack_name} ({resource.name})")
                continue
            try:
                deployment = request_deployment(resource, Deployment.Action.DESTROY, None)
                self.stdout.write(f"queued destroy of {resource.stack_name}: "
                                  f"{deployment.code}")
            except DeploymentRefused as exc:
                refused += 1
                self.stderr.write(f"{resource.stack_name}: {exc}")
        self.stdout.write(f"{len(resources)} resource(s) of {user}.")
        if refused:
            raise CommandError(f"{refused} resource(s) refused; run again once their "
                               "deployments finish.")
