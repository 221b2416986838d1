"""The group-keyed boundary (vms/localvm/guestnet.py) for a worker that is not root, as
under `make run`: a throwaway account and group, the group's table installed as run.sh
does, and the account's processes run the way run.sh starts the worker (setpriv)."""
import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from vms.localvm import guestnet, qemu

from .guests import port_is_closed
from .test_lifecycle import fresh_keys  # noqa: F401 - a fixture
from .test_machines import guest_tries, host_address, outside, web_port  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make accounts")

WORKTREE = Path(__file__).resolve().parents[2]
# guestnet needs only the standard library: a Python any account may run (the test's own
# may live under /root).
PYTHON = "/usr/bin/python3"
# What the account's process does: pick its boundary the worker's way, connect itself,
# then start a process through the boundary's launch path, as QEMU is started.
AS_ACCOUNT = """
import json, os, socket, subprocess, sys
from vms.localvm import guestnet
port = int(sys.argv[1])
boundary = guestnet.Boundary(64119)
own = "open"
try:
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
except OSError as e:
    own = repr(e)
child = ("import os, socket, sys\\n"
         "try:\\n"
         "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5).close()\\n"
         "    r = 'open'\\n"
         "except ConnectionRefusedError:\\n"
         "    r = 'refused'\\n"
         "print(r, os.getegid(), sys.argv[2:])\\n")
cmd = boundary.launch([sys.executable, "-c", child, str(port), "a b", "it's", "$HOME", ";id"])
out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
print(json.dumps({"netdev": boundary.netdev_options, "qemu_args": boundary.qemu_args,
                  "own": own, "own_gid": os.getegid(), "launched": out.stdout.strip(),
                  "launch_rc": out.returncode, "launch_err": out.stderr[-500:]}))
"""


def _group_exists(name):
    try:
        return grp.getgrnam(name) is not None
    except KeyError:
        return False


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def account():
    """A throwaway account `hcu<pid>` and guests' group `hcg<pid>` it belongs to."""
    tag = os.getpid() % 100000
    user, group = f"hcu{tag}", f"hcg{tag}"
    _run("groupadd", "--system", group)
    try:
        # In kvm too, as setup.sh puts herocool: its guests may use /dev/kvm.
        groups = ",".join([group, *(["kvm"] if _group_exists("kvm") else [])])
        _run("useradd", "--system", "--user-group", "--no-create-home", "--shell",
             "/usr/sbin/nologin", "-G", groups, user)
        yield user, group
    finally:
        subprocess.run(["userdel", user], capture_output=True, timeout=30)
        _run("groupdel", group)


@pytest.fixture
def group_table(account):
    """The account's guests' group table, installed as run.sh does (its own name here,
    so that a real installation's table is left alone)."""
    table = f"hc_test_{os.getpid()}"
    assert guestnet.install_group_table(account[1], table=table)
    yield table
    subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)


@pytest.fixture
def listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def as_account(user, group, *args, script=AS_ACCOUNT):
    # As run.sh starts the worker: setpriv to the account and its groups.
    cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
           "env", f"HEROCOOL_VM_GUEST_GROUP={group}", f"PYTHONPATH={WORKTREE}",
           PYTHON, "-c", script, *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_process_started_like_qemu_is_refused_loopback_and_the_account_is_not(
        account, group_table, listener):
    user, group = account
    seen = as_account(user, group, listener)
    gid = grp.getgrnam(group).gr_gid
    assert seen["netdev"] == "restrict=off" and seen["qemu_args"] == []
    # The launched process has the guests' gid and every argument exactly as given.
    assert seen["launched"] == f"""refused {gid} ['a b', "it's", '$HOME', ';id']""", seen
    # The account's own sockets (Redis, PostgreSQL) keep its primary gid: unaffected,
    # although the account is a member of the guests' group.
    assert seen["own"] == "open" and seen["own_gid"] == pwd.getpwnam(user).pw_gid
    assert gid in os.getgrouplist(user, pwd.getpwnam(user).pw_gid)


def test_without_the_table_the_group_gives_no_way_out(account, listener):
    user, group = account
    seen = as_account(user, group, listener)
    assert seen["netdev"] == "restrict=on"
    assert seen["launched"].startswith("open"), seen  # launched as is: no sg, no group


def test_a_group_the_account_is_not_in_gives_no_way_out(account, group_table, listener):
    user, _ = account
    other = f"hco{os.getpid() % 100000}"
    _run("groupadd", "--system", other)
    try:
        table = f"hc_other_{os.getpid()}"
        assert guestnet.install_group_table(other, table=table)
        try:
            seen = as_account(user, other, listener)
        finally:
            subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
    finally:
        _run("groupdel", other)
    assert seen["netdev"] == "restrict=on" and seen["own"] == "open"


# The worker's part of a guest's start, as the account: qemu.start, as the provider does.
START = """
import sys
from vms.localvm import qemu
from vms.localvm.image import ImagePaths
vm_dir, image_dir, port, key = sys.argv[1:]
image = ImagePaths(rootfs=f"{image_dir}/rootfs.raw", kernel=f"{image_dir}/vmlinuz", initrd="")
print(qemu.start(vm_dir, image, ssh_port=int(port), authorized_key=key, guest_uid=64119))
"""


STOP = """
import json, os, sys
from vms.localvm import qemu
qemu.stop(sys.argv[1], timeout=120)
print(json.dumps({"running": qemu.is_running(sys.argv[1])}))  # a zombie does not count
"""


@pytest.fixture
def account_dir(account):
    """A directory of the account's own (pytest's tmp_path is closed to it), holding
    hard links to the cached image's files."""
    from vms.localvm.image import ensure_image

    from .test_localvm import IMAGE_CACHE

    image = ensure_image(IMAGE_CACHE)
    top = Path(tempfile.mkdtemp(prefix="hcg-", dir="/tmp"))
    try:
        os.chmod(top, 0o755)
        (top / "image").mkdir()
        for name in ("rootfs.raw", "vmlinuz"):
            os.link(Path(image.kernel).parent / name, top / "image" / name)
        _run("chown", "-R", f"{account[0]}:", str(top))
        yield top
    finally:
        if (top / "vm").exists():
            qemu.kill(top / "vm")
        shutil.rmtree(top)


@pytest.mark.slow
def test_a_guest_started_by_the_unprivileged_account_reaches_out_but_not_this_host(
        account, group_table, account_dir, fresh_keys, outside, web_port):
    user, group = account
    key, public = fresh_keys("k")
    vm_dir, port = account_dir / "vm", qemu.free_port()
    started = as_account(user, group, vm_dir, account_dir / "image", port, public,
                         script=START)
    pid = int(started)
    status = Path(f"/proc/{pid}/status").read_text()
    gid = grp.getgrnam(group).gr_gid
    assert f"\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\n" in status  # QEMU has the guests' gid
    assert f"\nUid:\t{pwd.getpwnam(user).pw_uid}\t" in status  # and the account's uid
    qemu.wait_for_ssh(port, timeout=600, vm_dir=vm_dir)

    address, outside_port, host_veth = outside
    redis_port = urlsplit(django_settings.REDIS_URL).port
    pg_port = int(django_settings.DATABASES["default"]["PORT"])
    mine = host_address()
    tried = guest_tries(key, port, [
        (address, outside_port), ("10.0.2.2", redis_port), ("10.0.2.2", pg_port),
        ("10.0.2.2", web_port), (mine, web_port), (host_veth, web_port)])
    assert tried == {
        f"{address}:{outside_port}": "open", f"10.0.2.2:{redis_port}": "refused",
        f"10.0.2.2:{pg_port}": "refused", f"10.0.2.2:{web_port}": "refused",
        f"{mine}:{web_port}": "refused", f"{host_veth}:{web_port}": "refused"}

    # The account still controls its guest (same uid): a clean stop through QMP.
    stopped = as_account(user, group, vm_dir, script=STOP)
    assert stopped == {"running": False} and port_is_closed(port)
