"""The postgres:// backend: state and locks in a table, shared by processes, no password shown."""
import json
import multiprocessing
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pulumi
import pytest
from django.db import connection

from stacks import engine

pytestmark = [pytest.mark.slow, pytest.mark.django_db,  # the test database holds the state
              pytest.mark.parametrize("_own_pulumi_backend", ["postgres"], indirect=True)]
PROJECT = "herocool-pgtest"
PASSWORD = "never-shown-Pa55"  # the test server trusts every local role: any password works


def table_of(url):
    return parse_qs(urlsplit(url).query)["table"][0]


def with_password(url):
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def slow_program():
    pulumi.export("answer", 42)
    time.sleep(4)


def up_in_a_process(results, stack_name, start_at):
    time.sleep(max(0, start_at - time.time()))
    try:
        engine.up(PROJECT, stack_name, slow_program)
        results.put("succeeded")
    except engine.StackBusy:
        results.put("busy")
    except engine.EngineError as exc:
        results.put(f"failed: {exc}")


def test_two_processes_up_the_same_stack_at_once_one_succeeds_one_is_busy(
        _own_pulumi_backend):
    engine.up(PROJECT, "shared", lambda: pulumi.export("answer", 0))  # the stack exists
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    start_at = time.time() + 1
    procs = [fork.Process(target=up_in_a_process, args=(results, "shared", start_at))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(90)
    assert sorted(results.get(timeout=5) for _ in procs) == ["busy", "succeeded"]
    assert engine.outputs(PROJECT, "shared") == {"answer": 42}


def test_state_lives_in_its_own_table(_own_pulumi_backend, django_db_blocker):
    engine.up(PROJECT, "in-table", lambda: pulumi.export("answer", 1))
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"SELECT key FROM {table_of(_own_pulumi_backend)}")
        keys = [row[0] for row in cursor.fetchall()]
    assert any(key.endswith(f"/{PROJECT}/in-table.json") for key in keys), keys
    assert not any("/locks/" in key for key in keys), "an update left its lock behind"


def test_the_password_reaches_no_output_message_or_file(settings, _own_pulumi_backend):
    settings.PULUMI_BACKEND_URL = with_password(_own_pulumi_backend)
    lines = []
    engine.up(PROJECT, "secretive", lambda: pulumi.export("answer", 1), on_output=lines.append)
    engine.up(PROJECT, "secretive", lambda: pulumi.export("answer", 2), on_output=lines.append)
    assert engine.outputs(PROJECT, "secretive") == {"answer": 2}

    started = threading.Event()

    def holds_the_lock():
        pulumi.export("answer", 3)
        started.set()
        time.sleep(4)

    first = threading.Thread(target=engine.up, args=(PROJECT, "secretive", holds_the_lock))
    first.start()
    assert started.wait(30)
    with pytest.raises(engine.StackBusy) as busy:
        engine.up(PROJECT, "secretive", lambda: None, on_output=lines.append)
    first.join()
    cause = busy.value.__cause__
    shown = "\n".join([*lines, str(busy.value), str(cause), getattr(cause, "stderr", "")])
    assert "locked" in shown  # the CLI's own message, with the lock's URL in it
    assert PASSWORD not in shown
    home_files = [p.read_text(errors="replace") for p in Path(settings.PULUMI_HOME).rglob("*")
                  if p.is_file() and p.stat().st_size < 1_000_000]
    assert not any(PASSWORD in text for text in home_files)
    assert PASSWORD not in engine.describe()["backend"]


def test_listing_many_stacks_on_a_small_machine_finishes(_own_pulumi_backend, monkeypatch):
    """The CLI's stack listing ran 10 readers on 2 × GOMAXPROCS pooled connections, each
    holding one while waiting for another: with 2 CPUs and a dozen stacks it never ended."""
    monkeypatch.setenv("GOMAXPROCS", "1")  # a pool of 2 connections, on any machine
    engine.up(PROJECT, "s00", lambda: pulumi.export("answer", 0))
    state = engine.export_state(PROJECT, "s00")
    names = [f"s{i:02}" for i in range(12)]
    for name in names[1:]:
        engine.import_state(PROJECT, name, json.loads(
            json.dumps(state).replace("urn:pulumi:s00::", f"urn:pulumi:{name}::")))
    listed = []
    lister = threading.Thread(target=lambda: listed.append(engine.list_stacks(PROJECT)),
                              daemon=True)
    lister.start()
    lister.join(60)
    assert listed == [names], "`pulumi stack ls` did not finish in 60 s"


def quick_program():
    pulumi.export("answer", 7)


def test_first_ups_into_an_empty_table_at_once_all_succeed(_own_pulumi_backend):
    """Two hosts' first deployments against a backend table nobody made yet: each CLI
    creates it (CREATE TABLE IF NOT EXISTS, not safe against a concurrent one in
    PostgreSQL); the one that loses that race is run once more (seen in CI: a create
    failed with pg_type's unique key, 23505)."""
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    start_at = time.time() + 1
    procs = [fork.Process(target=up_in_a_process_quick, args=(results, f"s{n}", start_at))
             for n in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(90)
    assert sorted(results.get(timeout=5) for _ in procs) == ["succeeded"] * 3
    assert engine.outputs(PROJECT, "s0") == {"answer": 7}


def up_in_a_process_quick(results, stack_name, start_at):
    time.sleep(max(0, start_at - time.time()))
    try:
        engine.up(PROJECT, stack_name, quick_program, new=True)
        results.put("succeeded")
    except engine.EngineError as exc:
        results.put(f"failed: {exc}")
