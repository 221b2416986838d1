"""The environment the engine gives Pulumi's processes: Go's collector relaxed for a
short-lived CLI (GOGC, issue #13), unless the operator chose their own."""
import os
import stat

import pytest
from django.conf import settings

from sites.programs import local
from sites.programs.spec import SiteSpec
from stacks import engine


def test_cli_processes_collect_garbage_less_often_by_default(monkeypatch):
    monkeypatch.delenv("GOGC", raising=False)
    assert engine.engine_env()["GOGC"] == engine.GOGC == "400"


def test_an_operators_own_gogc_wins(monkeypatch):
    monkeypatch.setenv("GOGC", "150")
    assert engine.engine_env()["GOGC"] == "150"


@pytest.mark.slow
@pytest.mark.django_db
def test_every_cli_process_of_a_deployment_runs_with_it(settings, tmp_path, monkeypatch):
    """Through a `pulumi` that writes down its GOGC and then runs the real CLI."""
    monkeypatch.delenv("GOGC", raising=False)
    real = engine.pulumi_command().command
    (tmp_path / "cli" / "bin").mkdir(parents=True)
    for entry in os.scandir(os.path.dirname(real)):
        if entry.name != "pulumi":
            (tmp_path / "cli" / "bin" / entry.name).symlink_to(entry.path)
    log = tmp_path / "gogc.log"
    shim = tmp_path / "cli" / "bin" / "pulumi"
    shim.write_text(f'#!/bin/sh\necho "$* GOGC=$GOGC" >>"{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    settings.PULUMI_ROOT = str(tmp_path / "cli")
    engine._checked_command.cache_clear()  # noqa: SLF001 - the shim, not the cached CLI
    name = f"t-gogc-{os.getpid()}"
    program = local.program(SiteSpec(name, "alice", "<p>hi</p>"),
                            sites_root=settings.SITES_ROOT,
                            url_template=settings.SITES_URL_TEMPLATE)
    try:
        engine.up("herocool-enginetest", name, program, new=True)
        engine.destroy("herocool-enginetest", name, program)
    finally:
        engine._checked_command.cache_clear()  # noqa: SLF001
    # The version check runs once per process, before any workspace: not an operation.
    lines = [line for line in log.read_text().splitlines() if not line.startswith("version ")]
    assert [line.split()[1] for line in lines] == ["stack", "up", "destroy"], lines
    assert all(line.endswith(" GOGC=400") for line in lines), lines


def test_only_the_state_tables_creation_race_is_run_once_more():
    """The CI's message (two CLIs creating the postgres:// backend's table at once) is the
    race; any other failure, a unique-key one of a row included, is not."""
    from stacks.engine import lost_state_table_race

    seen = ('error: unable to open state database "postgres://herocool@127.0.0.1:35103/'
            'test_herocool?sslmode=prefer&table=pulumi_test_b79663313e67": failed to create '
            'table pulumi_test_b79663313e67: pq: duplicate key value violates unique '
            'constraint "pg_type_typname_nsp_index" (23505)')
    assert lost_state_table_race(seen)
    assert not lost_state_table_race("error: the stack is currently locked by 1 lock(s)")
    assert not lost_state_table_race('pq: duplicate key value violates unique constraint '
                                     '"stacks_pkey" (23505)')
    assert not lost_state_table_race("failed to create table t: permission denied (42501)")
