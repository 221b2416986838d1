"""A machine's whole life on the local target: the real engine, a real RQ worker, a real
QEMU guest reached over SSH."""
import os
import socket
import subprocess

import pytest
from django.urls import reverse

from vms.localvm import owner, qemu
from vms.models import VirtualMachine
from stacks.models import Status

from .guests import providers_under, still_alive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh_keys(tmp_path):
    def make(name):
        path = tmp_path / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                       check=True, timeout=30)
        return path, (tmp_path / f"{name}.pub").read_text().strip()

    return make


def ssh(key, port, command="uname -a"):
    return subprocess.run(
        ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=20", "herocool@127.0.0.1", command],
        capture_output=True, text=True, timeout=90)


def port_is_closed(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_create_ssh_update_key_delete(alice_client, fresh_keys, run_jobs, settings,
                                      tmp_path):
    settings.VMS_ROOT = tmp_path / "vms"
    old_key, old_public = fresh_keys("old")
    new_key, new_public = fresh_keys("new")
    alice_client.post(reverse("vms-create"), {
        "name": "dev", "instance_type": "t3.micro", "ssh_public_key": old_public,
        "allowed_cidr": "127.0.0.1/32"})
    vm = VirtualMachine.objects.get(name="dev")
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.LIVE, vm.last_error + vm.deployments.get().full_log()[-2000:]
    port = vm.outputs["ssh_port"]
    assert vm.ssh_command == f"ssh -p {port} herocool@127.0.0.1"
    done = ssh(old_key, port)
    assert done.returncode == 0 and done.stdout.startswith("Linux"), done.stderr

    alice_client.post(reverse("vms-update", args=[vm.code]), {
        "instance_type": "t3.micro", "ssh_public_key": new_public,
        "allowed_cidr": "127.0.0.1/32"})
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.LIVE, vm.last_error
    port = vm.outputs["ssh_port"]
    assert ssh(old_key, port).returncode != 0  # the old key is refused now
    assert ssh(new_key, port).returncode == 0

    vm_dir = settings.VMS_ROOT / vm.stack_name
    alice_client.post(reverse("vms-delete", args=[vm.code]))
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.DELETED
    assert not qemu.is_running(vm_dir) and not vm_dir.exists()
    assert port_is_closed(port)
    # Nothing else left running: no guest under the root, no provider process.
    assert owner.running_guests(settings.VMS_ROOT) == {}
    assert still_alive(providers_under(os.getpid()), timeout=10) == []


def test_refresh_sees_a_machine_that_died(alice_client, fresh_keys, run_jobs, settings,
                                          tmp_path):
    settings.VMS_ROOT = tmp_path / "vms"
    _, public = fresh_keys("k")
    alice_client.post(reverse("vms-create"), {
        "name": "crashy", "instance_type": "t3.micro", "ssh_public_key": public,
        "allowed_cidr": "127.0.0.1/32"})
    run_jobs()
    vm = VirtualMachine.objects.get(name="crashy")
    assert vm.status == Status.LIVE, vm.last_error
    qemu.stop(settings.VMS_ROOT / vm.stack_name)  # as a host reboot would
    alice_client.post(reverse("vms-refresh", args=[vm.code]))
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.FAILED and "not running" in vm.last_error
    alice_client.post(reverse("vms-delete", args=[vm.code]))
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.DELETED
