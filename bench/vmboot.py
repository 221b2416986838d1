"""Local VM boot to SSH: the v1 image booted the old way against today's, in one run.

Each round boots a fresh VM (a new overlay disk: a first boot, as for a new VM) of each
kind, one guest at a time, the order alternating between rounds so that a change in the
machine's load falls on both. Timed from qemu.start to sshd's banner on the forwarded
port (what the platform waits for before it calls a VM running), then to the first
login that runs a command with the VM's key. Prints each boot and the medians.

    .venv/bin/python bench/vmboot.py [--rounds 5] [--cache DIR] [--old-image DIR]
        [--variant NAME:IMAGE:CMDLINE ...]

"old" is the v1 image (initrd, virtio-blk, the full set of services) with the v1
command line, found as debian-12-herocool-v1 in the cache (any installation that ran
before has it) or given with --old-image; "new" is the current image, built first if
missing. --variant adds a kind: IMAGE is "old" or "new", CMDLINE the kernel command
line to use instead of that image's own (for measuring one step at a time). Needs QEMU;
no Django.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

from vms.localvm import qemu  # noqa: E402
from vms.localvm.image import LEGACY_IMAGE_NAME, USER, ensure_image, image_at  # noqa: E402

DEFAULT_CACHE = os.environ.get("HEROCOOL_VM_IMAGE_CACHE", str(BASE / "data" / "vm-images"))
BOOT_TIMEOUT = 600


def make_key(folder):
    path = Path(folder) / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, timeout=60)
    return path, path.with_suffix(".pub").read_text()


def login(port, key):
    return subprocess.run(
        ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-o", "ConnectTimeout=120", "-o", "LogLevel=ERROR", f"{USER}@127.0.0.1", "true"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def boot_once(image, cmdline, folder, key, public_key):
    """(seconds to the SSH banner, seconds to a first login) of one fresh VM."""
    vm_dir = Path(folder) / "vm"
    port = qemu.free_port()
    saved = qemu.CMDLINE, qemu.LEGACY_CMDLINE
    if cmdline:
        qemu.CMDLINE = qemu.LEGACY_CMDLINE = cmdline
    try:
        started = time.monotonic()
        qemu.start(vm_dir, image, ssh_port=port, authorized_key=public_key)
        qemu.wait_for_ssh(port, BOOT_TIMEOUT, vm_dir=vm_dir)
        banner = time.monotonic() - started
        done = login(port, key)
        if done.returncode != 0:
            raise RuntimeError(f"login failed: {done.stderr.strip()}")
        return banner, time.monotonic() - started
    finally:
        qemu.CMDLINE, qemu.LEGACY_CMDLINE = saved
        qemu.destroy(vm_dir)


def kinds(args):
    old_dir = Path(args.old_image or Path(args.cache) / LEGACY_IMAGE_NAME)
    if not (old_dir / "initrd.img").exists():
        sys.exit(f"no v1 image at {old_dir}: give --old-image")
    images = {"old": image_at(old_dir), "new": ensure_image(args.cache)}
    found = {"old": (images["old"], ""), "new": (images["new"], "")}
    for text in args.variant:
        name, which, cmdline = text.split(":", 2)
        found[name] = (images[which], cmdline)
    return found


def load():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--old-image")
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args()
    found = kinds(args)
    names = list(found)
    times = {name: [] for name in names}
    print(f"accel {' '.join(qemu.accel_args(found['new'][0].kernel))}; "
          f"load {load()} at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="vmboot-") as folder:
        key, public_key = make_key(folder)
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else names[::-1]
            for name in order:
                image, cmdline = found[name]
                banner, first_login = boot_once(image, cmdline, folder, key, public_key)
                times[name].append((banner, first_login))
                print(f"round {round_no + 1} {name:>10}: banner {banner:6.2f} s, "
                      f"login {first_login:6.2f} s (load {load()})", flush=True)
    report(times, args.rounds)


def report(times, rounds):
    print(f"\nmedians over {rounds} rounds (one guest at a time, alternating order):")
    base = statistics.median(b for b, _ in times["old"])
    for name, pairs in times.items():
        banner = statistics.median(b for b, _ in pairs)
        first_login = statistics.median(x for _, x in pairs)
        print(f"  {name:>10}: boot to SSH banner {banner:6.2f} s ({banner / base:.2f} of old), "
              f"to first login {first_login:6.2f} s")


if __name__ == "__main__":
    main()
