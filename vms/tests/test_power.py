"""Power controls, the console and the first-boot script through the web UI (issue #19),
without a guest: what a request records, who may ask, what the page shows."""
import os
import socket
import threading
import time

import pytest
from django.test import Client
from django.urls import reverse

from stacks.models import Deployment, Status
from vms.forms import VmCreateForm
from vms.localvm import console, qemu
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
RUNNING = {"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool",
           "state": "running", "booted_at": "2026-01-02T03:04:05+00:00"}


def machine(owner, keys, name="box", power="running", outputs=None, **fields):
    return VirtualMachine.objects.create(
        owner=owner, name=name, instance_type="t3.micro", target="local",
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=Status.LIVE,
        power=power, outputs=outputs or RUNNING, **fields)


def power(client, vm, action):
    return client.post(reverse(f"vms-{action}", args=[vm.code]), follow=True)


@pytest.mark.parametrize("action, params", [
    ("stop", {"power": "stopped", "power_action": "stop"}),
    ("reboot", {"power": "running", "restarts": 1, "power_action": "reboot"}),
])
def test_a_power_action_records_an_update_deployment_naming_it(alice_client, alice, keys,
                                                               action, params):
    vm = machine(alice, keys)
    power(alice_client, vm, action)
    deployment = vm.deployments.get()
    assert deployment.action == Deployment.Action.UPDATE and deployment.params == params
    assert deployment.requested_by == alice
    vm.refresh_from_db()
    assert vm.status == Status.UPDATING  # the record changes only when it succeeds
    assert vm.power == "running" and vm.restarts == 0


def test_start_records_running(alice_client, alice, keys):
    vm = machine(alice, keys, power="stopped", outputs={**RUNNING, "state": "stopped"})
    power(alice_client, vm, "start")
    assert vm.deployments.get().params == {"power": "running", "power_action": "start"}


def test_power_actions_validate_ownership(client, alice, bob, keys):
    vm = machine(alice, keys)
    client.force_login(bob)
    for action in ("stop", "start", "reboot"):
        assert power(client, vm, action).status_code == 404
    assert client.get(reverse("vms-console", args=[vm.code])).status_code == 404
    assert not Deployment.objects.exists()


def test_power_needs_a_login_and_a_post(alice_client, alice, keys):
    vm = machine(alice, keys)
    url = reverse("vms-stop", args=[vm.code])
    assert Client().post(url).status_code == 302  # to the login page
    assert alice_client.get(url).status_code == 405
    assert alice_client.post(f"/vms/{vm.code}/halt/").status_code == 404
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("action, state, message", [
    ("stop", "stopped", "is already stopped"),
    ("start", "running", "is already running"),
    ("reboot", "stopped", "is stopped: start it instead"),
])
def test_a_power_action_that_makes_no_sense_is_refused(alice_client, alice, keys, action,
                                                       state, message):
    vm = machine(alice, keys, power=state, outputs={**RUNNING, "state": state})
    assert message in power(alice_client, vm, action).content.decode()
    assert not Deployment.objects.exists()


def test_a_stopped_machine_takes_no_memory_and_starting_it_checks_the_cap(
        alice_client, alice, keys, settings):
    settings.QUOTA_VM_MEMORY_MB = 1024  # two t3.micro (512 MB each)
    stopped = machine(alice, keys, "off", power="stopped",
                      outputs={**RUNNING, "state": "stopped"})
    machine(alice, keys, "on1")
    machine(alice, keys, "on2")  # fits only because "off" is stopped
    assert stopped.memory_taken_mb == 0
    page = power(alice_client, stopped, "start").content.decode()
    assert "the limit is 1024 MB" in page
    assert not Deployment.objects.exists()


def test_the_page_shows_state_uptime_buttons_and_the_escaped_console(alice_client, alice,
                                                                     keys, settings,
                                                                     tmp_path):
    settings.VMS_ROOT = tmp_path
    vm = machine(alice, keys)
    vm_dir = tmp_path / vm.stack_name
    vm_dir.mkdir()
    (vm_dir / "console.log").write_text("booted\n<script>alert(1)</script>\n")
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "The machine is running, up " in page and 'id="power-stop"' in page
    assert "its disk stays" in page  # what Stop will do
    assert 'data-copy="ssh -p 2222 herocool@127.0.0.1"' in page
    shown = alice_client.get(reverse("vms-console", args=[vm.code]))
    assert shown["Content-Type"] == "text/plain; charset=utf-8"
    assert shown.content.decode().endswith("<script>alert(1)</script>\n")


def test_a_stopped_machine_shows_no_ssh_command_and_offers_start(alice_client, alice, keys):
    vm = machine(alice, keys, power="stopped", outputs={**RUNNING, "state": "stopped"})
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert 'id="ssh-command"' not in page and 'id="power-start"' in page
    assert 'id="power-stop"' not in page


def test_a_booting_machine_shows_no_ssh_command(alice_client, alice, keys):
    vm = machine(alice, keys, outputs={})
    VirtualMachine.objects.filter(pk=vm.pk).update(status=Status.PROVISIONING)
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert 'id="booting"' in page and 'id="ssh-command"' not in page
    assert 'data-follow="yes"' in page  # the console follows the boot


def test_a_cloud_machine_offers_no_reboot_and_refuses_one(alice_client, alice, keys):
    vm = machine(alice, keys)
    VirtualMachine.objects.filter(pk=vm.pk).update(target="aws")
    vm.refresh_from_db()
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert 'id="power-stop"' in page and 'id="power-reboot"' not in page
    assert "stop it, then start it" in power(alice_client, vm, "reboot").content.decode()
    assert not Deployment.objects.exists()


def test_a_stopped_machine_as_asked_is_live_and_one_found_stopped_has_failed(alice, keys):
    asked = machine(alice, keys, "asked", power="stopped")
    crashed = machine(alice, keys, "crashed")
    assert asked.outcome({"state": "stopped"}) == (Status.LIVE, "")
    assert crashed.outcome({"state": "stopped"})[0] == Status.FAILED


# --- the first-boot script on the form -----------------------------------------------
def create_form(alice, keys, script):
    return VmCreateForm(data={"name": "dev", "instance_type": "t3.micro",
                              "ssh_public_key": keys["ed25519"][0],
                              "allowed_cidr": "127.0.0.1/32", "user_data": script},
                        owner=alice)


def test_a_first_boot_script_is_optional_and_kept_with_unix_line_ends(alice, keys):
    assert create_form(alice, keys, "").is_valid()
    form = create_form(alice, keys, "#!/bin/sh\r\necho hi\r\n")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["user_data"] == "#!/bin/sh\necho hi"


@pytest.mark.parametrize("script, message", [
    ("echo hi", "starts with #!"),
    ("#!/bin/sh\n" + "x" * 16384, "the limit is 16,384"),
    ("#!/bin/sh\necho \x00", "Null characters are not allowed"),
])
def test_a_bad_first_boot_script_is_refused_with_its_reason(alice, keys, script, message):
    form = create_form(alice, keys, script)
    assert not form.is_valid() and message in str(form.errors["user_data"])


# --- the console file -----------------------------------------------------------------
def test_the_console_is_capped_keeps_its_last_bytes_and_stays_private(tmp_path):
    console.new_boot(tmp_path)
    with open(tmp_path / "console.log", "ab") as f:  # as QEMU appends
        f.write(b"a" * 900 + b"THE END")
    assert console.cap(tmp_path, max_bytes=100)
    assert (tmp_path / "console.log").stat().st_size == 0
    assert (tmp_path / "console.log.1").read_bytes().endswith(b"THE END")
    assert (tmp_path / "console.log.1").stat().st_size == 100
    assert os.stat(tmp_path / "console.log.1").st_mode & 0o777 == 0o600
    with open(tmp_path / "console.log", "ab") as f:
        f.write(b"\nnext")
    assert console.tail(tmp_path, 12) == "THE END\nnext"
    assert not console.cap(tmp_path, max_bytes=100)


def test_a_new_boot_keeps_the_last_boot_as_the_previous_file(tmp_path):
    console.new_boot(tmp_path)
    (tmp_path / "console.log").write_text("first boot\n")
    console.new_boot(tmp_path)
    assert (tmp_path / "console.log.1").read_text() == "first boot\n"
    assert (tmp_path / "console.log").read_text() == ""
    assert os.stat(tmp_path / "console.log").st_mode & 0o777 == 0o600


# --- live means SSH answers ------------------------------------------------------------
def test_the_wait_ends_only_when_the_ssh_banner_answers():
    """QEMU's forward accepts connections before the guest's sshd runs: an accepted
    connection that says nothing is not a machine ready to use."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    banner_from = time.monotonic() + 3

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if time.monotonic() >= banner_from:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            conn.close()  # before: accepted, then closed without a word

    threading.Thread(target=serve, daemon=True).start()
    try:
        waited = qemu.wait_for_ssh(port, timeout=30)
    finally:
        listener.close()
    assert waited >= 2.9
