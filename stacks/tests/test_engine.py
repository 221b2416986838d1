"""The real Pulumi engine (not mocked) on the local target, on both backends."""
import threading
import time

import pulumi
import pytest
from django.conf import settings

from sites.programs import local
from sites.programs.spec import SiteSpec
from stacks import engine

# Every test on both self-managed backends: postgres:// (a table of the PostgreSQL
# test database, the default beside PostgreSQL) and file:// (the SQLite default).
pytestmark = [pytest.mark.slow, pytest.mark.django_db,  # the test database holds the state
              pytest.mark.parametrize("_own_pulumi_backend", ["postgres", "file"],
                                      indirect=True)]
PROJECT = "herocool-enginetest"


def site_program(stack, html):
    return local.program(SiteSpec(stack, "alice", html), sites_root=settings.SITES_ROOT,
                         url_template=settings.SITES_URL_TEMPLATE)


@pytest.fixture
def stack_name(request):
    name = f"t-{request.node.name[:30].replace('_', '-')}-{time.time_ns() % 10**6}"
    yield name
    try:
        engine.destroy(PROJECT, name, site_program(name, ""))
    except engine.EngineError:
        pass


def test_up_update_destroy_a_local_site(stack_name, fetch):
    lines = []
    result = engine.up(PROJECT, stack_name, site_program(stack_name, "<p>one</p>"),
                       on_output=lines.append)
    assert result.summary["result"] == "succeeded"
    assert set(result.outputs) == {"website_url", "content_hash"}
    assert engine.outputs(PROJECT, stack_name) == result.outputs
    assert fetch(result.outputs["website_url"]) == "<p>one</p>"
    assert any("created" in line for line in lines)

    changed = engine.up(PROJECT, stack_name, site_program(stack_name, "<p>two</p>"))
    assert changed.summary["changes"].get("update") == 1
    assert changed.outputs["content_hash"] != result.outputs["content_hash"]
    assert fetch(result.outputs["website_url"]) == "<p>two</p>"

    engine.destroy(PROJECT, stack_name, site_program(stack_name, "<p>two</p>"))
    assert not (settings.SITES_ROOT / stack_name).exists()
    with pytest.raises(engine.StackMissing):
        engine.outputs(PROJECT, stack_name)
    assert stack_name not in engine.list_stacks(PROJECT)


def test_refresh_sees_drift_and_preview_changes_nothing(stack_name, origin):
    engine.up(PROJECT, stack_name, site_program(stack_name, "<p>one</p>"))
    (settings.SITES_ROOT / stack_name / "live" / "index.html").write_text("edited by hand")
    preview = engine.preview(PROJECT, stack_name, site_program(stack_name, "<p>new</p>"))
    assert preview.summary["changes"].get("update") == 1
    refreshed = engine.refresh(PROJECT, stack_name, site_program(stack_name, "<p>one</p>"))
    assert refreshed.summary["changes"].get("update") == 1  # the drift, recorded
    assert (settings.SITES_ROOT / stack_name / "live" / "index.html").read_text() == \
        "edited by hand"


def test_a_second_up_while_one_runs_is_refused(stack_name, origin):
    started = threading.Event()

    def slow_program():
        site_program(stack_name, "<p>slow</p>")()
        started.set()
        time.sleep(4)

    first = threading.Thread(target=engine.up, args=(PROJECT, stack_name, slow_program))
    first.start()
    assert started.wait(30)
    with pytest.raises(engine.StackBusy, match="in progress"):
        engine.up(PROJECT, stack_name, site_program(stack_name, "<p>second</p>"))
    first.join()


def test_a_program_that_raises_fails_with_its_message_in_the_log(stack_name, origin):
    lines = []

    def broken():
        pulumi.export("x", 1)
        raise ValueError("the spec is impossible")

    with pytest.raises(engine.ProgramFailed):
        engine.up(PROJECT, stack_name, broken, on_output=lines.append)
    assert "the spec is impossible" in "\n".join(lines)


def test_missing_stack_is_reported(origin):
    with pytest.raises(engine.StackMissing):
        engine.refresh(PROJECT, "never-created", site_program("never-created", ""))
