"""How many Pulumi CLI processes a deployment starts, counted by a `pulumi` on a shim
path that writes down its arguments and then runs the real CLI: a create is `stack
init` + `up`, an update `up` alone, a destroy `destroy --remove` alone, and the CLI's
version is checked once per process, not per deployment (issue #13)."""
import os
import stat

import pytest
from django.urls import reverse

from sites.models import Site
from stacks import engine

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def commands(log):
    """The subcommand of each CLI process started so far, e.g. "stack init"."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        words = [w for w in line.split() if not w.startswith("-")]
        out.append(" ".join(words[:2]) if words[:1] == ["stack"] else words[0])
    return out


@pytest.fixture
def cli_log(settings, tmp_path):
    """A CLI root (settings.PULUMI_ROOT) whose bin/pulumi logs each process, beside the
    real CLI's plugins; yields the log's path."""
    real = engine.pulumi_command().command
    root = tmp_path / "cli"
    (root / "bin").mkdir(parents=True)
    for entry in os.scandir(os.path.dirname(real)):
        if entry.name != "pulumi":
            (root / "bin" / entry.name).symlink_to(entry.path)
    log = tmp_path / "cli.log"
    shim = root / "bin" / "pulumi"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    settings.PULUMI_ROOT = str(root)
    engine._checked_command.cache_clear()  # noqa: SLF001 - a fresh process, as it were
    yield log
    engine._checked_command.cache_clear()  # noqa: SLF001


def test_a_create_an_update_and_a_destroy_start_two_one_and_one_cli_processes(
        cli_log, alice_client, origin, run_jobs):
    alice_client.post(reverse("sites-create"),
                      {"name": "counted", "source": "html", "html": "<p>one</p>"})
    run_jobs()
    site = Site.objects.get(name="counted")
    assert site.status == "live", site.last_error
    assert commands(cli_log) == ["version", "stack init", "up"]

    cli_log.write_text("")
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<p>two</p>"})
    run_jobs()
    site.refresh_from_db()
    assert site.status == "live" and site.deployments.count() == 2, site.last_error
    assert commands(cli_log) == ["up"]

    cli_log.write_text("")
    alice_client.post(reverse("sites-delete", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == "deleted", site.last_error
    assert commands(cli_log) == ["destroy"]
    assert site.stack_name not in engine.list_stacks(Site.pulumi_project)


def test_a_forking_worker_checks_the_cli_version_once_not_in_each_job(
        cli_log, settings, alice_client, host_queue, processes):
    for name in ("first", "second"):
        alice_client.post(reverse("sites-create"),
                          {"name": name, "source": "html", "html": "<p>hi</p>"})
    assert host_queue.count == 2  # the sites live on this host: its queue
    worker = processes("manage.py", "rqworker", "default", "--burst",
                       HEROCOOL_PULUMI_ROOT=settings.PULUMI_ROOT)
    assert worker.wait(180) == 0
    assert set(Site.objects.values_list("status", flat=True)) == {"live"}
    # The parent checked it before forking; each work horse inherited the answer.
    assert commands(cli_log) == ["version", "stack init", "up", "stack init", "up"]
