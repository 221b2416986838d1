"""A CLI root for the benchmark's real worker (HEROCOOL_PULUMI_ROOT) whose bin/pulumi
writes down each process it runs (start, end, arguments) and then the real CLI's exit
code; the rest of the real bin folder (plugins, language host) is linked beside it. So
our whole job through a forking worker shows which CLI processes it started and how long
each took, without touching the job's code."""
import os
import stat
from pathlib import Path

from bench.cli_timer import cli_subcommand

SHIM = """#!/bin/sh
s=$(date +%s.%N)
"{real}" "$@"
rc=$?
printf '%s %s %s\\n' "$s" "$(date +%s.%N)" "$*" >>"{log}"
exit $rc
"""


class CliShim:
    def __init__(self, folder, real_cli):
        self.root, self.log = Path(folder), Path(folder) / "calls.log"
        (self.root / "bin").mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(Path(real_cli).parent):
            link = self.root / "bin" / entry.name
            if entry.name != "pulumi" and not link.exists():
                link.symlink_to(entry.path)
        shim = self.root / "bin" / "pulumi"
        shim.write_text(SHIM.format(real=real_cli, log=self.log))
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
        self.log.touch()
        self._seen = 0

    def take(self):
        """[(subcommand, seconds)] of the processes that ended since the last take()."""
        lines = self.log.read_text().splitlines()
        new, self._seen = lines[self._seen:], len(lines)
        out = []
        for line in new:
            start, end, *args = line.split()
            out.append((cli_subcommand(args), float(end) - float(start)))
        return out


def deployment_calls(calls):
    """A deployment's CLI processes (the worker's one version check at start-up, made
    before its first job, left out): their count, the `up` process's seconds, all."""
    calls = [(name, s) for name, s in calls if name != "version"]
    return {"cli_processes": len(calls), "cli_names": [name for name, _ in calls],
            "cli_up_s": sum(s for name, s in calls if name == "up"),
            "cli_total_s": sum(s for _, s in calls)}
