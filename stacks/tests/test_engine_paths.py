"""The engine's short paths (issue #13) keep their answers: outputs taken from the event
stream (secret ones too), config passed with the operation, a create of a stack that
exists and an update of one that does not."""
import time

import pulumi
import pytest

from stacks import engine

pytestmark = [pytest.mark.slow, pytest.mark.django_db,
              pytest.mark.parametrize("_own_pulumi_backend", ["postgres", "file"],
                                      indirect=True)]
PROJECT = "herocool-pathtest"


@pytest.fixture
def stack_name(request):
    name = f"p-{request.node.name[5:25].replace('_', '-')}-{time.time_ns() % 10**6}"
    yield name
    try:
        engine.destroy(PROJECT, name, lambda: None)
    except engine.EngineError:
        pass


def exporting(**values):
    def program():
        for key, value in values.items():
            pulumi.export(key, value)
    return program


def test_secret_outputs_come_back_in_plain_text(stack_name):
    def program():  # an Output belongs to the program's own event loop
        pulumi.export("plain", "one")
        pulumi.export("hidden", pulumi.Output.secret("s3cr3t"))

    result = engine.up(PROJECT, stack_name, program, new=True)
    assert result.outputs == {"plain": "one", "hidden": "s3cr3t"}
    assert engine.outputs(PROJECT, stack_name) == result.outputs


def test_an_update_that_changes_nothing_still_returns_the_outputs(stack_name):
    engine.up(PROJECT, stack_name, exporting(url="http://a"), new=True)
    again = engine.up(PROJECT, stack_name, exporting(url="http://a"))
    assert again.outputs == {"url": "http://a"}
    assert again.summary == {"result": "succeeded", "changes": {"same": 1}}


def test_config_reaches_the_program_plain_and_secret(stack_name):
    def program():
        config = pulumi.Config("herocool")
        pulumi.export("region", config.require("region"))
        pulumi.export("token", config.require_secret("token"))

    result = engine.up(PROJECT, stack_name, program, new=True,
                       config={"herocool:region": ("eu-west-1", False),
                               "herocool:token": ("t0k", True)})
    assert result.outputs == {"region": "eu-west-1", "token": "t0k"}


def test_a_create_of_an_existing_stack_and_an_update_of_a_missing_one_both_deploy(
        stack_name):
    assert engine.up(PROJECT, stack_name, exporting(n=1)).outputs == {"n": 1}  # made
    assert engine.up(PROJECT, stack_name, exporting(n=2), new=True).outputs == {"n": 2}
    assert stack_name in engine.list_stacks(PROJECT)


def test_destroy_removes_the_stack_and_reports_what_it_deleted(stack_name):
    engine.up(PROJECT, stack_name, exporting(n=1), new=True)
    result = engine.destroy(PROJECT, stack_name, exporting(n=1))
    assert result.summary["result"] == "succeeded"
    assert result.summary["changes"].get("delete") == 1  # the stack's own resource
    assert stack_name not in engine.list_stacks(PROJECT)
    assert engine.cancel(PROJECT, stack_name) is False


def plant_lock(url, stack_name):
    """A lock file of `stack_name` as `pulumi stack init` writes it before it makes the
    stack (pkg/backend/diy/lock.go; the postgres bucket stores each blob as
    {"data": base64}, its key after the database's path): what a create killed in that
    moment leaves."""
    import base64
    import json
    import uuid
    from pathlib import Path
    from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

    import psycopg

    from herocool_project.pulumi_backend import lock_folder

    content = json.dumps({"pid": 4242, "username": "herocool", "hostname": "gone",
                          "timestamp": "2026-11-27T14:10:47Z"}).encode()
    name = lock_folder(PROJECT, stack_name) + f"{uuid.uuid4()}.json"
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path)) / name
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        return
    query = parse_qs(parts.query)
    table = query.pop("table")[0]
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query, True), ""))
    # Committed at once, as the CLI's own write is (the test's transaction would hold a
    # lock on the table that the CLI's start-up CREATE INDEX IF NOT EXISTS waits for).
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"INSERT INTO {table} (key, data) VALUES (%s, %s)",
                   [f"{parts.path.lstrip('/')}/{name}",
                    json.dumps({"data": base64.b64encode(content).decode()})])


def test_a_lock_left_by_a_create_killed_in_stack_init_goes_with_the_cancel(
        stack_name, settings):
    engine.up(PROJECT, f"{stack_name}-x", exporting(n=0), new=True)  # the table exists
    plant_lock(settings.PULUMI_BACKEND_URL, stack_name)
    with pytest.raises(engine.EngineError, match="in progress"):  # the CLI honours the lock
        engine.up(PROJECT, stack_name, exporting(n=1), new=True)
    assert engine.cancel(PROJECT, stack_name) is False  # no stack, and its lock is gone
    assert engine.up(PROJECT, stack_name, exporting(n=1), new=True).outputs == {"n": 1}
    engine.destroy(PROJECT, f"{stack_name}-x", exporting(n=0))
