"""The `local` target for a VM: a QEMU machine on this host, reachable by SSH on a
loopback port. Outputs match the aws program's, plus ssh_port and state.

The guest's SSH is bound to 127.0.0.1 only, so spec.allowed_cidr has nothing to
narrow here.
"""
from typing import Callable

import pulumi

from .local_provider import LocalVm
from .spec import VmSpec

EXPORTS = ("public_ip", "public_dns", "ssh_port", "ssh_user", "instance_type", "state",
           "booted_at")


def program(spec: VmSpec, *, vms_root: str, image_cache: str) -> Callable[[], None]:
    def pulumi_program():
        vm = LocalVm(
            "vm",
            stack_name=spec.stack_name,
            vms_root=vms_root,
            image_cache=image_cache,
            authorized_key=spec.ssh_public_key,
            memory_mb=spec.memory_mb,
            vcpus=spec.vcpus,
            instance_type=spec.instance_type,
            power=spec.power,
            restarts=spec.restarts,
            user_data=spec.user_data,
            guest_uid=spec.guest_uid,
        )
        for name in EXPORTS:
            pulumi.export(name, getattr(vm, name))

    return pulumi_program
