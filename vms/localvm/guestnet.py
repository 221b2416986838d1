"""The guests' way out (issue #19): connections to anywhere but this host.

QEMU's user networking opens the guest's connections from the QEMU process itself, so
a guest could reach every service on the host's loopback and the host's own addresses
(Redis, PostgreSQL, the web server). Here QEMU drops root for a uid of its own
(`-runas`), and one nftables rule refuses that uid any packet the host would deliver to
itself: every locally-addressed packet leaves through `lo`, whatever the address (127/8,
::1, the host's eth0 address, a bridge's). Link-local ranges (a cloud's instance
metadata service at 169.254.169.254) are refused too. Sockets QEMU made as root before
dropping it (the SSH forward's listener and its connections) are not affected.

Other machines of the installation (its PostgreSQL and Redis when they run elsewhere,
the operator's LAN) are reachable unless listed in HEROCOOL_VM_GUEST_BLOCKED_NETWORKS
(comma-separated CIDRs), refused the same way.

Under `make run` the worker is not root: it can neither set the table up nor drop to a
uid. There run.sh (as root, before dropping to the account) makes a group
(HEROCOOL_VM_GUEST_GROUP, `herocool-guests`), makes the account a member and installs a
second table keyed on that group (`python -m vms.localvm.guestnet install-group`); the
worker starts QEMU with the group as its primary gid through `sg` (setgid root, Debian's
login package), and only after a probe started the same way found a loopback connect
refused. The worker's own sockets keep the account's primary gid: `meta skgid` is the
socket's (file system) gid, never a supplementary group. The SSH forward still works:
its packets back to the user belong to a connection already made (not `ct state new`).

Without root, nft or that group and table, guests get no way out at all (restrict=on).

DNS: QEMU answers the guest's 10.0.2.3 by asking resolv.conf's nameservers itself. On a
host whose resolver listens on loopback (systemd-resolved's 127.0.0.53, a dnsmasq on
127.0.0.1) the loopback rule would refuse that, so both tables let exactly those
loopback nameservers through, on port 53 (udp and tcp), and nothing else of loopback.
"""
import grp
import ipaddress
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

TABLE = "herocool_guests"
GROUP_TABLE = "herocool_guest_group"
DEFAULT_GROUP = "herocool-guests"
NFT_TIMEOUT = 20
ALWAYS_BLOCKED = ("169.254.0.0/16", "fe80::/10")  # link-local: a cloud's metadata service
RESOLV_CONF = "/etc/resolv.conf"


def blocked_networks(text=None) -> list:
    """Link-local ranges and the operator's list (the environment's, or `text`)."""
    if text is None:
        text = os.environ.get("HEROCOOL_VM_GUEST_BLOCKED_NETWORKS", "")
    extra = [str(ipaddress.ip_network(item.strip(), strict=False))
             for item in text.split(",") if item.strip()]
    return [*ALWAYS_BLOCKED, *extra]


def loopback_resolvers(text=None) -> list:
    """The nameservers of resolv.conf (or `text`) that are loopback addresses: the ones
    the guests' DNS needs let through. Anything else in the file is ignored."""
    if text is None:
        try:
            text = Path(RESOLV_CONF).read_text(errors="replace")
        except OSError:
            return []
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "nameserver":
            continue
        try:
            address = ipaddress.ip_address(words[1])
        except ValueError:
            continue  # a scoped or garbled address: never loopback here
        if address.is_loopback and str(address) not in found:
            found.append(str(address))
    return found


def ruleset(ident: int, blocked=ALWAYS_BLOCKED, *, key="skuid", table=TABLE,
            resolvers=()) -> str:
    """The table, replaced whole in one transaction (declare, delete, define).
    `key` skuid: the sockets of uid `ident`; skgid: those of gid `ident`. `resolvers`:
    loopback nameservers the guests' DNS may reach on port 53 (loopback_resolvers())."""
    if key not in ("skuid", "skgid") or not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError(f"bad key {key!r} or table {table!r}")
    match = f"meta {key} {int(ident)}"
    rules = _dns_rules(match, resolvers)
    rules.append(f'{match} oifname "lo" ct state new counter reject')
    for version, family in ((4, "ip"), (6, "ip6")):
        nets = [n for n in blocked if ipaddress.ip_network(n).version == version]
        if nets:
            rules.append(f"{match} {family} daddr {{ {', '.join(nets)} }} counter reject")
    body = "\n    ".join(rules)
    return f"""table inet {table}
delete table inet {table}
table inet {table} {{
  chain output {{
    type filter hook output priority filter; policy accept;
    {body}
  }}
}}
"""


def _dns_rules(match, resolvers):
    """Accept rules (before the loopback reject) for port 53 of each loopback resolver."""
    addresses = [ipaddress.ip_address(a) for a in resolvers]
    if any(not a.is_loopback for a in addresses):
        raise ValueError(f"not a loopback resolver: {resolvers!r}")
    rules = []
    for version, family in ((4, "ip"), (6, "ip6")):
        mine = sorted({str(a) for a in addresses if a.version == version})
        rules += [f"{match} {family} daddr {{ {', '.join(mine)} }} {proto} dport 53 "
                  "counter accept" for proto in ("udp", "tcp") if mine]
    return rules


class Boundary:
    """How one guest's QEMU is started: its networking and the user or group it gets.

    As root: QEMU drops to `uid` (-runas) under the uid table. Otherwise: QEMU starts
    through `sg` with the guests' group as its primary gid, if a probe started the same
    way is refused a loopback connect (the group table is in place). Else: no way out.
    """

    def __init__(self, uid: int, group=None):
        self.uid = int(uid)
        self.group = None
        if self.uid <= 0:
            self.outbound = False
        elif os.geteuid() == 0:
            self.outbound = _apply(self.uid)
        else:
            group = guest_group() if group is None else group
            self.outbound = bool(group) and group_boundary_holds(group)
            self.group = group if self.outbound else None

    @property
    def netdev_options(self) -> str:
        # restrict=on: no connection out of the user network at all.
        return "restrict=off" if self.outbound else "restrict=on"

    @property
    def qemu_args(self) -> list:
        if not self.outbound or self.group:
            return []
        return ["-runas", f"{self.uid}:{self.uid}"]

    def launch(self, cmd) -> list:
        """The command line that starts `cmd` (QEMU) inside this boundary."""
        return as_group(self.group, cmd) if self.group else list(cmd)


def guest_group() -> str:
    """The guests' group (HEROCOOL_VM_GUEST_GROUP; empty: none)."""
    return os.environ.get("HEROCOOL_VM_GUEST_GROUP", DEFAULT_GROUP).strip()


def as_group(group, cmd) -> list:
    """`cmd` run with `group` as its primary gid, by `sg` (setgid root; the caller
    must be a member). sg hands one string to `sh -c` and drops any other argument,
    so every argument is shell-quoted into that one string."""
    return [_tool("sg"), group, "-c", "exec " + shlex.join(str(arg) for arg in cmd)]


# Run by the probe with the guests' gid: connect to the worker's loopback listener.
PROBE = """import os, socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    print("open", os.getegid())
except ConnectionRefusedError:
    print("refused", os.getegid())
except OSError as e:
    print("error", os.getegid(), e)
"""


def group_boundary_holds(group) -> bool:
    """A process started as QEMU will be (through sg, with `group` as its gid) is
    refused a connect to this host's loopback: the group table is in place."""
    if group.startswith("-") or not _tool("sg"):
        return False  # not a group name sg would take as one
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    if gid == os.getegid():  # the worker's own sockets would be a guest's
        return False
    with socket.socket() as listener:  # the worker's own: its gid is the account's
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        cmd = as_group(group, [sys.executable, "-I", "-S", "-c", PROBE, str(port)])
        try:
            result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, timeout=NFT_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0 and result.stdout.split() == ["refused", str(gid)]


def uid_boundary_holds(uid) -> bool:
    """As root: a process with the guests' uid and gid (as QEMU is after -runas) is
    refused a connect to this host's loopback: the uid table is in place. A fork, not
    a new program: the guests' uid may not read this Python (under /root, say)."""
    uid = int(uid)
    if os.geteuid() != 0 or uid <= 0:
        return False
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        pid = os.fork()
        if pid == 0:  # the child only connects and leaves, whatever happens
            code = 3
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                code = _probe_exit_code(listener.getsockname()[1])
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _probe_exit_code(port):
    # A bare connect: create_connection's getaddrinfo would import the idna codec, which
    # the guests' uid may not be able to read.
    try:
        with socket.socket() as sock:
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
        return 1  # open: no table for this uid
    except ConnectionRefusedError:
        return 0
    except OSError:
        return 2


def _tool(name):
    return shutil.which(name) or next(
        (path for path in (f"/usr/sbin/{name}", f"/usr/bin/{name}")
         if os.path.exists(path)), "")


def _apply(ident, blocked=None, *, key="skuid", table=TABLE) -> bool:
    nft = _tool("nft")
    if not nft:
        return False
    try:
        rules = ruleset(ident, blocked if blocked is not None else blocked_networks(),
                        key=key, table=table, resolvers=loopback_resolvers())
    except ValueError:
        return False  # a misspelt list: no way out at all rather than a hole
    result = subprocess.run([nft, "-f", "-"], input=rules, capture_output=True,
                            text=True, timeout=NFT_TIMEOUT)
    return result.returncode == 0


def install_group_table(group, blocked=None, table=GROUP_TABLE) -> bool:
    """As root (run.sh): the group's table, so that guests QEMU starts with that gid
    may connect out but never to this host."""
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    return _apply(gid, blocked, key="skgid", table=table)


if __name__ == "__main__":
    # python -m vms.localvm.guestnet install-group GROUP (as root, from scripts/run.sh)
    if len(sys.argv) != 3 or sys.argv[1] != "install-group":
        sys.exit("usage: python -m vms.localvm.guestnet install-group GROUP")
    sys.exit(0 if install_group_table(sys.argv[2]) else 1)
