"""The provider process outlives its engine no more, and takes its unfinished guests along.

The Pulumi CLI starts each provider plugin in a process group of its own (Setpgid, in
sdk/go/common/resource/plugin/plugin.go), so when RQ stops a job by killing the
work-horse's process group, the CLI dies and the provider does not: its create goes on
booting a guest whose result no engine will record, and the process then waits forever.
QEMU daemonises into a session of its own, so no signal to the provider reaches it.

So, in the provider process: a thread notices the engine is gone (the provider is
re-parented), stops every guest whose create has not returned (the stack cannot record
it) and exits. A guest the stack already records (an update in progress) is left to
the stack. Guests are launched under a lock, so none can start after that.
"""
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager

from vms.localvm import qemu

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25

_state = threading.Lock()
_launch = threading.Lock()
_creating = set()
_engine = {"pid": None, "gone": False}


def watch():
    """Start watching the engine (once per provider process); cheap to call often."""
    if not _in_provider_plugin():
        return  # e.g. a test calling the provider's methods directly
    with _state:
        if _engine["pid"] is not None:
            return
        _engine["pid"] = os.getppid()
    threading.Thread(target=_watch, name="engine-watch", daemon=True).start()


def _in_provider_plugin():
    # The plugin is `python -m pulumi.dynamic` (pulumi-resource-pulumi-python).
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec is not None and spec.name == "pulumi.dynamic.__main__"


def _watch():
    while os.getppid() == _engine["pid"]:
        time.sleep(POLL_SECONDS)
    engine_gone()


def engine_gone():
    """Stop the guests of unfinished creates, then end this process."""
    with _launch:
        _engine["gone"] = True
        for vm_dir in list(_creating):
            try:
                qemu.destroy(vm_dir)
                log.warning("engine gone: stopped and removed unfinished guest %s", vm_dir)
            except Exception:  # noqa: BLE001 - the sweep is the backstop
                log.exception("engine gone: could not remove %s", vm_dir)
    os._exit(1)


@contextmanager
def creating(vm_dir):
    """A create in progress: its guest is not the stack's until the create returns."""
    with _state:
        _creating.add(vm_dir)
    try:
        yield
    finally:
        with _state:
            _creating.discard(vm_dir)


@contextmanager
def launching():
    """Start a QEMU only while the engine is there to record it."""
    with _launch:
        if _engine["gone"]:
            raise qemu.VmError("the engine that asked for this machine is gone")
        yield
