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

# Bump whenever the recipe below changes: existing overlays keep their old backing file.
IMAGE_NAME = "debian-12-herocool-v2"
LEGACY_IMAGE_NAME = "debian-12-herocool-v1"  # initrd + virtio-blk; still bootable
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
NETWORK_SCRIPT = "/usr/local/lib/herocool/network.ip"
FW_CFG_KEY_NAME = "opt/herocool/authorized_keys"
DEBOOTSTRAP_TIMEOUT = 1800
STEP_TIMEOUT = 600


@dataclass(frozen=True)
class ImagePaths:
    rootfs: str
    kernel: str
    initrd: str = ""  # "": boot straight onto the NVMe root (v2); else the v1 way


def _paths(image_dir):
    image_dir = Path(image_dir)
    initrd = image_dir / "initrd.img"
    return ImagePaths(rootfs=str(image_dir / "rootfs.raw"),
                      kernel=str(image_dir / "vmlinuz"),
                      initrd=str(initrd) if initrd.exists() else "")


def image_at(image_dir) -> ImagePaths:
    """The paths of an already built image directory (any recipe): for benchmarks."""
    return _paths(image_dir)


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


# One script (each process start is dear in an emulated guest), run before sshd:
# 1. Host keys, made at first boot so that no two VMs share them. No RSA key: making
#    one takes ~10 s of an emulated (non-KVM) first boot.
# 2. The SSH key handed in by QEMU fw_cfg at this boot, replacing any older one: the
#    platform changes a VM's key by restarting it with a new fw_cfg entry. The
#    qemu_fw_cfg module is loaded by systemd-modules-load, which this runs after.
SSH_KEYS_SCRIPT = f"""#!/bin/sh
set -eu
for type in ed25519 ecdsa; do
  key=/etc/ssh/ssh_host_${{type}}_key
  [ -s "$key" ] || {{ rm -f "$key" "$key.pub"; ssh-keygen -q -t "$type" -N "" -f "$key"; }}
done
src=/sys/firmware/qemu_fw_cfg/by_name/{FW_CFG_KEY_NAME}/raw
dest=/etc/ssh/authorized_keys/{USER}
umask 022
if [ -r "$src" ]; then cat "$src" > "$dest.new"; else : > "$dest.new"; fi
mv -f "$dest.new" "$dest"
"""

FILES = {
    "/etc/hostname": "herocool-vm\n",
    "/etc/hosts": "127.0.0.1 localhost\n127.0.1.1 herocool-vm\n::1 localhost ip6-localhost\n",
    # No line for /: the kernel mounts it read-write (root=... rw), so nothing waits for
    # the root device, checks it or remounts it.
    "/etc/fstab": "# / is mounted read-write by the kernel: see the VM's command line\n",
    # QEMU user networking always gives the guest 10.0.2.15: set it statically in one
    # process instead of waiting for udev and DHCP (net.ifnames=0 keeps the name eth0).
    NETWORK_SCRIPT: ("link set eth0 up\naddr add 10.0.2.15/24 dev eth0\n"
                     "route add default via 10.0.2.2\n"),
    "/etc/systemd/system/herocool-network.service": (
        "[Unit]\nDescription=Address on QEMU's user network\nDefaultDependencies=no\n"
        "After=systemd-modules-load.service\nBefore=network.target\nWants=network.target\n\n"
        f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/sbin/ip -batch {NETWORK_SCRIPT}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"),
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
    # Loaded at once rather than when udev's coldplug reaches them: the NIC and the key.
    "/etc/modules-load.d/herocool.conf": "qemu_fw_cfg\nvirtio_pci\nvirtio_net\n",
    # sshd needs only the root filesystem (mounted read-write by the kernel), its keys
    # and the journal's socket: it starts
    # beside the rest of the boot (udev's coldplug, tmpfiles, utmp, ...) rather than
    # after all of it. Debian's unit first checks the configuration in a second sshd:
    # a whole process start (and host key load) more on the way to the first login.
    "/etc/systemd/system/ssh.service.d/herocool.conf": (
        "[Unit]\nDefaultDependencies=no\n"
        "After=systemd-journald.socket herocool-ssh-keys.service\n"
        "Conflicts=shutdown.target\nBefore=shutdown.target\n\n"
        "[Service]\nExecStartPre=\n"),
    "/etc/systemd/journald.conf.d/herocool.conf": "[Journal]\nSystemMaxUse=64M\n",
    "/etc/systemd/system/herocool-ssh-keys.service": (
        "[Unit]\nDescription=SSH host keys, and the user's key from QEMU fw_cfg\n"
        "DefaultDependencies=no\nBefore=ssh.service\nAfter=systemd-modules-load.service\n\n"
        "[Service]\nType=oneshot\nNice=-5\nExecStart=/usr/local/sbin/herocool-ssh-keys\n\n"
        "[Install]\nWantedBy=ssh.service\n"),
    # udev's coldplug (every device's rules and modules) is the biggest piece of work
    # at boot, and nothing on the way to sshd needs it: it yields the CPU to that way.
    "/etc/systemd/system/systemd-udevd.service.d/herocool.conf": "[Service]\nNice=19\n",
    # The emulated CPU offers AMD-V/VT-x and PowerNow: nested KVM under emulation is of no
    # use, and loading these modules costs seconds of an emulated boot.
    "/etc/modprobe.d/herocool.conf": (
        "blacklist kvm\nblacklist kvm_amd\nblacklist kvm_intel\nblacklist powernow_k8\n"
        "blacklist pcspkr\n"),
    # /run/nologin ("System is booting up") turns logins away until the whole boot is
    # done; sshd answers well before that now, so the platform's "running" would meet a
    # refused login. A one-user VM has no reason for that window.
    "/etc/tmpfiles.d/systemd-nologin.conf": None,
    # Logins need logind (and it D-Bus), the banner does not: they start once sshd is
    # up instead of taking the one emulated CPU from it.
    "/etc/systemd/system/systemd-logind.service.d/herocool.conf": "[Unit]\nAfter=ssh.service\n",
    # No docs or man pages for packages the user installs later either.
    "/etc/dpkg/dpkg.cfg.d/01-nodoc": (
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n"),
}


# Every unit costs an emulated guest real time at boot, and these serve nothing here:
# periodic jobs (apt has no network), mounts and module loads for hardware or features
# a small VM lacks (no EFI, no display, no FUSE, no device mapper), and gettys on
# consoles nobody can type on (the serial console goes to a file).
MASKED_UNITS = [
    "e2scrub_reap.service", "e2scrub_all.timer", "apt-daily.timer", "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "dev-hugepages.mount", "dev-mqueue.mount", "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount", "sys-kernel-config.mount", "sys-fs-fuse-connections.mount",
    "kmod-static-nodes.service", "systemd-pstore.service",
    "modprobe@configfs.service", "modprobe@dm_mod.service", "modprobe@drm.service",
    "modprobe@efi_pstore.service", "modprobe@fuse.service", "modprobe@loop.service",
    "getty@tty1.service", "serial-getty@ttyS0.service",
]
# systemd runs every generator before it starts anything: these find encrypted, verity,
# GPT-discovered or hibernated disks, SysV scripts (each has a native unit here) and
# gettys (masked above), none of which a VM of this image has.
MASKED_GENERATORS = [
    "systemd-cryptsetup-generator", "systemd-gpt-auto-generator",
    "systemd-hibernate-resume-generator", "systemd-integritysetup-generator",
    "systemd-veritysetup-generator", "systemd-sysv-generator", "systemd-getty-generator",
]


def _configure(root):
    for path, text in FILES.items():
        if text is None:  # masked: a link to /dev/null overrides the packaged file
            _mask(root, path)
            continue
        _write(root, path, text, 0o440 if path.startswith("/etc/sudoers.d/") else 0o644)
    _write(root, "/usr/local/sbin/herocool-ssh-keys", SSH_KEYS_SCRIPT, 0o755)
    (root / "etc/ssh/authorized_keys").mkdir(exist_ok=True)
    _chroot(root, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", USER)
    # '*' (not a locked '!') so PAM still admits key logins while no password works.
    _chroot(root, "usermod", "--password", "*", USER)
    _chroot(root, "systemctl", "enable", "herocool-network", "herocool-ssh-keys")
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
