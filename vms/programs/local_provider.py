"""A Pulumi dynamic provider for a real VM on this host (QEMU), reachable by SSH.

Importable with no Django: the engine's provider process unpickles this class by
reference (dill), so it must live in a module of its own on PYTHONPATH.

Outputs repeat the inputs, because read and delete only get the stored outputs.
"""
import os
from datetime import datetime, timezone

from pulumi import Output
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult
from pulumi.dynamic import ReadResult, Resource, ResourceProvider, UpdateResult

from vms.localvm import owner, qemu
from vms.localvm.image import USER, ensure_image

from . import engine_watch

BOOT_TIMEOUT = 600  # software emulation (no KVM) takes much longer than KVM to boot
PORT_TRIES = 3
INPUTS = ("stack_name", "vms_root", "image_cache", "authorized_key", "memory_mb", "vcpus",
          "instance_type", "power", "restarts", "user_data", "guest_uid")
# A changed first-boot script restarts nothing: it runs at the first boot only.
RESTART_ON = ("authorized_key", "memory_mb", "vcpus", "restarts")
STOPPED = "stopped"
REPLACE_ON = ("stack_name", "vms_root")


def _vm_dir(props):
    return os.path.join(props["vms_root"], props["stack_name"])


def _inputs(props):
    return {key: props.get(key) for key in INPUTS}


def _outs(props, port, state, booted_at=None):
    """booted_at: when SSH first answered at this boot (ISO 8601), for the uptime."""
    return {**_inputs(props), "public_ip": "127.0.0.1", "public_dns": "localhost",
            "ssh_port": int(port), "ssh_user": USER, "state": state,
            "booted_at": booted_at if state == "running" else None}


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _boot(props, port):
    """Start the VM on `port` (or on another free one if that is taken); return the port."""
    image = ensure_image(props["image_cache"])
    vm_dir = _vm_dir(props)
    owner.record(qemu.make_private_dir(vm_dir), props["stack_name"])  # before it runs
    for attempt in range(PORT_TRIES):
        if attempt or not qemu.port_is_free(port):
            port = qemu.free_port()
        try:
            with engine_watch.launching():
                qemu.start(vm_dir, image, ssh_port=port,
                           authorized_key=props["authorized_key"],
                           memory_mb=int(props["memory_mb"]), vcpus=int(props["vcpus"]),
                           user_data=props.get("user_data") or "",
                           guest_uid=int(props.get("guest_uid") or 0))
            break
        except qemu.VmError as exc:
            # Another process may grab a port between our check and QEMU's bind.
            if "forward" not in str(exc) or attempt == PORT_TRIES - 1:
                raise
    try:
        qemu.wait_for_ssh(port, BOOT_TIMEOUT, vm_dir=vm_dir)
    except BaseException:
        qemu.stop(vm_dir)
        raise
    return port


class LocalVmProvider(ResourceProvider):
    # Each entry point first makes sure this process goes when its engine does.

    def check(self, _olds, news):
        engine_watch.watch()
        failures = []
        for key in ("memory_mb", "vcpus"):
            try:
                news[key] = int(news.get(key))
            except (TypeError, ValueError):
                failures.append(CheckFailure(key, "must be a whole number"))
        key = str(news.get("authorized_key") or "").strip()
        if not key or "\n" in key:
            failures.append(CheckFailure("authorized_key", "must be one OpenSSH key line"))
        if not failures and not (128 <= news["memory_mb"] <= 16384):
            failures.append(CheckFailure("memory_mb", "must be between 128 and 16384"))
        if not failures and not (1 <= news["vcpus"] <= 8):
            failures.append(CheckFailure("vcpus", "must be between 1 and 8"))
        return CheckResult(news, failures)

    def create(self, props):
        engine_watch.watch()
        vm_dir = _vm_dir(props)
        with engine_watch.creating(vm_dir):
            qemu.destroy(vm_dir)  # a leftover of a failed earlier create, never a managed VM
            try:
                port = _boot(props, qemu.free_port())
            except BaseException:
                qemu.destroy(vm_dir)  # create is all or nothing
                raise
        return CreateResult(id_=props["stack_name"],
                            outs=_outs(props, port, "running", _now()))

    def diff(self, _id, olds, news):
        engine_watch.watch()
        replaces = [k for k in REPLACE_ON if olds.get(k) != news.get(k)]
        changed = [k for k in INPUTS if _differs(olds.get(k), news.get(k))]
        # A VM that is down (host reboot, crash), or running when it should be stopped,
        # is drift that `up` should repair.
        drift = not replaces and qemu.is_running(_vm_dir(olds)) != _wants_running(news)
        return DiffResult(changes=bool(changed or drift), replaces=replaces,
                          delete_before_replace=True)

    def update(self, _id, olds, news):
        engine_watch.watch()
        vm_dir = _vm_dir(news)
        port = int(olds["ssh_port"])
        if not _wants_running(news):
            qemu.stop(vm_dir)  # a clean shutdown; the disk stays
            return UpdateResult(outs=_outs(news, port, STOPPED))
        restart = any(_differs(olds.get(k), news.get(k)) for k in RESTART_ON)
        booted_at = olds.get("booted_at")
        if restart or not qemu.is_running(vm_dir):
            qemu.stop(vm_dir)  # the disk stays: only the machine's settings change
            port, booted_at = _boot(news, port), _now()
        return UpdateResult(outs=_outs(news, port, "running", booted_at))

    def delete(self, _id, props):
        engine_watch.watch()
        qemu.destroy(_vm_dir(props))

    def read(self, id_, props):
        """What really runs: a VM whose QEMU is gone reads as stopped, not running."""
        engine_watch.watch()
        vm_dir = _vm_dir(props)
        if not os.path.exists(os.path.join(vm_dir, "disk.qcow2")):
            return ReadResult(id_=None, outs={})
        state = "running" if qemu.is_running(vm_dir) else "stopped"
        return ReadResult(id_=id_, outs=_outs(props, props["ssh_port"], state,
                                              props.get("booted_at")))


def _wants_running(props):
    return props.get("power") != STOPPED  # stacks made before power controls: running


def _differs(old, new):
    # Numbers come back from Pulumi's state as floats: 512.0 is still 512.
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return float(old) != float(new)
    return old != new


class LocalVm(Resource, module="herocool", name="LocalVm"):
    public_ip: Output[str]
    public_dns: Output[str]
    ssh_port: Output[int]
    ssh_user: Output[str]
    instance_type: Output[str]
    state: Output[str]
    booted_at: Output[str]

    def __init__(self, name, *, stack_name, vms_root, image_cache, authorized_key,
                 memory_mb=512, vcpus=1, instance_type="local", power="running",
                 restarts=0, user_data="", guest_uid=0, opts=None):
        props = {
            "stack_name": stack_name, "vms_root": str(vms_root),
            "image_cache": str(image_cache), "authorized_key": authorized_key,
            "memory_mb": memory_mb, "vcpus": vcpus, "instance_type": instance_type,
            "power": power, "restarts": restarts, "user_data": user_data,
            "guest_uid": guest_uid,
            "public_ip": None, "public_dns": None, "ssh_port": None, "ssh_user": None,
            "state": None, "booted_at": None,
        }
        super().__init__(LocalVmProvider(), name, props, opts)
