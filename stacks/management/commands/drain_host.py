"""Empty a host before it goes away: its sites move to other live hosts (redeployed
there from their recorded source, forgotten here); its VMs cannot move and are listed."""
from django.core.management.base import BaseCommand, CommandError

from stacks.drain import DrainError, drain


class Command(BaseCommand):
    help = ("Move the sites of host NAME to other live hosts and list its VMs, which "
            "cannot move (their disks live there).")

    def add_arguments(self, parser):
        parser.add_argument("name", help="The host's HEROCOOL_HOST name.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only say what would move and what cannot.")

    def handle(self, *args, name, dry_run, **options):
        try:
            report = drain(name, dry_run=dry_run)
        except DrainError as exc:
            raise CommandError(str(exc)) from None
        verb = "would move" if dry_run else "moving"
        for resource, host in report.moved:
            self.stdout.write(f"{verb} {resource._meta.verbose_name} {resource.name} "
                              f"({resource.stack_name}) to {host.name}")
        for resource, why in report.stuck:
            self.stderr.write(f"cannot move {resource.name} ({resource.stack_name}) now: "
                              f"{why}")
        for resource in report.unmovable:
            self.stdout.write(f"cannot move {resource._meta.verbose_name} {resource.name} "
                              f"({resource.stack_name}, owner {resource.owner}): its disk "
                              f"lives on {name}")
        self.stdout.write(f"{len(report.moved)} to move, {len(report.stuck)} held back, "
                          f"{len(report.unmovable)} that cannot move.")
        if report.stuck:
            raise CommandError(f"{len(report.stuck)} could not move now; run it again.")
