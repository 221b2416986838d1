"""The AWS VM program, run against Pulumi's unit-test mocks (no AWS, no Django)."""
import warnings

import pytest

with warnings.catch_warnings():
    # pulumi_aws warns at import time about its own deprecated *V2 aliases.
    warnings.simplefilter("ignore", DeprecationWarning)
    from vms.programs import aws as aws_program
from stacks.tests import pulumi_mocks
from vms.programs.spec import VmSpec

GET_AMI = "aws:ec2/getAmi:getAmi"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
KEY_PAIR = "aws:ec2/keyPair:KeyPair"
INSTANCE = "aws:ec2/instance:Instance"
LOOKED_UP_AMI = "ami-0a1b2c3d4e5f60718"


class VmMocks(pulumi_mocks.RecordingMocks):
    def outputs(self, typ, name, inputs):
        extra = {}
        if typ == KEY_PAIR:
            extra["keyName"] = f"{name}-abc1234"  # AWS-side auto-name
        if typ == INSTANCE:
            extra = {"publicIp": "198.51.100.23",
                     "publicDns": "ec2-198-51-100-23.compute-1.amazonaws.com"}
        # IDs name their type, so a test can tell which resource got wired in.
        return f"{typ.rsplit(':', 1)[-1]}-{name}", extra

    def answer(self, token, args):
        if token == GET_AMI:
            return {"id": LOOKED_UP_AMI, "imageId": LOOKED_UP_AMI,
                    "name": "al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64"}
        return {}


@pytest.fixture
def mocks():
    return pulumi_mocks.install(VmMocks())


def deploy(spec):
    return pulumi_mocks.deploy(aws_program.program(spec))


def all_of(mocks, typ):
    return mocks.all_of(typ)


def only(mocks, typ):
    return mocks.only(typ)


def make_spec(**changes):
    fields = dict(
        stack_name="vm-u3-1a2b3c4d5e6f",
        owner="alice",
        instance_type="t3.micro",
        ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHerocoolTestKey alice@laptop",
        allowed_cidr="203.0.113.7/32",
        ami_id="ami-0pinned0000000001",
    )
    return VmSpec(**{**fields, **changes})


def test_declares_every_vm_resource(mocks):
    deploy(make_spec())
    declared = [t for t, _, _ in mocks.resources]
    for typ in (GROUP, INGRESS, EGRESS, KEY_PAIR, INSTANCE):
        assert declared.count(typ) == 1, typ


@pytest.mark.parametrize("cidr", ["203.0.113.7/32", "198.51.100.0/24"])
def test_ssh_open_only_on_port_22_from_allowed_cidr(mocks, cidr):
    deploy(make_spec(allowed_cidr=cidr))
    group_id = f"SecurityGroup-{make_spec().stack_name}"
    [rule] = all_of(mocks, INGRESS)  # no other way in
    assert rule["securityGroupId"] == group_id
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 22, 22)
    assert rule["cidrIpv4"] == cidr
    assert "cidrIpv6" not in rule
    # Inline rules would fight the rule resources and could open more.
    assert "ingress" not in only(mocks, GROUP)


def test_ipv6_allowed_cidr_goes_to_cidr_ipv6(mocks):
    deploy(make_spec(allowed_cidr="2001:db8::7/128"))
    rule = only(mocks, INGRESS)
    assert rule["cidrIpv6"] == "2001:db8::7/128"
    assert "cidrIpv4" not in rule


def test_explicit_egress_allows_all_outbound(mocks):
    deploy(make_spec())
    rule = only(mocks, EGRESS)
    assert rule["securityGroupId"] == f"SecurityGroup-{make_spec().stack_name}"
    assert rule["ipProtocol"] == "-1"
    assert rule["cidrIpv4"] == "0.0.0.0/0"


def test_key_pair_carries_spec_key(mocks):
    spec = make_spec()
    deploy(spec)
    assert only(mocks, KEY_PAIR)["publicKey"] == spec.ssh_public_key


def test_instance_type_wiring_and_tags(mocks):
    spec = make_spec(instance_type="t3.small", owner="bob")
    deploy(spec)
    instance = only(mocks, INSTANCE)
    assert instance["instanceType"] == "t3.small"
    assert instance["ami"] == spec.ami_id
    assert instance["keyName"] == f"{spec.stack_name}-abc1234"
    assert instance["vpcSecurityGroupIds"] == [f"SecurityGroup-{spec.stack_name}"]
    assert instance["associatePublicIpAddress"] is True
    assert instance["tags"] == {"Name": spec.stack_name, "herocool:owner": "bob",
                                "herocool:stack": spec.stack_name}


def test_pinned_ami_skips_the_lookup(mocks):
    exports = deploy(make_spec(ami_id="ami-0pinned0000000001"))
    assert [token for token, _ in mocks.calls if token == GET_AMI] == []
    assert only(mocks, INSTANCE)["ami"] == "ami-0pinned0000000001"
    assert exports["ami_id"] == "ami-0pinned0000000001"


def test_empty_ami_looks_up_amazon_linux_2023(mocks):
    exports = deploy(make_spec(ami_id=""))
    [args] = [args for token, args in mocks.calls if token == GET_AMI]
    assert args["owners"] == ["amazon"]
    assert args["mostRecent"] is True
    filters = {f["name"]: f["values"] for f in args["filters"]}
    assert filters == {"name": ["al2023-ami-2023.*-x86_64"], "architecture": ["x86_64"],
                       "virtualization-type": ["hvm"]}
    assert only(mocks, INSTANCE)["ami"] == LOOKED_UP_AMI
    assert exports["ami_id"] == LOOKED_UP_AMI  # so the caller can pin it


def test_exports_connection_details(mocks):
    spec = make_spec()
    exports = deploy(spec)
    assert exports["public_ip"] == "198.51.100.23"
    assert exports["public_dns"] == "ec2-198-51-100-23.compute-1.amazonaws.com"
    assert exports["instance_type"] == "t3.micro"
    assert exports["key_name"] == f"{spec.stack_name}-abc1234"
    assert exports["ssh_user"] == "ec2-user"


def test_no_region_is_hard_coded(mocks):
    deploy(make_spec(ami_id=""))
    assert all("region" not in inputs for _, _, inputs in mocks.resources)
    assert all(args.get("region") is None for _, args in mocks.calls)


INSTANCE_STATE = "aws:ec2transitgateway/instanceState:InstanceState"


def test_first_boot_script_is_the_instance_user_data(mocks):
    script = "#!/bin/sh\necho hello > /tmp/hello\n"
    deploy(make_spec(user_data=script))
    assert only(mocks, INSTANCE)["userData"] == script
    # Never a replacement of the machine (and its disk) for a changed script.
    assert not only(mocks, INSTANCE).get("userDataReplaceOnChange")


def test_no_first_boot_script_sends_no_user_data(mocks):
    deploy(make_spec())
    assert "userData" not in only(mocks, INSTANCE)


@pytest.mark.parametrize("power", ["running", "stopped"])
def test_power_is_the_instance_state_and_is_exported(mocks, power):
    spec = make_spec(power=power)
    exports = deploy(spec)
    state = only(mocks, INSTANCE_STATE)
    assert state["instanceId"] == f"Instance-{spec.stack_name}"
    assert state["state"] == power
    assert not state.get("force")  # a clean stop: the file systems are flushed
    assert exports["state"] == power
