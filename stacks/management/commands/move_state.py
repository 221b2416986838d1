"""Move every stack of Herocool's Pulumi projects from one backend to another."""
import time

from django.core.management.base import BaseCommand, CommandError

from herocool_project.pulumi_backend import masked
from stacks import engine, state_move


class Command(BaseCommand):
    help = (
        "Copy every stack of herocool-sites and herocool-vms from the --from backend to "
        "the --to backend (file://…, postgres://…, s3://…): each stack's checkpoint is "
        "exported and imported, its secrets encrypted again by the target's CLI with the "
        "same PULUMI_CONFIG_PASSPHRASE (both backends need the one passphrase). Refuses "
        "while any deployment is queued or running; skips stacks the target already holds "
        "with the same checkpoint (so it can be run again); never overwrites one that "
        "differs; verifies stack counts and every stack's outputs after. Update history "
        "and lock files stay behind, and nothing is deleted from the source: once the "
        "platform runs on the target (PULUMI_BACKEND_URL or the default) and "
        "pulumi_doctor is healthy, remove the source yourself (the file:// folder, or "
        "DROP TABLE of the postgres:// table). Exits non-zero on any problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="source backend URL")
        parser.add_argument("--to", dest="target", required=True, help="target backend URL")
        parser.add_argument("--dry-run", action="store_true",
                            help="Say what would be moved, and change nothing.")
        parser.add_argument("--jobs", type=int, default=4,
                            help="Stacks handled at once (default 4).")

    def handle(self, *args, source, target, dry_run=False, jobs=4, **options):
        if source == target:
            raise CommandError("--from and --to name the same backend.")
        started = time.monotonic()
        self.stdout.write(f"From {masked(source)}\nTo   {masked(target)}")
        try:
            state_move.refuse_while_deployments_run()
            plan = state_move.plan(source, target, jobs=jobs)
            self._report(plan, dry_run)
            if dry_run:
                return
            state_move.copy(plan, target, jobs=jobs, say=self.stdout.write)
            problems = state_move.verify(plan, source, target, jobs=jobs)
        except (state_move.MoveRefused, engine.EngineError) as exc:
            raise CommandError(str(exc)) from exc
        if problems:
            raise CommandError("The move did not verify:\n- " + "\n- ".join(problems))
        self.stdout.write(self.style.SUCCESS(
            f"Moved {len(plan.copy)} stack(s), {len(plan.same)} already there; counts and "
            f"outputs verified in {time.monotonic() - started:.1f} s."))

    def _report(self, plan, dry_run):
        verb = "would move" if dry_run else "to move"
        self.stdout.write(f"{len(plan.copy)} stack(s) {verb}, {len(plan.same)} already in "
                          f"the target with the same state.")
        for project, name, _state in plan.copy if dry_run else ():
            self.stdout.write(f"  would move {project}/{name}")
        if plan.conflicts:
            names = ", ".join(f"{p}/{n}" for p, n in plan.conflicts)
            raise state_move.MoveRefused(
                f"{len(plan.conflicts)} stack(s) exist in the target with a different state "
                f"and are not overwritten: {names}. Remove them from the target (or move "
                "them by hand) and run again.")
