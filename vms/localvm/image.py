"""Build, once, the small Debian 12 image that every local VM boots.

The image is a raw ext4 root filesystem plus the kernel and initrd taken out of it:
QEMU boots the kernel directly, so no bootloader or partition table is needed. Each
VM gets a qcow2 overlay on top of the raw file, which therefore must never change
after it is published: a new recipe gets a new IMAGE_NAME and directory, and old
ones are kept for the VMs whose disks still point at them.
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

# Bump whenever the recipe below changes: existing overlays keep their old backing file.
IMAGE_NAME = "debian-12-herocool-v1"
SUITE = "bookworm"
MIRROR = os.environ.get("HEROCOOL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Apparent size of the root filesystem; the file is sparse, so unused space costs nothing.
DISK_SIZE = "4G"
PACKAGES = [
    "linux-image-cloud-amd64",  # smaller than linux-image-amd64, has virtio and qemu_fw_cfg
    "systemd-sysv", "udev", "dbus", "libpam-systemd",
    "openssh-server", "sudo", "kmod", "iproute2", "procps", "less", "nano",
    "ca-certificates", "netbase",
]
USER = "herocool"
FW_CFG_KEY_NAME = "opt/herocool/authorized_keys"
DEBOOTSTRAP_TIMEOUT = 1800
STEP_TIMEOUT = 600


@dataclass(frozen=True)
class ImagePaths:
    rootfs: str
    kernel: str
    initrd: str


def _paths(image_dir):
    return ImagePaths(rootfs=str(image_dir / "rootfs.raw"),
                      kernel=str(image_dir / "vmlinuz"),
                      initrd=str(image_dir / "initrd.img"))


def ensure_image(cache_dir) -> ImagePaths:
    """The cached image, built first if missing (minutes; other callers wait on a lock)."""
    cache = Path(cache_dir).resolve()
    final = cache / IMAGE_NAME
    if final.is_dir():
        return _paths(final)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not final.is_dir():  # someone else may have built it while we waited
            _remove_stale_builds(cache)
            _build(cache, final)
    return _paths(final)


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
        _make_initrd(root)
        _extract_boot_files(root, work)
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


AUTHORIZED_KEYS_SCRIPT = f"""#!/bin/sh
# Install the SSH key handed in by QEMU fw_cfg at this boot, replacing any older one:
# the platform changes a VM's key by restarting it with a new fw_cfg entry.
set -eu
src=/sys/firmware/qemu_fw_cfg/by_name/{FW_CFG_KEY_NAME}/raw
dest=/etc/ssh/authorized_keys/{USER}
modprobe qemu_fw_cfg 2>/dev/null || true
mkdir -p /etc/ssh/authorized_keys
if [ -r "$src" ]; then cat "$src" > "$dest.new"; else : > "$dest.new"; fi
chmod 644 "$dest.new"
mv -f "$dest.new" "$dest"
"""

# No RSA host key: making one takes ~10 s of an emulated (non-KVM) first boot.
HOSTKEYS_SCRIPT = """#!/bin/sh
set -eu
for type in ed25519 ecdsa; do
  key=/etc/ssh/ssh_host_${type}_key
  [ -s "$key" ] || { rm -f "$key" "$key.pub"; ssh-keygen -q -t "$type" -N "" -f "$key"; }
done
"""

FILES = {
    "/etc/hostname": "herocool-vm\n",
    "/etc/hosts": "127.0.0.1 localhost\n127.0.1.1 herocool-vm\n::1 localhost ip6-localhost\n",
    "/etc/fstab": "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n",
    # QEMU user networking answers DHCP on the NIC; net.ifnames=0 keeps its name eth0.
    "/etc/systemd/network/80-dhcp.network": "[Match]\nName=eth* en*\n\n[Network]\nDHCP=yes\n",
    "/etc/resolv.conf": "nameserver 10.0.2.3\n",
    "/etc/apt/sources.list": (
        f"deb http://deb.debian.org/debian {SUITE} main\n"
        f"deb http://deb.debian.org/debian {SUITE}-updates main\n"
        f"deb http://deb.debian.org/debian-security {SUITE}-security main\n"),
    # Managed keys live outside the user's home, so the user cannot lose or spoof them;
    # the user's own ~/.ssh/authorized_keys still works for keys they add themselves.
    "/etc/ssh/sshd_config.d/herocool.conf": (
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin no\nUseDNS no\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n"
        "AuthorizedKeysFile /etc/ssh/authorized_keys/%u .ssh/authorized_keys\n"),
    f"/etc/sudoers.d/{USER}": f"{USER} ALL=(ALL) NOPASSWD:ALL\n",
    "/etc/modules-load.d/herocool.conf": "qemu_fw_cfg\n",
    "/etc/systemd/journald.conf.d/herocool.conf": "[Journal]\nSystemMaxUse=64M\n",
    # Host keys are made at first boot, so no two VMs share them.
    "/etc/systemd/system/herocool-hostkeys.service": (
        "[Unit]\nDescription=Generate SSH host keys\nBefore=ssh.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/local/sbin/herocool-hostkeys\n\n"
        "[Install]\nWantedBy=ssh.service\n"),
    "/etc/systemd/system/herocool-authorized-keys.service": (
        "[Unit]\nDescription=Install the SSH key from QEMU fw_cfg\nBefore=ssh.service\n"
        "After=local-fs.target systemd-modules-load.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/local/sbin/herocool-authorized-keys\n\n"
        "[Install]\nWantedBy=ssh.service\n"),
    # A tiny initrd (only what finds /dev/vda) boots much faster under TCG emulation.
    "/etc/initramfs-tools/conf.d/herocool": "MODULES=list\nCOMPRESS=gzip\n",
    "/etc/initramfs-tools/modules": "virtio_pci\nvirtio_blk\next4\n",
    # No docs or man pages for packages the user installs later either.
    "/etc/dpkg/dpkg.cfg.d/01-nodoc": (
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n"),
}


def _configure(root):
    for path, text in FILES.items():
        _write(root, path, text, 0o440 if path.startswith("/etc/sudoers.d/") else 0o644)
    _write(root, "/usr/local/sbin/herocool-authorized-keys", AUTHORIZED_KEYS_SCRIPT, 0o755)
    _write(root, "/usr/local/sbin/herocool-hostkeys", HOSTKEYS_SCRIPT, 0o755)
    _chroot(root, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", USER)
    # '*' (not a locked '!') so PAM still admits key logins while no password works.
    _chroot(root, "usermod", "--password", "*", USER)
    _chroot(root, "systemctl", "enable", "systemd-networkd", "herocool-hostkeys",
            "herocool-authorized-keys")
    # Periodic jobs only slow a small, often emulated guest (and apt has no network).
    _chroot(root, "systemctl", "mask", "e2scrub_reap.service", "e2scrub_all.timer",
            "apt-daily.timer", "apt-daily-upgrade.timer")
    # The kernel is booted from outside; an upgraded one inside would not match its modules.
    _chroot(root, "apt-mark", "hold", "linux-image-cloud-amd64")
    for key in glob.glob(str(root / "etc/ssh/ssh_host_*")):
        os.remove(key)
    # Empty machine-id: systemd makes a fresh one per VM at first boot.
    _write(root, "/etc/machine-id", "")


def _make_initrd(root):
    _chroot(root, "update-initramfs", "-u", "-k", "all")


def _extract_boot_files(root, work):
    kernels = sorted(glob.glob(str(root / "boot/vmlinuz-*")))
    initrds = sorted(glob.glob(str(root / "boot/initrd.img-*")))
    if len(kernels) != 1 or len(initrds) != 1:
        raise RuntimeError(f"expected one kernel and initrd, found {kernels} {initrds}")
    shutil.copyfile(kernels[0], work / "vmlinuz")
    shutil.copyfile(initrds[0], work / "initrd.img")


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
