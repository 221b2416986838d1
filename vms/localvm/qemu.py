"""Run one local VM as a daemonized QEMU process, described entirely by its directory.

vm_dir holds disk.qcow2 (an overlay on the shared image), image.json (which image
the disk was made from), authorized_keys (handed to the guest through fw_cfg),
console.log, qemu.log, qemu.pid, qmp.sock and owner.json (see owner.py). QEMU
daemonizes in a session of its own, so the process that started it (an RQ worker,
Pulumi's provider plugin) may exit without taking the VM down: whoever starts one
records its owner first, so that cancel, destroy and the sweep can find and stop it.

Everything here is private to the platform's user (0700 directory, 0600 files),
whatever the process umask: the disk holds the guest's host keys and the user's files.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from . import console, guestnet
from .files import PRIVATE_UMASK, make_private_dir, private_opener, write_private
from .image import ImagePaths
from .recipe import FW_CFG_KEY_NAME, FW_CFG_USER_DATA_NAME

QEMU = "qemu-system-x86_64"
NET_CUT = "network_cut"  # netwatch cut this guest's network (its link is down)
LAUNCH_TIMEOUT = 60
PROBE_TIMEOUT = 20
# A v2 image (no initrd): the kernel finds the NVMe disk and ext4 itself and mounts the
# root read-write (no fsck or remount). For an emulated boot: quiet (every character on
# the serial console costs), no crypto self-tests, one UART to probe, and no clocksource
# watchdog (a busy host makes the TSC look unstable, and the fallback is slower).
# systemd's one line per unit is the boot log the machine page shows (issue #19).
# A v1 image (with an initrd) boots as it always did.
CMDLINE = ("root=/dev/nvme0n1 rw rootfstype=ext4 console=ttyS0 net.ifnames=0 panic=10 "
           "quiet cryptomgr.notests 8250.nr_uarts=1 tsc=reliable systemd.show_status=1")
LEGACY_CMDLINE = "root=/dev/vda ro console=ttyS0 net.ifnames=0 panic=10"


class VmError(RuntimeError):
    pass


def start(vm_dir, image: ImagePaths, *, ssh_port: int, authorized_key: str,
          memory_mb: int = 512, vcpus: int = 1, user_data: str = "",
          guest_uid: int = 0) -> int:
    """Boot the VM (creating its disk on first start) and return QEMU's pid.

    The disk of an existing VM keeps the image it was made from: its kernel must
    match the modules inside that disk, whatever image is newest now.
    """
    vm = make_private_dir(vm_dir)
    if is_running(vm):
        raise VmError(f"{vm} is already running")
    _remove(vm / NET_CUT)  # the new QEMU's link is up (netwatch cuts it again if need be)
    image = _prepare_disk(vm, image)
    write_private(vm / "authorized_keys", authorized_key.strip() + "\n")
    _write_user_data(vm, user_data)
    _remove(vm / "qemu.pid")
    console.new_boot(vm)
    boundary = guestnet.Boundary(guest_uid)
    # As root: -runas in the command; as the service account: started through sg.
    cmd = boundary.launch(_command(vm, image, ssh_port, memory_mb, vcpus, boundary))
    with open(vm / "qemu.log", "w", opener=private_opener) as log:
        # umask: for what QEMU creates before it daemonises.
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, timeout=LAUNCH_TIMEOUT,
                                start_new_session=True, umask=PRIVATE_UMASK)
    if result.returncode != 0:
        raise VmError(f"QEMU did not start: {_tail(vm / 'qemu.log')}")
    pid = _read_pid(vm)
    if pid is None:
        raise VmError(f"QEMU started but wrote no pid file: {_tail(vm / 'qemu.log')}")
    return pid


def _write_user_data(vm, user_data):
    # The guest runs it once (recipe.FIRST_BOOT_SCRIPT); kept for later boots, which
    # skip it, so that the machine's fw_cfg stays the same whatever boot this is.
    if user_data:
        write_private(vm / "user_data", user_data)
    else:
        _remove(vm / "user_data")


def _prepare_disk(vm, image):
    disk, record = vm / "disk.qcow2", vm / "image.json"
    if disk.exists():
        os.chmod(disk, 0o600)  # a disk made before its files were private
        return ImagePaths(**json.loads(record.read_text()))
    write_private(record, json.dumps(asdict(image)))
    tmp = vm / "disk.qcow2.tmp"
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", image.rootfs,
          str(tmp)])
    os.chmod(tmp, 0o600)
    os.replace(tmp, disk)  # a half-made overlay never looks like a real disk
    return image


def _command(vm, image, ssh_port, memory_mb, vcpus, boundary=None):
    boundary = boundary or guestnet.Boundary(0)  # none given: no way out at all
    def esc(path):  # QEMU option values escape commas by doubling them
        return str(path).replace(",", ",,")

    # The guest reaches out only where guestnet allows: never this host (10.0.2.2 is
    # the host's loopback to QEMU's user network).
    net = (f"user,id=net0,{boundary.netdev_options},"
           f"hostfwd=tcp:127.0.0.1:{int(ssh_port)}-:22")
    cmd = [QEMU, "-name", esc(vm.name), "-machine", "q35", *accel_args(image.kernel),
           "-m", str(int(memory_mb)), "-smp", str(int(vcpus)),
           "-nodefaults", "-no-user-config", "-display", "none",
           "-kernel", image.kernel, *_disk_args(image, esc(vm / "disk.qcow2")),
           "-netdev", net, "-device", "virtio-net-pci,netdev=net0",
           "-device", "virtio-rng-pci",
           "-fw_cfg", f"name={FW_CFG_KEY_NAME},file={esc(vm / 'authorized_keys')}",
           # Appended to, so that the platform can cap the file under a running guest.
           "-chardev", f"file,id=console,path={esc(vm / console.CONSOLE)},append=on",
           "-serial", "chardev:console",
           "-pidfile", str(vm / "qemu.pid"), "-daemonize", *boundary.qemu_args]
    if (vm / "user_data").exists():
        cmd += ["-fw_cfg", f"name={FW_CFG_USER_DATA_NAME},file={esc(vm / 'user_data')}"]
    qmp = vm / "qmp.sock"
    if len(str(qmp)) < 100:  # unix socket paths are limited to 108 bytes
        _remove(qmp)
        cmd += ["-qmp", f"unix:{esc(qmp)},server=on,wait=off"]
    return cmd


def _disk_args(image, disk):
    drive = f"file={disk},format=qcow2,cache=writeback"
    if image.initrd:
        return ["-initrd", image.initrd, "-append", LEGACY_CMDLINE,
                "-drive", f"{drive},if=virtio"]
    return ["-append", CMDLINE, "-drive", f"{drive},if=none,id=root",
            "-device", "nvme,drive=root,serial=herocool-root"]


def accel_args(kernel) -> list:
    """KVM if it really boots a kernel here, else TCG software emulation.

    /dev/kvm existing is not enough: some hosts (nested, PVM) expose a KVM that
    hangs ordinary guests. The probe result is kept per host boot.
    """
    kvm = ["-accel", "kvm", "-cpu", "host"]
    tcg = ["-accel", "tcg,tb-size=256", "-cpu", "max"]
    forced = os.environ.get("HEROCOOL_VM_ACCEL", "")
    if forced in ("kvm", "tcg"):
        return kvm if forced == "kvm" else tcg
    return kvm if kvm_works(kernel) else tcg


def kvm_works(kernel) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cache = Path(kernel).parent / f".kvm-probe-{boot_id}"
    try:
        return cache.read_text() == "yes"
    except OSError:
        pass
    works = _probe_kvm(kernel)
    try:
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}")
        tmp.write_text("yes" if works else "no")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only image dir only means probing again next time
    return works


def _probe_kvm(kernel) -> bool:
    # Without a root disk the kernel panics at once; -no-reboot then ends QEMU.
    log = Path(tempfile.gettempdir()) / f"herocool-kvm-probe-{os.getpid()}.log"
    cmd = [QEMU, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults",
           "-no-user-config", "-display", "none", "-no-reboot", "-kernel", str(kernel),
           "-append", "console=ttyS0 panic=-1", "-serial", f"file:{log}"]
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=PROBE_TIMEOUT, umask=PRIVATE_UMASK)
        return "Kernel panic" in log.read_text(errors="replace")
    except (subprocess.TimeoutExpired, OSError):
        return False
    finally:
        _remove(log)


def _resolve(vm_dir):
    # One spelling of the path: is_running matches it against QEMU's command line.
    return Path(vm_dir).resolve()


def _read_pid(vm):
    try:
        return int((Path(vm) / "qemu.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_alive(pid, vm):
    """The pid is a live QEMU of this very VM (pids get reused after a crash or reboot)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return False
    pidfile = str(Path(vm) / "qemu.pid").encode()
    return os.path.basename(argv[0]).startswith(b"qemu-system") and pidfile in argv


def is_running(vm_dir) -> bool:
    vm = _resolve(vm_dir)
    pid = _read_pid(vm)
    return pid is not None and _pid_alive(pid, vm)


def stop(vm_dir, timeout: float = 60) -> None:
    """Shut the guest down cleanly if it will, else end QEMU; return once it is gone."""
    vm = _resolve(vm_dir)
    pid = _read_pid(vm)
    if pid is None or not _pid_alive(pid, vm):
        return
    if _qmp_powerdown(vm / "qmp.sock") and _wait_gone(pid, vm, timeout * 0.6):
        return
    kill(vm, timeout * 0.4, pid=pid)


def _wait_gone(pid, vm, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid, vm):
            return True
        time.sleep(0.2)
    return not _pid_alive(pid, vm)


def _qmp_powerdown(sock_path) -> bool:
    """Press the virtual power button (ACPI), so the guest flushes its disk itself."""
    return qmp(sock_path, {"execute": "system_powerdown"})


def set_link(vm_dir, up: bool, netdev: str = "net0") -> bool:
    """Turn the guest's user network (netdev `netdev`) on or off through QMP: off, no
    packet passes between the guest and QEMU's network (the SSH forward included).
    True if QEMU did it."""
    return qmp(_resolve(vm_dir) / "qmp.sock",
               {"execute": "set_link", "arguments": {"name": netdev, "up": bool(up)}})


def qmp(sock_path, *commands) -> bool:
    """Run `commands` (QMP dicts) on the guest's QMP socket; True if every one returned."""
    sock_path = Path(sock_path)
    if not sock_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(sock_path))
            reader = sock.makefile("rb")
            reader.readline()  # greeting
            for command in ({"execute": "qmp_capabilities"}, *commands):
                sock.sendall(json.dumps(command).encode() + b"\n")
                if not _qmp_reply_ok(reader):
                    return False
            return True
    except (OSError, ValueError):
        return False


def _qmp_reply_ok(reader) -> bool:
    # Events (e.g. POWERDOWN) may arrive before the command's own reply.
    for _ in range(20):
        reply = json.loads(reader.readline() or b"{}")
        if "return" in reply or "error" in reply or not reply:
            return "return" in reply
    return False


def kill(vm_dir, timeout: float = 20, *, pid=None) -> None:
    """End QEMU at once (SIGTERM, then SIGKILL): for a guest whose disk goes anyway.
    `pid` (found in /proc) ends a QEMU whose pid file is gone."""
    vm = _resolve(vm_dir)
    pid = pid or _read_pid(vm)
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout * 0.5), (signal.SIGKILL, timeout * 0.5)):
        if not _pid_alive(pid, vm):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if _wait_gone(pid, vm, wait):
            return
    raise VmError(f"QEMU pid {pid} did not exit")


def destroy(vm_dir) -> None:
    """End the VM and delete its disk and directory (no clean shutdown: the disk goes)."""
    vm = _resolve(vm_dir)
    if vm.exists():
        kill(vm)
        shutil.rmtree(vm)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # QEMU binds with SO_REUSEADDR too, so a TIME_WAIT leftover does not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", int(port)))
            return True
        except OSError:
            return False


def wait_for_ssh(port: int, timeout: float = 300, vm_dir=None) -> float:
    """Wait until sshd's banner answers on the port; return the seconds it took.

    A bare TCP connect proves nothing: QEMU accepts forwarded connections itself
    and only then tries the guest. Given vm_dir, a QEMU that died fails fast.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _ssh_banner(port):
            return time.monotonic() - started
        if vm_dir is not None and not is_running(vm_dir):
            raise VmError(f"the VM stopped while booting: {_tail(Path(vm_dir) / 'console.log')}")
        time.sleep(0.5)
    raise TimeoutError(f"no SSH banner on 127.0.0.1:{port} after {timeout:.0f}s")


def _ssh_banner(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as sock:
            sock.settimeout(10)
            return sock.recv(256).startswith(b"SSH-")
    except OSError:
        return False


def _run(cmd, timeout=120):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            umask=PRIVATE_UMASK)
    if result.returncode != 0:
        raise VmError(f"{' '.join(cmd)} failed: {(result.stdout + result.stderr)[-2000:]}")
    return result.stdout


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _tail(path, chars=1500):
    try:
        return Path(path).read_text(errors="replace")[-chars:].strip()
    except OSError:
        return "(no log)"
