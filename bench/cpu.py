"""CPU seconds used by the processes a load test involves, read from /proc (Linux):
the web server's process group, the benchmark's PostgreSQL, the load generator."""
import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stats():
    """(pid, ppid, pgrp, cpu seconds, cmdline) for every process we may read."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue  # gone meanwhile
        # The command name (field 2) is in parentheses and may hold spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        yield (int(entry.name), int(fields[1]), int(fields[2]),
               (int(fields[11]) + int(fields[12])) / TICK, cmdline)


def group_cpu(pgid):
    """CPU seconds of the live processes of process group `pgid` (a server we started
    in a session of its own)."""
    return sum(cpu for _, _, pgrp, cpu, _ in _stats() if pgrp == pgid)


def postgres_cpu(port):
    """CPU seconds of the PostgreSQL server listening on `port` and its backends."""
    procs = list(_stats())
    masters = {pid for pid, _, _, _, cmd in procs
               if "postgres" in cmd.split(" ", 1)[0] and f"-p {port} " in f"{cmd} "}
    return sum(cpu for pid, ppid, _, cpu, _ in procs if pid in masters or ppid in masters)


def own_children_cpu():
    """CPU seconds of this process's children that have been waited for."""
    t = os.times()
    return t.children_user + t.children_system


def self_cpu():
    t = os.times()
    return t.user + t.system
