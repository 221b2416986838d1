"""Machine quotas (count, memory per user, memory per host) on every path: the form,
preview-then-apply, retry, and across accounts."""
import pytest
from django.urls import reverse

from stacks import services
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db


def machine(owner, keys, name, instance_type="t3.micro", status=Status.LIVE, host=None):
    return VirtualMachine.objects.create(
        owner=owner, name=name, instance_type=instance_type, target="local",
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=status,
        host=host)


def test_applying_an_old_preview_cannot_pass_the_memory_quota(alice, keys, settings):
    settings.QUOTA_VM_MEMORY_MB = 1280  # t3.micro is 512 MB here, t3.medium 1024 MB
    box = machine(alice, keys, "box")
    preview = Deployment.objects.create(
        resource=box, owner=alice, action="preview", stack_name=box.stack_name,
        status="succeeded", params={**box.proposed(), "instance_type": "t3.medium"})
    machine(alice, keys, "second")  # the quota fills after the preview
    with pytest.raises(services.DeploymentRefused, match="limit is 1280 MB"):
        services.apply_preview(preview, alice)
    box.refresh_from_db()
    assert box.instance_type == "t3.micro" and box.status == Status.LIVE
    assert not box.deployments.filter(action="update").exists()


def test_the_host_memory_cap_holds_across_accounts(client, alice, bob, keys, this_host):
    type(this_host).objects.filter(pk=this_host.pk).update(vm_memory_mb=1024)
    machine(alice, keys, "a1", host=this_host)
    machine(alice, keys, "a2", host=this_host)
    client.force_login(bob)
    response = client.post(reverse("vms-create"), {
        "name": "b1", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    assert "No host has room for that machine now" in response.content.decode()
    assert not VirtualMachine.objects.filter(owner=bob).exists()



@pytest.mark.django_db(transaction=True)
def test_local_machine_quota_checks_stay_host_wide(alice, bob, keys):
    """The host's memory cap counts every owner's machines: their checks take turns."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    from stacks.tests.locks import can_lock_quotas_now, quota_locks_held

    with quota_locks_held(machine(alice, keys, "a1")):
        assert not can_lock_quotas_now(machine(bob, keys, "b1"))
        aws = machine(bob, keys, "b2")
        aws.target = "aws"
        assert can_lock_quotas_now(aws)  # no host-wide limit on AWS machines
