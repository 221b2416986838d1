"""Machines through the web UI: login, ownership, quotas, what a request records."""
import pytest
from django.urls import reverse

from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(alice, keys):
    return VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=keys["ed25519"][0],
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool"})


def test_it_validates_ownership(client, bob, vm, keys):
    client.force_login(bob)
    for name in ("vms-detail", "vms-update", "vms-delete"):
        assert client.get(reverse(name, args=[vm.code])).status_code == 404
    for name in ("vms-update", "vms-delete", "vms-refresh", "vms-retry"):
        response = client.post(reverse(name, args=[vm.code]), {
            "instance_type": "t3.small", "ssh_public_key": keys["ecdsa"][0],
            "allowed_cidr": "0.0.0.0/0", "allow_anywhere": "on"})
        assert response.status_code == 404
    vm.refresh_from_db()
    assert vm.instance_type == "t3.micro" and not Deployment.objects.exists()


def test_create_records_machine_and_deployment(alice_client, alice, keys):
    response = alice_client.post(reverse("vms-create"), {
        "name": "dev", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    vm = VirtualMachine.objects.get(name="dev")
    assert response.status_code == 302 and response.url == vm.get_absolute_url()
    assert vm.owner == alice and vm.stack_name.startswith(f"vm-u{alice.pk}-")
    assert vm.deployments.get().action == "create"


def test_detail_shows_the_ssh_command(alice_client, vm):
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "ssh -p 2222 herocool@127.0.0.1" in page


def test_machine_count_quota(alice_client, vm, keys, settings):
    settings.QUOTA_VMS = 1
    response = alice_client.post(reverse("vms-create"), {
        "name": "second", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    assert "limit of 1 machines" in response.content.decode()
    assert VirtualMachine.objects.count() == 1


def test_memory_quota_on_update(alice_client, vm, keys, settings):
    settings.QUOTA_VM_MEMORY_MB = 600
    response = alice_client.post(reverse("vms-update", args=[vm.code]), {
        "instance_type": "t3.medium", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "203.0.113.7/32"})
    assert "the limit is 600 MB" in response.content.decode()
    vm.refresh_from_db()
    assert vm.instance_type == "t3.micro" and not vm.deployments.exists()


def test_update_changes_key_and_records_deployment(alice_client, vm, keys):
    response = alice_client.post(reverse("vms-update", args=[vm.code]), {
        "instance_type": "t3.micro", "ssh_public_key": keys["ecdsa"][0],
        "allowed_cidr": "203.0.113.7/32"})
    assert response.status_code == 302
    vm.refresh_from_db()
    assert vm.ssh_public_key == keys["ed25519"][0] and vm.status == Status.UPDATING
    assert vm.deployments.get().params["ssh_public_key"] == keys["ecdsa"][0]
