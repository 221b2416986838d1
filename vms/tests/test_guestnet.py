"""The guests' network boundary as QEMU gets it (vms/localvm/guestnet.py); the real
connections are tried from inside a guest in test_machines.py."""
import os
import shlex

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


def test_the_group_table_refuses_that_gids_sockets_the_same_way():
    rules = guestnet.ruleset(1001, guestnet.blocked_networks("10.0.0.0/8"), key="skgid",
                             table=guestnet.GROUP_TABLE)
    assert "table inet herocool_guest_group {" in rules
    assert 'meta skgid 1001 oifname "lo" ct state new counter reject' in rules
    assert "meta skgid 1001 ip daddr { 169.254.0.0/16, 10.0.0.0/8 } counter reject" in rules
    assert "meta skgid 1001 ip6 daddr { fe80::/10 } counter reject" in rules
    assert "skuid" not in rules


def test_a_ruleset_takes_no_other_key_or_table_name():
    with pytest.raises(ValueError):
        guestnet.ruleset(1001, key="skgid; flush ruleset")
    with pytest.raises(ValueError):
        guestnet.ruleset(1001, table="x { }")


def test_sg_gets_the_whole_command_as_one_quoted_string():
    cmd = guestnet.as_group("herocool-guests", ["qemu", "a b", "it's", "$HOME", ";id"])
    assert cmd[1:3] == ["herocool-guests", "-c"]
    assert shlex.split(cmd[3]) == ["exec", "qemu", "a b", "it's", "$HOME", ";id"]


def test_without_the_group_no_way_out_for_an_unprivileged_worker(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HEROCOOL_VM_GUEST_GROUP", "herocool-no-such-group")
    boundary = guestnet.Boundary(64119)
    assert boundary.netdev_options == "restrict=on" and boundary.qemu_args == []
    assert boundary.launch(["qemu", "-x"]) == ["qemu", "-x"]
