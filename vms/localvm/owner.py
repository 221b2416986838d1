"""Who owns a guest: owner.json in its directory, written before QEMU is started.

It names the stack (the VM record's stack_name), the deployment whose job started the
guest, and the Pulumi provider process that did it, so that a sweep can tell a guest of
a live record from an orphan and stop both the guest and a provider left behind.
"""
import json
import os
import signal
from pathlib import Path

from .files import write_private

OWNER_FILE = "owner.json"
PROVIDER_MODULE = b"pulumi.dynamic"  # the provider plugin runs `python -m pulumi.dynamic`


def record(vm_dir, stack_name) -> None:
    """Write (or rewrite) the guest's owner: called by the process about to start it."""
    write_private(Path(vm_dir) / OWNER_FILE, json.dumps({
        "stack_name": stack_name,
        # RQ sets RQ_JOB_ID in the work-horse, and the engine and its plugins inherit it;
        # the job id is the deployment's code (stacks.services.enqueue).
        "deployment": os.environ.get("RQ_JOB_ID", ""),
        "provider_pid": os.getpid(),
        "provider_started": _start_time(os.getpid()),
    }))


def read(vm_dir) -> dict:
    """The owner record, or {} for a guest that has none (or a garbled one)."""
    try:
        owner = json.loads((Path(vm_dir) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def live_provider(owner):
    """The pid of the provider process that started the guest, if it still runs (the
    same process: its start time matches, so a reused pid is never taken for it)."""
    pid = owner.get("provider_pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if PROVIDER_MODULE not in argv or _start_time(pid) != owner.get("provider_started"):
        return None
    return pid


def stop_provider(owner) -> bool:
    """Kill a provider process left behind by a stopped job; True if there was one."""
    pid = live_provider(owner)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGKILL)  # nothing to flush: its engine is gone
    except ProcessLookupError:
        return False
    return True


def _start_time(pid):
    """Clock ticks after boot at which the process started (/proc/<pid>/stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def running_guests(vms_root) -> dict:
    """{vm_dir: pid} of every live QEMU whose directory is directly under vms_root, found
    in /proc: a guest whose directory or pid file is gone is found all the same."""
    root = str(Path(vms_root).resolve()) + "/"
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        vm = _vm_dir_of(proc)
        if vm is not None and vm.startswith(root) and "/" not in vm[len(root):]:
            found[Path(vm)] = int(proc.name)
    return found


def _vm_dir_of(proc):
    """The VM directory named by a QEMU's -pidfile argument; None if not a QEMU of ours."""
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if not os.path.basename(argv[0]).startswith(b"qemu-system") or b"-pidfile" not in argv:
        return None
    at = argv.index(b"-pidfile") + 1
    if at >= len(argv) or not argv[at].endswith(b"/qemu.pid"):
        return None
    return os.path.dirname(argv[at].decode(errors="replace"))
