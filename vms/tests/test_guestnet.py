"""The guests' network boundary as QEMU gets it (vms/localvm/guestnet.py); the real
connections are tried from inside a guest in test_machines.py."""
import os

import pytest

from vms.localvm import guestnet

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="nftables and -runas need root")


def test_the_operators_blocked_networks_join_the_link_local_ones():
    assert guestnet.blocked_networks(" 10.1.2.3/16 ,fd00::/8,") == [
        "169.254.0.0/16", "fe80::/10", "10.1.0.0/16", "fd00::/8"]


@needs_root
def test_a_misspelt_blocked_list_gives_no_way_out_rather_than_a_hole(monkeypatch):
    monkeypatch.setenv("HEROCOOL_VM_GUEST_BLOCKED_NETWORKS", "10.0.0.0/8,not-a-network")
    boundary = guestnet.Boundary(64119)
    assert boundary.netdev_options == "restrict=on" and boundary.qemu_args == []


@needs_root
def test_with_the_rule_in_place_qemu_drops_to_the_guests_uid(monkeypatch):
    monkeypatch.delenv("HEROCOOL_VM_GUEST_BLOCKED_NETWORKS", raising=False)
    boundary = guestnet.Boundary(64119)
    assert boundary.netdev_options == "restrict=off"
    assert boundary.qemu_args == ["-runas", "64119:64119"]


def test_uid_zero_means_no_way_out():
    boundary = guestnet.Boundary(0)
    assert boundary.netdev_options == "restrict=on" and boundary.qemu_args == []
