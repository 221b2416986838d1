"""The guests' boundary, checked again while they run (issue #19).

guestnet checks the boundary once, when a guest starts. Should the nftables table be
flushed afterwards (a firewall reload, an operator's `nft flush ruleset`), guests started
with a way out could reach this host's loopback until their next start. The host tick
calls check() once a minute: for every running guest of ours started with a way out
(`restrict=off`), the probe its start would make (the guests' uid, or the group its QEMU
runs as) runs again; where it fails, the guest's network is cut through QMP (`set_link
net0 off`: no packet passes, its SSH forward included) and an error names it; once the
probe passes again, the network of the guests cut here is turned back on.

A guest cut here carries the file qemu.NET_CUT in its directory until its link is back; a new
start removes it (qemu.start), as the new QEMU's link is up.
"""
import grp
import logging
from pathlib import Path

from . import guestnet, owner, qemu
from .files import write_private

log = logging.getLogger(__name__)


def check(vms_root) -> dict:
    """Probe the boundary of every running guest with a way out under vms_root; cut or
    restore their network to match. Returns {"cut": [...], "restored": [...],
    "still_cut": [...]} of guest directory names."""
    done = {"cut": [], "restored": [], "still_cut": []}
    verdicts = {}  # one probe per boundary per tick
    for vm_dir, pid in sorted(owner.running_guests(vms_root).items()):
        boundary = boundary_of(pid)
        if boundary is None:
            continue  # restrict=on (no way out) or not a guest we can read
        if boundary not in verdicts:
            verdicts[boundary] = holds(*boundary)
        _follow(vm_dir, verdicts[boundary], done)
    if done["cut"] or done["still_cut"]:
        log.error("the guests' network boundary does not hold (nftables table gone?): "
                  "network cut for %s", ", ".join(done["cut"] + done["still_cut"]))
    if done["restored"]:
        log.warning("the guests' network boundary holds again: network back on for %s",
                    ", ".join(done["restored"]))
    return done


def _follow(vm_dir, boundary_holds, done):
    marker = Path(vm_dir) / qemu.NET_CUT
    name = Path(vm_dir).name
    if not boundary_holds and marker.exists():
        done["still_cut"].append(name)
    elif not boundary_holds:
        if qemu.set_link(vm_dir, up=False):
            write_private(marker, "")
            done["cut"].append(name)
        else:  # no QMP: the guest is left running with its way out; say so loudly
            log.error("could not cut the network of guest %s (QMP did not answer)", name)
    elif marker.exists() and qemu.set_link(vm_dir, up=True):
        marker.unlink(missing_ok=True)
        done["restored"].append(name)


def boundary_of(pid):
    """("uid", n) for a QEMU that dropped to a uid (-runas), ("gid", n) for one started
    with the guests' group; None for a guest with no way out (restrict=on)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    if not any(arg.startswith("user,") and "restrict=off" in arg.split(",") for arg in argv):
        return None
    if "-runas" in argv and argv.index("-runas") + 1 < len(argv):
        uid = argv[argv.index("-runas") + 1].split(":")[0]
        return ("uid", int(uid) if uid.isdigit() else -1)  # ours are numeric; else cut
    gids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Gid:"))
    return ("gid", int(gids[3]))  # the file system gid: what `meta skgid` matches


def holds(kind, ident) -> bool:
    """The probe a start makes, for that uid or gid."""
    if kind == "uid":
        return guestnet.uid_boundary_holds(ident)
    try:
        return guestnet.group_boundary_holds(grp.getgrgid(ident).gr_name)
    except KeyError:
        return False
