"""Local VMs: a cached Debian image (image.py) booted by a daemonized QEMU (qemu.py),
each guest's directory private (files.py) and naming its owner (owner.py).

Pure Python with no Django or Pulumi imports, so the Pulumi provider process can use it.
"""
