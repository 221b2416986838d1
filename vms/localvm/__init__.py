"""Local VMs: a cached Debian image (image.py) booted by a daemonized QEMU (qemu.py).

Pure Python with no Django or Pulumi imports, so the Pulumi provider process can use it.
"""
