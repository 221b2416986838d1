"""Everything the platform writes is private to its account (issue 10, finding 2): real
flows (migrate with generated secrets, a site deployed by a real worker through the
Pulumi engine, a VM disk made) into a fresh data directory, then every file and folder
is checked: no group or other permission bits, and `nobody` can read none of it."""
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

DEPLOY_A_SITE = textwrap.dedent("""
    import django_rq
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client
    from stacks.hosts import Host
    from stacks.rqworker import HerocoolSimpleWorker
    # This machine as a live host (a worker of its queue): a local site is placed on one.
    queue = django_rq.get_queue(settings.HOST_QUEUE)
    standby = HerocoolSimpleWorker([queue], connection=queue.connection, name="standby")
    standby.register_birth()
    Host.register_this()
    alice = User.objects.create_user("alice", password="alice-password-1")
    client = Client()
    client.force_login(alice)
    response = client.post("/sites/new/", {"name": "private", "source": "html",
                                          "html": "<p>only for the origin</p>"})
    assert response.status_code == 302, response.status_code
    standby.register_death()
""")
MAKE_A_VM_DISK = textwrap.dedent("""
    import os
    from pathlib import Path
    from vms.localvm import qemu
    from vms.localvm.image import ImagePaths
    vm = Path(os.environ["TEST_VM_DIR"])
    vm.mkdir(parents=True)
    qemu._prepare_disk(vm, ImagePaths(rootfs=os.environ["TEST_BASE"], kernel="", initrd=""))
""")


def manage(data, *args, **extra_env):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SECRET_KEY", "PULUMI_CONFIG_PASSPHRASE",
                        "PULUMI_BACKEND_URL", "PULUMI_HOME", "HEROCOOL_SITES_ROOT",
                        "HEROCOOL_VMS_ROOT", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE")}
    env.update(HEROCOOL_DATA_DIR=str(data), ALLOWED_HOSTS="testserver", **extra_env)
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def open_to_others(root):
    """Every path under root (root included) with a group or other permission bit."""
    paths = [root, *root.rglob("*")]
    return [f"{oct(p.lstat().st_mode & 0o777)} {p}" for p in paths
            if not p.is_symlink() and p.lstat().st_mode & 0o077]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A fresh data dir after migrate (secrets generated), a site deployed by a real
    worker through the engine (SQLite, Pulumi state, the published page) and a VM disk."""
    import django_rq

    queue = django_rq.get_queue("default")
    queue.empty()
    data = tmp_path_factory.mktemp("private") / "data"  # the platform makes it
    manage(data, "migrate", "--noinput", "-v0")
    manage(data, "shell", "-c", DEPLOY_A_SITE)
    manage(data, "rqworker", "default", "--burst")
    base = data.parent / "base.raw"
    base.write_bytes(b"\0" * 65536)
    manage(data, "shell", "-c", MAKE_A_VM_DISK, TEST_BASE=str(base),
           TEST_VM_DIR=str(data / "vms" / "vm-1"))
    queue.empty()
    return data


@pytest.mark.slow
def test_nothing_the_platform_writes_is_open_to_other_accounts(deployed):
    published = list((deployed / "sites").rglob("index.html"))
    assert [p.read_text() for p in published] == ["<p>only for the origin</p>"]
    written = {p.relative_to(deployed).parts[0] for p in deployed.rglob("*")}
    assert {"herocool.sqlite3", "secret_key", "pulumi_passphrase", "pulumi-state",
            "sites", "vms"} <= written, written  # Redis's files: e2e/test_production.py
    assert (deployed / "vms" / "vm-1" / "disk.qcow2").exists()
    assert open_to_others(deployed) == []


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another account needs root")
def test_another_account_cannot_read_the_database_secrets_state_or_sites(deployed):
    # Even with every folder opened up, the files themselves stay closed.
    for folder in [deployed, *[p for p in deployed.rglob("*") if p.is_dir()]]:
        folder.chmod(folder.stat().st_mode | stat.S_IXOTH)
    targets = [deployed / "herocool.sqlite3", deployed / "secret_key",
               deployed / "pulumi_passphrase",
               deployed / "vms" / "vm-1" / "disk.qcow2",
               *(deployed / "sites").rglob("index.html"),
               *(deployed / "pulumi-state").rglob("*.json")]
    assert len(targets) > 6
    for target in targets:
        done = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(target)],
                              capture_output=True, text=True)
        assert done.returncode != 0 and "Permission denied" in done.stderr, target


def test_a_generated_secret_is_never_readable_by_others_even_for_a_moment(tmp_path):
    """Created 0600 by open(2) itself, not written and then chmod-ed."""
    from herocool_project.env import kept_secret

    old = os.umask(0o022)  # the loosest usual umask: the mode must not depend on it
    try:
        calls = []
        real_open = os.open

        def spying_open(path, flags, mode=0o777, *args, **kwargs):
            calls.append((flags, mode))
            return real_open(path, flags, mode, *args, **kwargs)

        os.open = spying_open
        try:
            secret = kept_secret(tmp_path / "new" / "secret")
        finally:
            os.open = real_open
    finally:
        os.umask(old)
    assert calls and all(flags & os.O_EXCL and mode == 0o600 for flags, mode in calls)
    assert (tmp_path / "new" / "secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700
    assert len(secret) > 40
    assert kept_secret(tmp_path / "new" / "secret") == secret  # kept, not regenerated


def test_two_processes_generating_one_secret_agree(tmp_path):
    """Processes started together (honcho) must not each keep a different secret."""
    script = ("import sys; from herocool_project.env import kept_secret; "
              "print(kept_secret(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "s")],
                              cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    seen = {p.communicate(timeout=30)[0].strip() for p in procs}
    assert seen == {(tmp_path / "s").read_text()}
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary file left


def test_an_existing_open_data_dir_is_made_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    manage(data, "check")
    assert data.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("entry", ["manage.py", "herocool_project/wsgi.py"])
def test_entry_points_set_a_private_umask(entry):
    script = (f"import os, runpy, sys; sys.argv = ['x', 'check']; os.umask(0o022); "
              f"runpy.run_path({entry!r}, run_name='__main__' if {entry!r} == 'manage.py' "
              f"else 'wsgi'); print(oct(os.umask(0o022)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "0o77", done.stdout + done.stderr
