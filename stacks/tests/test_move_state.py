"""move_state: all stacks from file:// to postgres:// and back, nothing lost or overwritten."""
import copy
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pulumi
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import postgres_backend
from sites.models import Site
from stacks import engine, state_move
from stacks.models import Deployment
from vms.models import VirtualMachine

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
PROJECTS = (Site.pulumi_project, VirtualMachine.pulumi_project)


@pytest.fixture
def postgres(django_db_blocker):
    with postgres_backend(django_db_blocker) as url:
        yield url


def expected_outputs(project, index):
    return {"index": index, "project": project, "token": f"secret-{project}-{index}"}


def checkpoint_for(template, project, name, index):
    """The template stack's checkpoint, renamed to `name` with outputs of its own."""
    text = json.dumps(template).replace("urn:pulumi:template::", f"urn:pulumi:{name}::")
    text = text.replace(f"{project}-template", f"{project}-{name}")
    state = json.loads(text)
    root = state["deployment"]["resources"][0]
    root["outputs"] = copy.deepcopy(root["outputs"])
    root["outputs"].update(index=index, project=project)
    root["outputs"]["token"]["plaintext"] = json.dumps(f"secret-{project}-{index}")
    return state


def seed(backend, count):
    """`count` stacks over our two projects, each with outputs of its own and a secret:
    one real update per project, then imported copies (cheap, and the same checkpoint
    shape as an update writes)."""
    made = []
    for project in PROJECTS:
        engine.up(project, "template", lambda: (
            pulumi.export("index", -1), pulumi.export("project", "template"),
            pulumi.export("token", pulumi.Output.secret("template"))))
        template = engine.export_state(project, "template", backend=backend)
        engine.destroy(project, "template", lambda: None)
        first = len(made)
        made += [(project, f"s{i:03}", template) for i in range(first, first + count // 2)]

    def one(item):
        project, name, template = item
        index = int(name[1:])
        engine.import_state(project, name, checkpoint_for(template, project, name, index),
                            backend=backend)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, made))
    return [(project, name) for project, name, _ in made]


def move(*args):
    out = io.StringIO()
    call_command("move_state", *args, stdout=out)
    return out.getvalue()


def outputs_everywhere(backend, stacks):
    """Each stack's outputs, read back from `backend`'s checkpoints; for every tenth
    stack also through `pulumi stack output`, as the platform reads them."""
    def read(stack):
        outputs = state_move.stack_outputs(engine.export_state(*stack, backend=backend))
        if int(stack[1][1:]) % 10 == 0:
            assert engine.outputs(*stack, backend=backend) == outputs
        return outputs

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(stacks, pool.map(read, stacks)))


def test_fifty_stacks_move_to_postgres_and_back_with_identical_outputs(
        settings, postgres, tmp_path):
    source = settings.PULUMI_BACKEND_URL  # file://, this test's own
    stacks = seed(source, 50)
    assert sum(len(engine.list_stacks(p, backend=source)) for p in PROJECTS) == 50

    report = move("--from", source, "--to", postgres, "--dry-run")
    assert "50 stack(s) would move" in report
    assert all(engine.list_stacks(p, backend=postgres) == [] for p in PROJECTS)

    report = move("--from", source, "--to", postgres)
    assert "Moved 50 stack(s), 0 already there; counts and outputs verified" in report
    moved = outputs_everywhere(postgres, stacks)
    assert moved == {(p, n): expected_outputs(p, int(n[1:])) for p, n in stacks}

    again = move("--from", source, "--to", postgres)
    assert "Moved 0 stack(s), 50 already there" in again

    back = (tmp_path / "back").as_uri()
    move("--from", postgres, "--to", back)
    assert outputs_everywhere(back, stacks) == moved
    assert sum(len(engine.list_stacks(p, backend=source)) for p in PROJECTS) == 50


def test_a_stack_that_differs_in_the_target_is_not_overwritten(settings, postgres):
    source = settings.PULUMI_BACKEND_URL
    stacks = seed(source, 4)
    project, name = stacks[0]
    changed = engine.export_state(project, name, backend=source)
    changed["deployment"]["resources"][0]["outputs"]["index"] = 99
    engine.import_state(project, name, changed, backend=postgres)

    with pytest.raises(CommandError, match=f"not overwritten: {project}/{name}"):
        move("--from", source, "--to", postgres)
    assert engine.outputs(project, name, backend=postgres)["index"] == 99
    assert engine.list_stacks(project, backend=postgres) == [name]  # nothing else copied


def test_it_refuses_while_a_deployment_is_live(settings, alice, postgres, tmp_path):
    site = Site.objects.create(owner=alice, name="busy")
    Deployment.objects.create(resource=site, owner=alice, action="create",
                              stack_name=site.stack_name, status="running")
    with pytest.raises(CommandError, match="1 deployment.* queued or running"):
        move("--from", settings.PULUMI_BACKEND_URL, "--to", postgres)


def test_the_password_is_masked_in_what_it_prints(settings, postgres):
    with_password = postgres.replace("herocool@", "herocool:hunter2-pw@")
    report = move("--from", settings.PULUMI_BACKEND_URL, "--to", with_password, "--dry-run")
    assert "herocool:****@" in report and "hunter2-pw" not in report
    assert "0 stack(s) would move" in report
