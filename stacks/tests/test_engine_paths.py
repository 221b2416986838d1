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
