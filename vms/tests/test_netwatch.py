"""The guests' boundary checked again while they run (vms/localvm/netwatch.py, from the
host tick): real QEMUs, paused before they boot anything (-S), with a user network whose
packets a filter-dump records, and the real probe against a table of the test's own."""
import logging
import os
import socket
import subprocess
import time

import pytest

from stacks.hosts import host_tick
from stacks.models import Status
from vms.localvm import files, guestnet, netwatch, qemu
from vms.models import VirtualMachine

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="nftables and -runas need root")
UID = 64178  # not the installation's guests' uid: its table is left alone


@pytest.fixture
def uid_table():
    """The uid table as a root worker's start installs it, under a name of its own."""
    table = f"hc_watch_{os.getpid()}"
    assert guestnet._apply(UID, table=table)
    yield table
    subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)


def paused_guest(vm_dir, netdev):
    """A QEMU started as a guest's is (-pidfile in its directory, QMP, -runas), that boots
    nothing; net.pcap records every frame its user network sends towards the guest."""
    files.make_private_dir(vm_dir)
    port = qemu.free_port()
    subprocess.run([
        qemu.QEMU, "-S", "-display", "none", "-nodefaults", "-no-user-config",
        "-accel", "tcg", "-netdev", f"user,id=net0,{netdev},hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=net0",
        "-object", f"filter-dump,id=dump,netdev=net0,file={vm_dir / 'net.pcap'}",
        "-qmp", f"unix:{vm_dir / 'qmp.sock'},server=on,wait=off",
        "-pidfile", str(vm_dir / "qemu.pid"), "-daemonize", "-runas", f"{UID}:{UID}"],
        check=True, capture_output=True, timeout=60)
    return port


def frames_after_a_connect(vm_dir, port):
    """Bytes the guest's network passed on after a connect to its SSH forward (QEMU asks
    for the guest's address first: an ARP frame, 58 bytes in the dump)."""
    before = (vm_dir / "net.pcap").stat().st_size
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        time.sleep(1)
    return (vm_dir / "net.pcap").stat().st_size - before


@pytest.fixture
def guests(vms_root, alice, keys):
    """Two machines' guests: one with a way out, one with none (restrict=on)."""
    made = {}
    for name, netdev in (("out", "restrict=off"), ("shut", "restrict=on")):
        vm = VirtualMachine.objects.create(
            owner=alice, name=name, instance_type="t3.micro", status=Status.LIVE,
            ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32",
            outputs={"ssh_port": 1})  # the stack records it: the reaper leaves it alone
        made[name] = (vms_root / vm.stack_name, paused_guest(vms_root / vm.stack_name, netdev))
    yield made
    for vm_dir, _ in made.values():
        qemu.kill(vm_dir)


@pytest.mark.django_db
def test_a_flushed_table_cuts_the_guests_network_until_the_probe_passes_again(
        guests, uid_table, caplog):
    (out, out_port), (shut, _) = guests["out"], guests["shut"]
    assert netwatch.check(qemu._resolve(out).parent) == {
        "cut": [], "restored": [], "still_cut": []}
    assert frames_after_a_connect(out, out_port) > 0

    subprocess.run(["nft", "flush", "table", "inet", uid_table], check=True)
    with caplog.at_level(logging.ERROR, logger="vms.localvm.netwatch"):
        host_tick()  # the host tick, as the sweep queues it
    assert (out / qemu.NET_CUT).exists() and not (shut / qemu.NET_CUT).exists()
    assert out.name in caplog.text and shut.name not in caplog.text
    assert frames_after_a_connect(out, out_port) == 0  # nothing reaches the guest
    assert netwatch.check(out.parent)["still_cut"] == [out.name]

    assert guestnet._apply(UID, table=uid_table)
    assert netwatch.check(out.parent) == {"cut": [], "restored": [out.name], "still_cut": []}
    assert not (out / qemu.NET_CUT).exists()
    assert frames_after_a_connect(out, out_port) > 0
    assert qemu.is_running(out) and qemu.is_running(shut)  # cut, never stopped


def test_the_probe_fails_for_a_uid_no_table_names():
    assert guestnet.uid_boundary_holds(UID + 1) is False


def test_a_new_start_forgets_the_cut(tmp_path):
    vm = files.make_private_dir(tmp_path / "vm")
    (vm / qemu.NET_CUT).write_text("")
    with pytest.raises(Exception):  # no image: the start fails after clearing its files
        qemu.start(vm, None, ssh_port=1, authorized_key="k")
    assert not (vm / qemu.NET_CUT).exists()
