"""What the image's guest runs at boot: the files, units and masks of the recipe.

Each choice is about an emulated (TCG) guest on a shared host, where every process
start and every unit costs real seconds: sshd and what it needs start first, beside
the rest of the boot rather than after it, and what a small VM never uses is masked.
image.py builds this into the image; a change here needs a new IMAGE_NAME there.
"""
SUITE = "bookworm"
USER = "herocool"
FW_CFG_KEY_NAME = "opt/herocool/authorized_keys"
FW_CFG_USER_DATA_NAME = "opt/herocool/user_data"
FIRST_BOOT_DONE = "/var/lib/herocool/first-boot.done"
NETWORK_SCRIPT = "/usr/local/lib/herocool/network.ip"

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

# The user's first-boot script (issue #19), handed in by fw_cfg like the key: run once,
# as root, at the first boot that has one, its output on the serial console (the
# machine page shows it). The marker is written first, so a script that reboots or
# hangs the guest never runs twice.
FIRST_BOOT_SCRIPT = f"""#!/bin/sh
src=/sys/firmware/qemu_fw_cfg/by_name/{FW_CFG_USER_DATA_NAME}/raw
[ -e {FIRST_BOOT_DONE} ] && exit 0
mkdir -p /var/lib/herocool
: > {FIRST_BOOT_DONE}
[ -r "$src" ] || exit 0
install -m 0700 "$src" /var/lib/herocool/user-data
echo "herocool: running the first-boot script"
/var/lib/herocool/user-data
echo "herocool: the first-boot script exited with status $?"
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
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"ExecStart=/sbin/ip -batch {NETWORK_SCRIPT}\n\n"
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
    # and the journal's socket: it starts beside the rest of the boot (udev's coldplug,
    # tmpfiles, utmp, ...) rather than after all of it. Debian's unit first checks the
    # configuration in a second sshd: one more process start on the way to the banner.
    "/etc/systemd/system/ssh.service.d/herocool.conf": (
        "[Unit]\nDefaultDependencies=no\n"
        "After=systemd-journald.socket herocool-ssh-keys.service\n"
        "Conflicts=shutdown.target\nBefore=shutdown.target\n\n"
        "[Service]\nExecStartPre=\n"),
    "/etc/systemd/system/herocool-first-boot.service": (
        "[Unit]\nDescription=The user's first-boot script (once)\n"
        "After=network.target herocool-network.service ssh.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/local/sbin/herocool-first-boot\n"
        "StandardOutput=tty\nStandardError=tty\nTTYPath=/dev/ttyS0\n"
        "TTYReset=no\nTTYVHangup=no\nTimeoutStartSec=infinity\n\n"
        "[Install]\nWantedBy=multi-user.target\n"),
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
