"""Machines people can work on (issue #19), end to end: the real engine, a real RQ
worker, one real QEMU guest taken through its first-boot script, the console, the
network boundary and its power controls."""
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from stacks.models import Deployment, Status
from vms.localvm import guestnet, qemu
from vms.models import VirtualMachine, local_memory_mb

from .guests import kill_everything, port_is_closed
from .test_lifecycle import fresh_keys, ssh  # noqa: F401 - a fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCRIPT = ("#!/bin/sh\necho made-at-first-boot > /home/herocool/first-boot.txt\n"
          "echo '<b>from the script</b>'\n")
SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"outside\\n"); c.close()
"""


@pytest.fixture
def guests_root(settings, tmp_path):
    settings.VMS_ROOT = tmp_path / "vms"
    yield settings.VMS_ROOT
    kill_everything(settings.VMS_ROOT)


@pytest.fixture
def outside():
    """A TCP server in a network namespace of its own, joined to the host by a veth
    pair: somewhere on "the Internet" a guest should reach. Yields (address, port)."""
    tag = os.getpid() % 10000
    ns, host_end, ns_end = f"hc19-{tag}", f"hc{tag}h", f"hc{tag}n"
    subnet = f"10.219.{tag % 250}"

    def ip(*args):
        subprocess.run(["ip", *args], check=True, timeout=20)

    ip("netns", "add", ns)
    server = None
    try:
        ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        ip("link", "set", ns_end, "netns", ns)
        ip("addr", "add", f"{subnet}.1/30", "dev", host_end)
        ip("link", "set", host_end, "up")
        ip("-n", ns, "addr", "add", f"{subnet}.2/30", "dev", ns_end)
        ip("-n", ns, "link", "set", ns_end, "up")
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER,
                                   f"{subnet}.2", "8080"])
        yield f"{subnet}.2", 8080, f"{subnet}.1"
    finally:
        if server:
            server.kill()
            server.wait(timeout=10)
        subprocess.run(["ip", "link", "del", host_end], timeout=20)
        subprocess.run(["ip", "netns", "del", ns], timeout=20)


@pytest.fixture
def web_port():
    """A listener on every host address, as a web server bound to 0.0.0.0 would be."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def host_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.254", 9))  # no packet is sent: the route picks the source
        return sock.getsockname()[0]


def guest_tries(key, port, targets):
    """From inside the guest: {"host:port": "open" | "refused"} for each target."""
    lines = [f'if timeout 8 bash -c "exec 3<>/dev/tcp/{h}/{p}" 2>/dev/null; '
             f'then echo {h}:{p} open; else echo {h}:{p} refused; fi' for h, p in targets]
    done = ssh(key, port, "; ".join(lines))
    assert done.returncode == 0, done.stderr
    return dict(line.split() for line in done.stdout.split("\n") if line.strip())


def reachable_from_host(host, port):
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex((host, port)) == 0


def console_when(client, vm, expected, timeout=180):
    """The console as the page's script fetches it, once it shows `expected`."""
    deadline = time.monotonic() + timeout
    while True:
        shown = client.get(reverse("vms-console", args=[vm.code]))
        assert shown["Content-Type"].startswith("text/plain")
        text = shown.content.decode()
        if expected in text or time.monotonic() > deadline:
            assert expected in text, text[-3000:]
            return text
        time.sleep(2)


def act(client, run_jobs, vm, action):
    client.post(reverse(f"vms-{action}", args=[vm.code]))
    run_jobs()
    vm.refresh_from_db()
    deployment = vm.deployments.order_by("-queued_at").first()
    assert deployment.status == Deployment.State.SUCCEEDED, deployment.full_log()[-2000:]
    return deployment


def test_first_boot_console_network_and_power(alice_client, bob, fresh_keys, run_jobs,
                                              guests_root, outside, web_port):
    key, public = fresh_keys("k")
    alice_client.post(reverse("vms-create"), {
        "name": "work", "instance_type": "t3.micro", "ssh_public_key": public,
        "allowed_cidr": "127.0.0.1/32", "user_data": SCRIPT})
    vm = VirtualMachine.objects.get(name="work")
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.LIVE, vm.last_error + vm.deployments.get().full_log()[-2000:]
    port = vm.outputs["ssh_port"]
    assert vm.outputs["state"] == "running" and vm.booted_at is not None

    # The first-boot script runs beside the boot (as cloud-init's does): its output on
    # the console says when it is done, and then its file is there.
    text = console_when(alice_client, vm, "the first-boot script exited with status 0")
    assert "herocool: running the first-boot script" in text
    done = ssh(key, port, "cat first-boot.txt")
    assert done.stdout == "made-at-first-boot\n", done.stderr
    assert "Reached target" in text  # systemd's boot log
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "&lt;b&gt;from the script&lt;/b&gt;" in page and "<b>from the script" not in page
    assert vm.ssh_command in page
    stranger = Client()
    stranger.force_login(bob)
    assert stranger.get(reverse("vms-console", args=[vm.code])).status_code == 404

    # The network: out to a server elsewhere, never to this host's own services.
    address, outside_port, host_veth = outside
    redis_port = urlsplit(django_settings.REDIS_URL).port
    pg_port = int(django_settings.DATABASES["default"]["PORT"])
    mine = host_address()
    for target in [("127.0.0.1", redis_port), ("127.0.0.1", pg_port), (mine, web_port)]:
        assert reachable_from_host(*target), target  # they do listen
    tried = guest_tries(key, port, [
        (address, outside_port), ("10.0.2.2", redis_port), ("10.0.2.2", pg_port),
        ("10.0.2.2", web_port), (mine, web_port), (host_veth, web_port)])
    assert tried == {
        f"{address}:{outside_port}": "open", f"10.0.2.2:{redis_port}": "refused",
        f"10.0.2.2:{pg_port}": "refused", f"10.0.2.2:{web_port}": "refused",
        f"{mine}:{web_port}": "refused", f"{host_veth}:{web_port}": "refused"}

    # The operator's blocked networks (say the LAN where PostgreSQL runs) are refused too.
    try:
        assert guestnet._apply(django_settings.VM_GUEST_UID,
                               guestnet.blocked_networks(f"{address}/30"))
        tried = guest_tries(key, port, [(address, outside_port)])
        assert tried == {f"{address}:{outside_port}": "refused"}
    finally:
        guestnet._apply(django_settings.VM_GUEST_UID)

    # Stop: SSH closes, the disk stays, and the machine takes no memory from the caps.
    stop = act(alice_client, run_jobs, vm, "stop")
    assert stop.action == "update" and stop.params["power_action"] == "stop"
    assert "Power: stop" in stop.full_log()
    vm_dir = guests_root / vm.stack_name
    assert vm.status == Status.LIVE and vm.outputs["state"] == "stopped"
    assert not qemu.is_running(vm_dir) and (vm_dir / "disk.qcow2").exists()
    assert port_is_closed(port) and vm.ssh_command == ""
    assert local_memory_mb(VirtualMachine.objects.filter(pk=vm.pk)) == 0
    assert b"is stopped" in alice_client.get(vm.get_absolute_url()).content

    # Start: SSH again, the same disk (the script does not run twice).
    act(alice_client, run_jobs, vm, "start")
    assert vm.outputs["state"] == "running"
    port = vm.outputs["ssh_port"]
    done = ssh(key, port, "cat first-boot.txt; sudo touch /root/before-reboot")
    assert done.stdout == "made-at-first-boot\n", done.stderr
    first_boot = vm.booted_at

    # Reboot: a fresh boot of the same disk.
    time.sleep(1)
    act(alice_client, run_jobs, vm, "reboot")
    assert vm.restarts == 1 and vm.booted_at > first_boot
    done = ssh(key, vm.outputs["ssh_port"],
               "sudo ls /root/before-reboot; cat /proc/uptime")
    assert done.returncode == 0 and "/root/before-reboot" in done.stdout, done.stderr
    assert float(done.stdout.split()[-2]) < 300  # seconds since this boot

    alice_client.post(reverse("vms-delete", args=[vm.code]))
    run_jobs()
    vm.refresh_from_db()
    assert vm.status == Status.DELETED and not vm_dir.exists()

