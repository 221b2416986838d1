"""The group-keyed boundary (vms/localvm/guestnet.py) for a worker that is not root, as
under `make run`: a throwaway account and group, the group's table installed as run.sh
does, and the account's processes run the way run.sh starts the worker (setpriv)."""
import grp
import json
import os
import pwd
import socket
import subprocess
from pathlib import Path

import pytest

from vms.localvm import guestnet

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


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def account():
    """A throwaway account `hcu<pid>` and guests' group `hcg<pid>` it belongs to."""
    tag = os.getpid() % 100000
    user, group = f"hcu{tag}", f"hcg{tag}"
    _run("groupadd", "--system", group)
    try:
        _run("useradd", "--system", "--user-group", "--no-create-home", "--shell",
             "/usr/sbin/nologin", "-G", group, user)
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


def as_account(user, group, port):
    # As run.sh starts the worker: setpriv to the account and its groups.
    cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
           "env", f"HEROCOOL_VM_GUEST_GROUP={group}", f"PYTHONPATH={WORKTREE}",
           PYTHON, "-c", AS_ACCOUNT, str(port)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
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
