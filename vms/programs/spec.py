"""What a VM program needs to know: plain data, no Django."""
from dataclasses import dataclass


@dataclass(frozen=True)
class VmSpec:
    stack_name: str  # stable, e.g. "vm-u3-1a2b3c4d5e6f"
    owner: str  # the owner's username, for tags
    instance_type: str  # e.g. "t3.micro" (aws) or "local.small" (local)
    ssh_public_key: str  # one OpenSSH public key line, already validated
    allowed_cidr: str  # who may reach SSH, e.g. "203.0.113.7/32"
    ami_id: str = ""  # aws: pinned once chosen, so an update never swaps the image
    memory_mb: int = 512  # local: guest memory
    vcpus: int = 1  # local: guest CPUs
    power: str = "running"  # "stopped": shut down, disk kept (issue #19)
    restarts: int = 0  # a change restarts the machine (a reboot)
    user_data: str = ""  # a first-boot script, run once ("" for none)
    guest_uid: int = 0  # local: the uid QEMU drops to, for the network boundary; 0: none
