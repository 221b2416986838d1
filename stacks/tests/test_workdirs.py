"""The engine's work directories (stacks/workdirs.py): private, removed by their job, and,
when the job is killed (a cancel SIGKILLs its work horse), removed by the host tick, never
while a live process holds one."""
import os
import signal
import subprocess
import sys
import time

import pytest

from stacks import hosts, workdirs

HOLD = """
import django, sys, time
django.setup()
from stacks import workdirs
with workdirs.held() as path:
    (path / "Pulumi.yaml").write_text("backend: {url: postgres://u:secret@h/db}")
    print(path, flush=True)
    time.sleep(120)
"""


@pytest.fixture
def work(settings, tmp_path):
    settings.WORK_DIR = tmp_path / "data" / "work"
    return settings.WORK_DIR


@pytest.fixture
def holder(tmp_path, settings):
    """Start a real process that holds a work directory (in the same WORK_DIR as the
    test's settings); returns (Popen, its directory)."""
    started = []

    def start():
        env = {**os.environ, "HEROCOOL_DATA_DIR": str(tmp_path / "data"),
               "PYTHONPATH": str(settings.BASE_DIR)}
        proc = subprocess.Popen([sys.executable, "-c", HOLD], cwd=settings.BASE_DIR, env=env,
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        started.append(proc)
        from pathlib import Path

        return proc, Path(proc.stdout.readline().strip())

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_held_directory_is_private_and_removed_when_its_block_ends(work):
    with workdirs.held() as path:
        assert path.parent == work and path.name.startswith("ws-")
        assert path.stat().st_mode & 0o777 == 0o700 and work.stat().st_mode & 0o777 == 0o700
        age(path, 3600)
        assert workdirs.reap(grace=0) == []  # held by this process: kept, however old
    assert not path.exists()


def test_a_killed_holders_directory_is_removed_and_a_live_ones_is_kept(work, holder):
    live, kept = holder()
    killed, left = holder()
    assert kept.parent == work and left.parent == work
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert left.exists()  # a killed job cannot clean up after itself
    assert workdirs.reap(grace=0) == [left.name]
    assert not left.exists() and kept.exists()
    assert live.poll() is None


def test_a_young_or_unlocked_directory_waits_for_the_grace_period(work, holder):
    proc, left = holder()
    proc.kill()
    proc.wait()
    assert workdirs.reap() == []  # changed less than GRACE_SECONDS ago: may be starting
    age(left, workdirs.GRACE_SECONDS + 5)
    never_locked = work / "ws-never"
    never_locked.mkdir()
    age(never_locked, workdirs.GRACE_SECONDS + 5)
    (work / "not-a-dir").write_text("")
    assert sorted(workdirs.reap()) == sorted([left.name, "ws-never"])
    assert (work / "not-a-dir").exists()


@pytest.mark.django_db
def test_the_host_tick_removes_what_killed_jobs_left(work, holder, this_host):
    live, kept = holder()
    killed, left = holder()
    killed.kill()
    killed.wait()
    for path in (kept, left):
        age(path, workdirs.GRACE_SECONDS + 5)
    hosts.host_tick()
    assert not left.exists() and kept.exists()


def test_what_older_versions_left_in_tmp_goes_once_a_day_old_and_only_ours(
        tmp_path, monkeypatch):
    monkeypatch.setattr(workdirs.tempfile, "gettempdir", lambda: str(tmp_path))
    old, young = tmp_path / "herocool-ws-old", tmp_path / "herocool-ws-young"
    for path in (old, young):
        path.mkdir()
        (path / "Pulumi.yaml").write_text("backend: {url: postgres://u:secret@h/db}")
    age(old, workdirs.OLD_AGE_SECONDS + 60)
    age(young, 600)
    others = tmp_path / "herocool-ws-others"
    others.mkdir()
    age(others, workdirs.OLD_AGE_SECONDS + 60)
    if os.geteuid() == 0:
        os.chown(others, 65534, 65534)  # another account's: not ours to remove
    link = tmp_path / "herocool-ws-link"
    link.symlink_to(old)
    expected = ["herocool-ws-old"] + ([] if os.geteuid() == 0 else ["herocool-ws-others"])
    assert sorted(workdirs.reap_old()) == expected
    assert not old.exists() and young.exists() and link.is_symlink()
    assert others.exists() == (os.geteuid() == 0)
