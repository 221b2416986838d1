#!/usr/bin/env python3
"""Build (once) the Debian image that local VMs boot, and print where it is.

Usage: build_vm_image.py [CACHE_DIR]   (default: $HEROCOOL_VM_IMAGE_CACHE or data/vm-images)
Needs root, debootstrap, e2fsprogs and network access to the Debian mirror.
"""
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from vms.localvm.image import build_seconds  # noqa: E402


def main(argv):
    default = os.environ.get("HEROCOOL_VM_IMAGE_CACHE", str(BASE_DIR / "data" / "vm-images"))
    cache_dir = argv[1] if len(argv) > 1 else default
    paths, seconds = build_seconds(cache_dir)
    print(f"rootfs: {paths.rootfs}")
    print(f"kernel: {paths.kernel}")
    print(f"initrd: {paths.initrd or '(none: the kernel boots straight onto the disk)'}")
    print(f"seconds: {seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
