"""Helpers for tests that start real guests: processes seen in /proc, and cleanup."""
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

from vms.localvm import owner, qemu


def children(pid):
    """Every live descendant of `pid`."""
    kids = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [pid]
    while todo:
        for kid in kids.get(todo.pop(), []):
            found.append(kid)
            todo.append(kid)
    return found


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def alive(pid):
    """Running (a zombie left for its parent to reap does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def still_alive(pids, timeout):
    """Wait up to `timeout` seconds for the processes to end; return those still alive
    (as their command lines, so that a failure says what was left)."""
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [b" ".join(cmdline(pid))[:80].decode() for pid in pids if alive(pid)]


def providers_under(pid):
    """The Pulumi dynamic provider processes started below `pid` (a worker)."""
    return [kid for kid in children(pid) if owner.PROVIDER_MODULE in cmdline(kid)]


def ssh_port_of(qemu_pid):
    text = b" ".join(cmdline(qemu_pid)).decode()
    return int(re.search(r"hostfwd=tcp:127\.0\.0\.1:(\d+)-", text).group(1))


def port_is_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def qmp(vm_dir, command):
    """Send one QMP command to a guest (e.g. "stop": pause its CPUs, so that a test's
    idle guests cost the shared machine nothing)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(Path(vm_dir) / "qmp.sock"))
        reader = sock.makefile("rb")
        reader.readline()
        for name in ("qmp_capabilities", command):
            sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
            while True:
                reply = json.loads(reader.readline())
                if "return" in reply or "error" in reply:
                    assert "return" in reply, reply
                    break


def kill_everything(vms_root, pids=()):
    """Teardown: no guest or process a failed test started may outlive it."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for vm_dir, pid in owner.running_guests(vms_root).items():
        qemu.kill(vm_dir, pid=pid)
