"""Stop the local guests (and provider processes) that no live record owns.

A guest under settings.VMS_ROOT belongs to the VM record whose stack_name is its
directory's name (owner.json says so too, with the deployment and provider process that
started it). It is an orphan when that record is missing or deleted, or when no
deployment of its stack is in flight and the stack does not record it: a create stopped
before the engine recorded its result. Never touched: a guest with a deployment in
flight for its stack, or one the stack records.

Guests are local to a host, so this runs on the host they live on: the periodic sweep
puts a tick on each live host's queue (stacks/hosts.host_tick), which calls
reap_orphan_guests there (once a minute: it asks the engine only about suspects); a
cancel's unlock step, on the VM's host queue, calls VirtualMachine.release_untracked.
"""
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

from stacks import engine
from stacks.models import Deployment, Status

from .localvm import console, owner, qemu
from .models import VirtualMachine

log = logging.getLogger(__name__)
# A job stopped by a cancel is gone although its deployment may still read `cancelling`.
JOB_RUNNING = (Deployment.State.QUEUED, Deployment.State.RUNNING)
GUEST_FILES = (owner.OWNER_FILE, "disk.qcow2", "qemu.pid", "image.json")


def reap_orphan_guests(dry_run=False):
    """Stop and remove every orphan guest on this host; return [(vm_dir, reason)]."""
    guests = _guests(Path(settings.VMS_ROOT))
    for vm_dir in guests:  # the same tick keeps every console within its size
        console.cap(vm_dir)
    reaped = []
    for vm_dir in _suspects(guests):
        reason = _release(vm_dir, guests[vm_dir], Deployment.ACTIVE_STATES, dry_run)
        if reason:
            reaped.append((vm_dir, reason))
    return reaped


def release_untracked_guest(vm):
    """After a job of vm's stack was stopped: stop the guest it booted if the stack does
    not record it. Returns the reason it was stopped, or None."""
    root = Path(settings.VMS_ROOT)
    vm_dir = root.resolve() / vm.stack_name
    return _release(vm_dir, owner.running_guests(root).get(vm_dir), JOB_RUNNING, False)


def _guests(root):
    """{vm_dir: QEMU pid or None}: every guest directory, and every QEMU of ours running
    under root (even one whose directory is gone)."""
    if not root.is_dir():
        return {}
    found = {path: None for path in root.resolve().iterdir() if _is_guest_dir(path)}
    found.update(owner.running_guests(root))
    return found


def _is_guest_dir(path):
    # Only what a guest's start leaves: anything else under the root is not ours to remove.
    return path.is_dir() and any((path / name).exists() for name in GUEST_FILES)


def _suspects(guests):
    """The guests worth a closer look, from two queries and no engine call: those with
    no live record, and running ones of idle records whose stack never reported them."""
    if not guests:
        return []
    names = [vm_dir.name for vm_dir in guests]
    records = dict(VirtualMachine.objects.filter(stack_name__in=names).values_list(
        "stack_name", "outputs"))
    busy = set(Deployment.objects.filter(
        stack_name__in=names, status__in=Deployment.ACTIVE_STATES).values_list(
        "stack_name", flat=True))
    deleted = set(VirtualMachine.objects.filter(
        stack_name__in=names, status=Status.DELETED).values_list("stack_name", flat=True))
    return sorted(
        vm_dir for vm_dir, pid in guests.items()
        if vm_dir.name not in busy and (
            vm_dir.name not in records or vm_dir.name in deleted
            or (not records[vm_dir.name] and _running(vm_dir, pid))))


def _release(vm_dir, pid, busy_statuses, dry_run):
    """Check one guest again with its record locked (no deployment can be requested
    meanwhile) and stop it if it is an orphan; return the reason, or None."""
    with transaction.atomic():
        vm = VirtualMachine.objects.select_for_update().filter(
            stack_name=vm_dir.name).first()
        reason = _orphan_reason(vm, vm_dir, pid, busy_statuses)
        if reason and not dry_run:
            _stop(vm_dir, pid, reason)
    return reason


def _orphan_reason(vm, vm_dir, pid, busy_statuses):
    if Deployment.objects.filter(stack_name=vm_dir.name, status__in=busy_statuses).exists():
        return None  # a deployment of its stack is in flight: it may be booting this guest
    if vm is None:
        return "no VM record owns it"
    if vm.status == Status.DELETED:
        return "its VM record is deleted"
    if not _running(vm_dir, pid) or _stack_records(vm):
        return None
    return "its stack does not record it (a create stopped before it finished)"


def _running(vm_dir, pid):
    return pid is not None or qemu.is_running(vm_dir) or bool(
        owner.live_provider(owner.read(vm_dir)))


def _stack_records(vm):
    """Whether the stack has the guest; the record's outputs, synced from the stack,
    answer without the engine. When the engine cannot tell, assume it does."""
    if vm.outputs:
        return True
    try:
        return bool(engine.outputs(vm.pulumi_project, vm.stack_name))
    except engine.StackMissing:
        return False
    except engine.EngineError as exc:
        log.warning("left guest of %s alone: the engine could not tell: %s",
                    vm.stack_name, exc)
        return True


def _stop(vm_dir, pid, reason):
    own = owner.read(vm_dir)
    # The provider first, so that it cannot start the guest again.
    if owner.stop_provider(own):
        log.warning("killed provider pid %s of %s", own.get("provider_pid"), vm_dir)
    qemu.kill(vm_dir, pid=pid)
    shutil.rmtree(vm_dir, ignore_errors=True)
    log.warning("stopped and removed guest %s (deployment %s): %s", vm_dir,
                own.get("deployment") or "unknown", reason)
