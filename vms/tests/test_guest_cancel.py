"""A VM create cancelled while QEMU boots leaves nothing running: not the guest, not the
Pulumi provider process; a destroy afterwards leaves nothing either (issue 10, finding 3).

A real forking RQ worker runs the create; the real engine, QEMU (TCG), PostgreSQL and
Redis do the rest. The cancel comes while the guest boots, long before SSH answers."""
import pytest
from django.urls import reverse

from conftest import wait_for
from stacks.models import Status
from vms.localvm import owner, qemu
from vms.models import VirtualMachine

from .guests import kill_everything, port_is_closed, providers_under, ssh_port_of, still_alive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vms_root(settings, tmp_path, monkeypatch):
    """This test's guests' root, also for the worker process (set before it starts)."""
    settings.VMS_ROOT = tmp_path / "vms"
    monkeypatch.setenv("HEROCOOL_VMS_ROOT", str(settings.VMS_ROOT))
    started = []
    yield settings.VMS_ROOT, started
    kill_everything(settings.VMS_ROOT, started)


@pytest.fixture
def vm_worker(vms_root, slow_worker):
    return slow_worker


def test_a_create_cancelled_while_booting_leaves_no_guest_then_delete_leaves_nothing(
        alice_client, keys, vms_root, vm_worker):
    root, started = vms_root
    alice_client.post(reverse("vms-create"), {
        "name": "dev", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    vm = VirtualMachine.objects.get(name="dev")
    deployment = vm.deployments.get()
    vm_dir = root / vm.stack_name

    def guest_booting():
        """QEMU to start booting the guest (daemonised: its pid file written)"""
        return qemu.is_running(vm_dir) and qemu._read_pid(vm_dir.resolve())

    qemu_pid = wait_for(guest_booting, timeout=180)
    providers = providers_under(vm_worker.pid)
    started += [qemu_pid, *providers]
    assert providers, "the engine should have started the VM's provider process"
    port = ssh_port_of(qemu_pid)
    assert not qemu._ssh_banner(port), "the cancel must come while the guest boots"

    alice_client.post(reverse("stacks-deployment-cancel", args=[deployment.code]))

    assert still_alive([qemu_pid, *providers], timeout=60) == []

    def cancel_done():
        """the cancel to finish (the job gone, the stack unlocked)"""
        deployment.refresh_from_db()
        return deployment.status == "cancelled" and "the stack was unlocked" in deployment.full_log()

    wait_for(cancel_done, timeout=120)
    assert port_is_closed(port)
    assert owner.running_guests(root) == {} and not vm_dir.exists()
    vm.refresh_from_db()
    assert vm.status == Status.FAILED and vm.outputs == {}

    # (c) A destroy now (the stack never recorded a guest) leaves nothing running either.
    alice_client.post(reverse("vms-delete", args=[vm.code]))

    def deleted():
        """the destroy to finish"""
        vm.refresh_from_db()
        return vm.status == Status.DELETED

    wait_for(deleted, timeout=120)
    assert owner.running_guests(root) == {} and not vm_dir.exists()
    assert providers_under(vm_worker.pid) == []
