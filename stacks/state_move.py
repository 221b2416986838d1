"""Moving every stack of our Pulumi projects from one backend to another.

Each stack's checkpoint is exported from the source and imported into the target
(through stacks/engine.py); nothing in the source is changed or deleted. A stack the
target already holds with the same checkpoint is skipped, so a second run moves
nothing; one it holds with a different checkpoint is never overwritten.
"""
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stacks import engine
from stacks.models import Deployment, resource_models


class MoveRefused(Exception):
    """The move cannot start or did not verify; the message says why."""


@dataclass
class Plan:
    copy: list = field(default_factory=list)       # (project, stack, checkpoint)
    same: list = field(default_factory=list)       # (project, stack)
    conflicts: list = field(default_factory=list)  # (project, stack)


def projects():
    return sorted({model.pulumi_project for model in resource_models()})


def refuse_while_deployments_run():
    active = Deployment.objects.filter(status__in=Deployment.ACTIVE_STATES).count()
    if active:
        raise MoveRefused(f"{active} deployment(s) queued or running: wait for them (or "
                          "cancel them) and stop the workers before moving the state.")


def plan(source, target, *, jobs=4):
    """What a move would do, from the checkpoints of both backends (read only)."""
    result = Plan()
    for project in projects():
        names = engine.list_stacks(project, backend=source)
        present = set(engine.list_stacks(project, backend=target))

        def examine(name, project=project):
            state = engine.export_state(project, name, backend=source)
            if name not in present:
                return "copy", (project, name, state)
            there = engine.export_state(project, name, backend=target)
            if not (there.get("deployment") or {}).get("resources"):
                return "copy", (project, name, state)  # made by a move that stopped short
            return ("same" if there == state else "conflicts"), (project, name)

        with ThreadPoolExecutor(jobs) as pool:
            for kind, item in pool.map(examine, names):
                getattr(result, kind).append(item)
    return result


def copy(plan, target, *, jobs=4, say=print):
    def one(item):
        project, name, state = item
        engine.import_state(project, name, state, backend=target)
        return f"moved {project}/{name}"

    with ThreadPoolExecutor(jobs) as pool:
        for line in pool.map(one, plan.copy):
            say(line)


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # marks a secret in a checkpoint


def stack_outputs(state):
    """The outputs recorded in a checkpoint (its root stack resource), secrets by value."""
    for resource in (state.get("deployment") or {}).get("resources") or []:
        if resource["type"] == "pulumi:pulumi:Stack":
            return {k: _plain(v) for k, v in resource.get("outputs", {}).items()}
    return {}


def _plain(value):
    if isinstance(value, dict) and SECRET_SIG in value and "plaintext" in value:
        return json.loads(value["plaintext"])
    return value


def verify(plan, source, target, *, jobs=4):
    """Problems found comparing the backends: stack counts per project, then each moved
    stack read back from the target: its outputs (secret ones by value), and the whole
    checkpoint, must be the source's. (Stacks found the same were compared by plan().)
    An empty list means the move is complete."""
    problems = []
    for project in projects():
        names = engine.list_stacks(project, backend=source)
        there = engine.list_stacks(project, backend=target)
        if len(names) != len(there) or set(names) - set(there):
            problems.append(f"{project}: {len(names)} stack(s) in the source, {len(there)} "
                            f"in the target; missing: {sorted(set(names) - set(there))}")

    def differs(item):
        project, name, state = item
        try:
            moved = engine.export_state(project, name, backend=target)
        except engine.EngineError as exc:
            return f"{project}/{name}: could not be read back ({exc})"
        if stack_outputs(moved) != stack_outputs(state):
            return f"{project}/{name}: outputs differ"
        return None if moved == state else f"{project}/{name}: state differs"

    with ThreadPoolExecutor(jobs) as pool:
        problems += [p for p in pool.map(differs, plan.copy) if p]
    return problems
