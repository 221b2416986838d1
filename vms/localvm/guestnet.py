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

Without root, or without nft, guests get no way out at all (QEMU's restrict=on).
"""
import ipaddress
import os
import shutil
import subprocess

TABLE = "herocool_guests"
NFT_TIMEOUT = 20
ALWAYS_BLOCKED = ("169.254.0.0/16", "fe80::/10")  # link-local: a cloud's metadata service


def blocked_networks(text=None) -> list:
    """Link-local ranges and the operator's list (the environment's, or `text`)."""
    if text is None:
        text = os.environ.get("HEROCOOL_VM_GUEST_BLOCKED_NETWORKS", "")
    extra = [str(ipaddress.ip_network(item.strip(), strict=False))
             for item in text.split(",") if item.strip()]
    return [*ALWAYS_BLOCKED, *extra]


def ruleset(uid: int, blocked=ALWAYS_BLOCKED) -> str:
    """The table, replaced whole in one transaction (declare, delete, define)."""
    uid = int(uid)
    rules = [f'meta skuid {uid} oifname "lo" ct state new counter reject']
    for version, family in ((4, "ip"), (6, "ip6")):
        nets = [n for n in blocked if ipaddress.ip_network(n).version == version]
        if nets:
            rules.append(f"meta skuid {uid} {family} daddr {{ {', '.join(nets)} }} "
                         "counter reject")
    body = "\n    ".join(rules)
    return f"""table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
  chain output {{
    type filter hook output priority filter; policy accept;
    {body}
  }}
}}
"""


class Boundary:
    """How one guest's QEMU is started: its networking and the user it drops to."""

    def __init__(self, uid: int):
        self.uid = int(uid)
        self.outbound = self.uid > 0 and os.geteuid() == 0 and _apply(self.uid)

    @property
    def netdev_options(self) -> str:
        # restrict=on: no connection out of the user network at all.
        return "restrict=off" if self.outbound else "restrict=on"

    @property
    def qemu_args(self) -> list:
        return ["-runas", f"{self.uid}:{self.uid}"] if self.outbound else []


def _apply(uid, blocked=None) -> bool:
    nft = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else "")
    if not nft:
        return False
    try:
        rules = ruleset(uid, blocked if blocked is not None else blocked_networks())
    except ValueError:
        return False  # a misspelt list: no way out at all rather than a hole
    result = subprocess.run([nft, "-f", "-"], input=rules, capture_output=True,
                            text=True, timeout=NFT_TIMEOUT)
    return result.returncode == 0
