"""Pulumi program for a VM on AWS: one EC2 instance reachable by SSH.

Written for pulumi-aws 7. No region is set here: the engine puts aws:region
into the stack config. The instance lands in the region's default VPC.
"""
import ipaddress
from typing import Callable

import pulumi
import pulumi_aws as aws

from .spec import VmSpec

SSH_USER = "ec2-user"  # the login user baked into Amazon Linux images
AL2023_FILTERS = [
    # "-x86_64" at the end excludes the arm64 builds; "al2023-ami-2023" (not
    # "al2023-ami-minimal") picks the standard image.
    {"name": "name", "values": ["al2023-ami-2023.*-x86_64"]},
    {"name": "architecture", "values": ["x86_64"]},
    {"name": "virtualization-type", "values": ["hvm"]},
]


def _tags(spec: VmSpec) -> dict:
    # Tags let an operator trace any AWS object back to its owner and stack.
    return {"herocool:owner": spec.owner, "herocool:stack": spec.stack_name}


def _ami_id(spec: VmSpec) -> str:
    """The pinned image, or today's Amazon Linux 2023 for a first deployment."""
    if spec.ami_id:
        # A pinned image means a newer Amazon release never replaces the VM.
        return spec.ami_id
    # pulumi-aws 7 insists on owners whenever most_recent is set, so a
    # look-alike image published by someone else cannot be picked.
    ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"], filters=AL2023_FILTERS)
    return ami.id


def _ssh_source(cidr: str) -> dict:
    # The rule resources take IPv4 and IPv6 ranges in different arguments.
    if ipaddress.ip_network(cidr, strict=False).version == 6:
        return {"cidr_ipv6": cidr}
    return {"cidr_ipv4": cidr}


def _security_group(spec: VmSpec) -> aws.ec2.SecurityGroup:
    # Rules are separate vpc.* resources, not inline ingress/egress: that is
    # the provider's documented practice, and each rule gets its own ID.
    group = aws.ec2.SecurityGroup(
        spec.stack_name,
        description=f"SSH for {spec.stack_name}",
        tags=_tags(spec),
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{spec.stack_name}-ssh",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        description="SSH from the owner's network only",
        tags=_tags(spec),
        **_ssh_source(spec.allowed_cidr),
    )
    # A group managed through rule resources has no egress until one is
    # declared; the VM needs outbound access for package updates.
    aws.vpc.SecurityGroupEgressRule(
        f"{spec.stack_name}-egress",
        security_group_id=group.id,
        ip_protocol="-1",
        cidr_ipv4="0.0.0.0/0",
        description="All outbound traffic",
        tags=_tags(spec),
    )
    return group


def _declare(spec: VmSpec) -> None:
    ami_id = _ami_id(spec)
    group = _security_group(spec)
    key = aws.ec2.KeyPair(
        spec.stack_name,
        public_key=spec.ssh_public_key,
        tags=_tags(spec),
    )
    instance = aws.ec2.Instance(
        spec.stack_name,
        ami=ami_id,
        instance_type=spec.instance_type,
        key_name=key.key_name,
        vpc_security_group_ids=[group.id],
        associate_public_ip_address=True,
        # IMDSv2 only: stops SSRF-style reads of instance credentials.
        metadata_options={"http_tokens": "required"},
        # The first-boot script: cloud-init runs it once. Set at create only (the
        # record never changes it), so it never stops or replaces the instance.
        user_data=spec.user_data or None,
        tags={"Name": spec.stack_name, **_tags(spec)},
    )
    # Power controls (issue #19): stopped keeps the instance and its EBS disk.
    power = aws.ec2transitgateway.InstanceState(
        spec.stack_name,
        instance_id=instance.id,
        state=spec.power,
    )
    pulumi.export("public_ip", instance.public_ip)
    pulumi.export("public_dns", instance.public_dns)
    pulumi.export("instance_type", instance.instance_type)
    pulumi.export("key_name", key.key_name)
    # The caller pins this into the spec so later updates reuse the image.
    pulumi.export("ami_id", ami_id)
    pulumi.export("ssh_user", SSH_USER)
    pulumi.export("state", power.state)


def program(spec: VmSpec) -> Callable[[], None]:
    """Return an inline Pulumi program that runs one VM for spec."""
    return lambda: _declare(spec)
