"""A machine's console on a page served by another host (vms/console_copy.py): its own
host's tick publishes it to the shared Redis; the page reads the local file only when
the machine runs on this host. The guest is a real QEMU, paused before it boots."""
import json
import os
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from herocool_project import redisconn
from stacks.hosts import Host, host_tick
from stacks.models import Status
from vms import console_copy
from vms.localvm import qemu
from vms.models import VirtualMachine

from .test_netwatch import paused_guest  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="-runas needs root")
CONSOLE = "[  OK  ] Reached target Multi-User System.\n<script>alert(1)</script>\n"


def machine_on(host_name, owner, keys, name="box"):
    host = Host.objects.get_or_create(name=host_name, defaults={
        "sites_url_template": "http://{host}.x.test/", "vm_memory_mb": 2048,
        "max_sites": 10, "last_seen": timezone.now()})[0]
    return VirtualMachine.objects.create(
        owner=owner, name=name, instance_type="t3.micro", target="local", host=host,
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=Status.LIVE,
        outputs={"ssh_port": 2222, "state": "running"})


@pytest.fixture
def clean_keys():
    yield
    for key in redisconn.connection().scan_iter(console_copy.KEY.format("*")):
        redisconn.connection().delete(key)


@needs_root
def test_a_machine_on_another_host_shows_the_console_that_host_published(
        vms_root, alice, keys, alice_client, bob, client, settings, clean_keys):
    vm = machine_on("far-host", alice, keys)
    vm_dir = vms_root / vm.stack_name
    paused_guest(vm_dir, "restrict=on")
    try:
        (vm_dir / "console.log").write_text(CONSOLE)
        settings.HEROCOOL_HOST = "far-host"  # the machine's own host ticks
        host_tick()
        key = console_copy.KEY.format(vm.stack_name)
        assert 0 < redisconn.connection().ttl(key) <= console_copy.copy_seconds()
    finally:
        qemu.kill(vm_dir)
    (vm_dir / "console.log").write_text("this host's disk: not the machine's\n")

    settings.HEROCOOL_HOST = "near-host"  # a page served by another host
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "Reached target Multi-User System." in page and "this host's disk" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert re.search(r"Copied from host far-host \d s ago", page)
    shown = alice_client.get(reverse("vms-console", args=[vm.code]))
    assert shown["Content-Type"] == "text/plain; charset=utf-8"
    assert shown.content.decode() == CONSOLE
    assert shown["X-Console-Note"].startswith("Copied from host far-host ")
    client.force_login(bob)  # a stranger: nothing, as before
    assert client.get(reverse("vms-console", args=[vm.code])).status_code == 404


def test_a_copy_published_too_long_ago_is_not_shown(alice, keys, alice_client, settings,
                                                    tmp_path, clean_keys):
    settings.HEROCOOL_HOST = "near-host"
    vm = machine_on("far-host", alice, keys)
    old = time.time() - console_copy.copy_seconds() - 1
    # Written without a TTL, as a stray key would be: the reader's own age check holds.
    redisconn.connection().set(console_copy.KEY.format(vm.stack_name), json.dumps(
        {"host": "far-host", "at": old, "text": "stale boot log"}))
    shown = alice_client.get(reverse("vms-console", args=[vm.code]))
    assert shown.content == b""
    assert "has published no console lately" in shown["X-Console-Note"]
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "stale boot log" not in page and "has published no console lately" in page


def test_a_copy_within_its_time_is_shown_with_its_age(alice, keys, clean_keys):
    vm = machine_on("far-host", alice, keys)
    redisconn.connection().set(console_copy.KEY.format(vm.stack_name), json.dumps(
        {"host": "far-host", "at": time.time() - 42, "text": "booting"}))
    text, age = console_copy.read(vm.stack_name)
    assert text == "booting" and 42 <= age < 50


def test_a_machine_on_this_host_reads_its_own_disk(alice, keys, alice_client, settings,
                                                   tmp_path, clean_keys):
    settings.HEROCOOL_HOST, settings.VMS_ROOT = "near-host", tmp_path
    vm = machine_on("near-host", alice, keys)
    (tmp_path / vm.stack_name).mkdir()
    (tmp_path / vm.stack_name / "console.log").write_text("local boot log\n")
    redisconn.connection().set(console_copy.KEY.format(vm.stack_name), json.dumps(
        {"host": "near-host", "at": time.time(), "text": "the published copy"}))
    shown = alice_client.get(reverse("vms-console", args=[vm.code]))
    assert shown.content == b"local boot log\n" and shown["X-Console-Note"] == ""
