"""The guests' network boundary as QEMU gets it (vms/localvm/guestnet.py); the real
connections are tried from inside a guest in test_machines.py."""
import json
import os
import shlex
import socket
import subprocess

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


RESOLV_CONF = """# written by a resolver manager
nameserver 127.0.0.53
nameserver 10.255.255.53
nameserver ::1
nameserver fe80::1%eth0
#nameserver 127.0.0.2
options edns0 trust-ad
nameserver 127.0.0.53
"""


def test_only_the_loopback_nameservers_of_resolv_conf_are_let_through():
    assert guestnet.loopback_resolvers(RESOLV_CONF) == ["127.0.0.53", "::1"]
    rules = guestnet.ruleset(64119, resolvers=guestnet.loopback_resolvers(RESOLV_CONF))
    accepts = [line.strip() for line in rules.splitlines() if "accept;" not in line
               and "accept" in line]
    assert accepts == [
        "meta skuid 64119 ip daddr { 127.0.0.53 } udp dport 53 counter accept",
        "meta skuid 64119 ip daddr { 127.0.0.53 } tcp dport 53 counter accept",
        "meta skuid 64119 ip6 daddr { ::1 } udp dport 53 counter accept",
        "meta skuid 64119 ip6 daddr { ::1 } tcp dport 53 counter accept"]
    # The accepts come before the loopback reject, which still refuses everything else.
    assert rules.index("dport 53") < rules.index('oifname "lo" ct state new counter reject')


def test_a_host_with_no_loopback_resolver_gets_no_dns_rule():
    assert guestnet.loopback_resolvers("nameserver 10.255.255.53\n") == []
    rules = guestnet.ruleset(64119, resolvers=[])
    assert "dport" not in rules and "accept\n" not in rules


def test_a_resolver_that_is_not_loopback_is_never_let_through():
    with pytest.raises(ValueError):
        guestnet.ruleset(64119, resolvers=["10.255.255.53"])


# As the guests' uid: tcp and udp to the resolver's port 53 and to another port.
DNS_PROBE = """import json, socket, sys
host, other = sys.argv[1], int(sys.argv[2])
out = {}
for port in (53, other):
    try:
        socket.create_connection((host, port), timeout=5).close()
        out[f"tcp{port}"] = "open"
    except OSError as e:
        out[f"tcp{port}"] = type(e).__name__
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        try:
            s.send(b"query")
            out[f"udp{port}"] = s.recv(100).decode()
        except OSError as e:
            out[f"udp{port}"] = type(e).__name__
print(json.dumps(out))
"""


@pytest.fixture
def loopback_resolver():
    """A resolver's stand-in on 127.0.0.77: port 53 and one other port, tcp and udp
    (udp answers "answer")."""
    import threading

    address, sockets = "127.0.0.77", []
    for port in (53, 0):
        tcp = socket.socket()
        tcp.bind((address, port if port else 0))
        tcp.listen(8)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((address, tcp.getsockname()[1]))
        sockets += [tcp, udp]
    received = []

    def answer(udp):
        while True:
            try:
                data, peer = udp.recvfrom(100)
            except OSError:
                return
            received.append((udp.getsockname()[1], data))
            udp.sendto(b"answer", peer)

    for udp in sockets[1::2]:
        threading.Thread(target=answer, args=(udp,), daemon=True).start()
    yield address, sockets[2].getsockname()[1], received
    for sock in sockets:
        sock.close()


@needs_root
def test_a_guest_reaches_a_loopback_resolver_on_port_53_only(tmp_path, monkeypatch,
                                                             loopback_resolver):
    address, other, received = loopback_resolver
    uid, table = 64177, f"hc_dns_{os.getpid()}"  # not the installation's uid or table
    (tmp_path / "resolv.conf").write_text(f"nameserver {address}\nnameserver 10.9.9.9\n")
    monkeypatch.setattr(guestnet, "RESOLV_CONF", str(tmp_path / "resolv.conf"))
    assert guestnet._apply(uid, table=table)
    try:
        result = subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", DNS_PROBE, address,
                                 str(other)], user=uid, group=uid, extra_groups=[],
                                capture_output=True, text=True, timeout=60, cwd="/")
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    # A udp packet refused on its way out fails the send (EPERM) or the next recv.
    assert seen.pop(f"udp{other}") in ("PermissionError", "ConnectionRefusedError")
    assert seen == {"tcp53": "open", "udp53": "answer", f"tcp{other}": "ConnectionRefusedError"}
    assert received == [(53, b"query")]  # the other port never saw a packet
