"""Build, once, the small Debian 12 image that every local VM boots.

The image is a raw ext4 root filesystem plus the kernel taken out of it: QEMU boots
the kernel directly, so no bootloader or partition table is needed, and no initrd
either: the cloud kernel has NVMe and ext4 built in, so the disk is attached as NVMe
and the kernel mounts it read-write itself (no fsck, no remount, no udev wait for the
root device). Each VM gets a qcow2 overlay on top of the raw file, which therefore
must never change after it is published: a new recipe gets a new IMAGE_NAME and
directory, and old ones are kept for the VMs whose disks still point at them (v1
images had an initrd and booted from virtio-blk; qemu.py still boots those that way).
"""
import fcntl
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .recipe import (FILES, FIRST_BOOT_SCRIPT, MASKED_GENERATORS, MASKED_UNITS, SSH_KEYS_SCRIPT,
                     SUITE, USER)

# Bump whenever the recipe (below and recipe.py) changes: existing overlays keep their
# old backing file.
IMAGE_NAME = "debian-12-herocool-v3"  # v3: the first-boot script unit (issue #19)
LEGACY_IMAGE_NAME = "debian-12-herocool-v1"  # initrd + virtio-blk; still bootable
MIRROR = os.environ.get("HEROCOOL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Apparent size of the root filesystem; the file is sparse, so unused space costs nothing.
DISK_SIZE = "4G"
PACKAGES = [
    "linux-image-cloud-amd64",  # smaller than linux-image-amd64, has virtio and qemu_fw_cfg
    "systemd-sysv", "udev", "dbus", "libpam-systemd",
    "openssh-server", "sudo", "kmod", "iproute2", "procps", "less", "nano",
    "ca-certificates", "netbase",
]
DEBOOTSTRAP_TIMEOUT = 1800
STEP_TIMEOUT = 600


@dataclass(frozen=True)
class ImagePaths:
    rootfs: str
    kernel: str
    initrd: str = ""  # "": boot straight onto the NVMe root (v2); else the v1 way


def image_at(image_dir) -> ImagePaths:
    """The paths of a built image directory, of any recipe (v1 ones have an initrd)."""
    image_dir = Path(image_dir)
    initrd = image_dir / "initrd.img"
    return ImagePaths(rootfs=str(image_dir / "rootfs.raw"),
                      kernel=str(image_dir / "vmlinuz"),
                      initrd=str(initrd) if initrd.exists() else "")


def ensure_image(cache_dir) -> ImagePaths:
    """The cached image, built first if missing (minutes; other callers wait on a lock)."""
    cache = Path(cache_dir).resolve()
    final = cache / IMAGE_NAME
    if final.is_dir():
        return image_at(final)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not final.is_dir():  # someone else may have built it while we waited
            _remove_stale_builds(cache)
            _build(cache, final)
    return image_at(final)


def _remove_stale_builds(cache):
    # Only the lock holder builds, so any build dir seen now was left by a crash.
    for stale in cache.glob(".build-*"):
        _safe_rmtree(stale)


def _build(cache, final):
    work = Path(tempfile.mkdtemp(prefix=f".build-{IMAGE_NAME}-", dir=cache))
    try:
        root = work / "root"
        _debootstrap(root)
        _configure(root)
        _extract_kernel(root, work)
        _shrink(root)
        _make_rootfs(root, work / "rootfs.raw")
        _safe_rmtree(root)
        os.chmod(work / "rootfs.raw", 0o444)  # the shared backing file of every overlay
        os.chmod(work, 0o755)  # mkdtemp made it private
        os.rename(work, final)  # atomic publish: readers see all of it or nothing
    except BaseException:
        _safe_rmtree(work)
        raise


def _run(cmd, timeout=STEP_TIMEOUT):
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
    # A session of its own, so a timeout ends dpkg and the rest, not only debootstrap.
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{output[-3000:]}")
    return output


def _chroot(root, *cmd):
    return _run(["chroot", str(root), *cmd])


def _debootstrap(root):
    _run(["debootstrap", "--variant=minbase", "--components=main",
          "--include=" + ",".join(PACKAGES), SUITE, str(root), MIRROR],
         timeout=DEBOOTSTRAP_TIMEOUT)


def _write(root, path, text, mode=0o644):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():  # an absolute link would point out of the chroot, at the host
        target.unlink()
    target.write_text(text)
    os.chmod(target, mode)


def _configure(root):
    for path, text in FILES.items():
        if text is None:  # masked: a link to /dev/null overrides the packaged file
            _mask(root, path)
            continue
        _write(root, path, text, 0o440 if path.startswith("/etc/sudoers.d/") else 0o644)
    _write(root, "/usr/local/sbin/herocool-ssh-keys", SSH_KEYS_SCRIPT, 0o755)
    _write(root, "/usr/local/sbin/herocool-first-boot", FIRST_BOOT_SCRIPT, 0o755)
    (root / "etc/ssh/authorized_keys").mkdir(exist_ok=True)
    _chroot(root, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", USER)
    # '*' (not a locked '!') so PAM still admits key logins while no password works.
    _chroot(root, "usermod", "--password", "*", USER)
    _chroot(root, "systemctl", "enable", "herocool-network", "herocool-ssh-keys",
            "herocool-first-boot")
    _chroot(root, "systemctl", "mask", *MASKED_UNITS)
    for name in MASKED_GENERATORS:
        _mask(root, f"/etc/systemd/system-generators/{name}")
    # The kernel is booted from outside; an upgraded one inside would not match its modules.
    _chroot(root, "apt-mark", "hold", "linux-image-cloud-amd64")
    for key in glob.glob(str(root / "etc/ssh/ssh_host_*")):
        os.remove(key)
    # Empty machine-id: systemd makes a fresh one per VM at first boot.
    _write(root, "/etc/machine-id", "")


def _mask(root, path):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.symlink_to("/dev/null")


def _extract_kernel(root, work):
    kernels = sorted(glob.glob(str(root / "boot/vmlinuz-*")))
    if len(kernels) != 1:
        raise RuntimeError(f"expected one kernel, found {kernels}")
    shutil.copyfile(kernels[0], work / "vmlinuz")


def _shrink(root):
    _chroot(root, "apt-get", "clean")
    for pattern in ("var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*",
                    "usr/share/info/*", "usr/share/locale/*", "var/log/*.log",
                    "var/cache/debconf/*-old", "boot/*"):
        for path in glob.glob(str(root / pattern)):
            _safe_rmtree(path) if os.path.isdir(path) else os.remove(path)


def _make_rootfs(root, image):
    # mkfs.ext4 -d copies the tree in without loop devices or mounts.
    _run(["mkfs.ext4", "-q", "-F", "-L", "herocool-root", "-d", str(root), str(image),
          DISK_SIZE])


def _mounts_under(path):
    prefix = str(Path(path).resolve()) + "/"
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f]
    return sorted((p for p in points if p.startswith(prefix)), reverse=True)


def _safe_rmtree(path):
    # debootstrap mounts /proc and /sys in the target; a killed build can leave them
    # mounted, and deleting through a mount would reach the host's files.
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], timeout=60, check=False)
    if _mounts_under(path):
        raise RuntimeError(f"refusing to delete {path}: still has mounts")
    shutil.rmtree(path, ignore_errors=True)


def build_seconds(cache_dir):
    """Build (or find) the image and say how long it took: for scripts and logs."""
    started = time.monotonic()
    paths = ensure_image(cache_dir)
    return paths, time.monotonic() - started
