"""Deployments per minute with 1, 2 and 4 workers over two hosts.

Two worker "hosts" on this machine (HEROCOOL_HOST host-a and host-b, each with a data
directory and sites root of its own) share PostgreSQL (rows and the postgres:// Pulumi
state) and Redis. For each worker count, the workers start first (so both hosts are live
and placement spreads the sites over them: 1 worker = host-a alone, 2 = one on each,
4 = two on each); then N new local sites (an 8 KB page) are requested at once and the
time from the first claim to the last finish gives the rate.

    bash bench/hosts.sh [--jobs N]      # a private PostgreSQL and Redis

Needs DATABASE_URL naming a migrated PostgreSQL database (bench/hosts.sh does it).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import child_env, loadavg, log, spawn_guarded, stop_process  # noqa: E402
from bench.common import wait_until  # noqa: E402
from bench.deploy import queue_creations  # noqa: E402
from django.conf import settings  # noqa: E402

from sites.models import Site  # noqa: E402
from stacks.hosts import live_host_names  # noqa: E402
from stacks.models import Deployment, Status  # noqa: E402

HOSTS = ("host-a", "host-b")
LAYOUTS = {1: ["host-a"], 2: ["host-a", "host-b"], 4: ["host-a", "host-b"] * 2}


def host_env(root, name):
    data = root / name
    return child_env(HEROCOOL_HOST=name, HEROCOOL_DATA_DIR=str(data),
                     HEROCOOL_SITES_ROOT=str(data / "sites"),
                     HEROCOOL_SITES_URL_TEMPLATE=f"http://{{host}}.{name}.localhost:8001/",
                     PULUMI_CONFIG_PASSPHRASE=settings.PULUMI_CONFIG_PASSPHRASE,
                     PULUMI_BACKEND_URL=settings.PULUMI_BACKEND_URL)


def start_workers(root, workers):
    procs = []
    for k, host in enumerate(LAYOUTS[workers]):
        procs.append(spawn_guarded(
            ["manage.py", "rqworker", "maintenance", "default", "--name", f"w{workers}-{k}"],
            root / f"worker-{workers}-{k}.log", env=host_env(root, host)))
    wanted = set(LAYOUTS[workers])
    wait_until(lambda: wanted <= live_host_names(), 120, interval=0.2,
               what=f"hosts {sorted(wanted)} to be live")
    return procs


def finished(deployments):
    ended = (Deployment.State.SUCCEEDED, Deployment.State.FAILED)
    return not Deployment.objects.filter(pk__in=deployments).exclude(
        status__in=ended).exists()


def run(root, workers, jobs):
    procs = start_workers(root, workers)
    try:
        made = queue_creations(f"hosts{workers}-{int(time.time())}", jobs)
        sites = list(Site.objects.filter(pk__in=[s.pk for s in made]).select_related("host"))
        ids = [d.pk for s in sites for d in s.deployments.all()]
        wait_until(lambda: finished(ids), max(600, 60 * jobs), interval=0.5,
                   what="every deployment to finish")
    finally:
        for proc in procs:
            stop_process(proc)
    # Placement counts a host's sites: this round's must not tilt the next one's.
    Site.objects.filter(pk__in=[s.pk for s in sites]).update(status=Status.DELETED)
    deps = list(Deployment.objects.filter(pk__in=ids))
    failed = [d for d in deps if d.status != Deployment.State.SUCCEEDED]
    busy = (max(d.finished_at for d in deps) - min(d.started_at for d in deps)).total_seconds()
    placed = {h: sum(1 for s in sites if s.host.name == h) for h in HOSTS}
    row = {"workers": workers, "jobs": jobs, "busy_s": busy, "per_minute": jobs / busy * 60,
           "job_median_s": statistics.median(
               (d.finished_at - d.started_at).total_seconds() for d in deps),
           "placed": placed, "failed": len(failed)}
    log(f"{workers} worker(s): {jobs} deployments in {busy:.1f}s = "
        f"{row['per_minute']:.1f}/min (job median {row['job_median_s']:.2f}s; "
        f"placed {placed}; failed {len(failed)})")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (run bench/hosts.sh)")
    settings.QUOTA_LIVE_DEPLOYMENTS = max(settings.QUOTA_LIVE_DEPLOYMENTS, 5)
    log(f"load average before: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp:
        rows = [run(Path(tmp), w, args.jobs) for w in args.workers]
    print("| workers (hosts) | deployments | busy s | per minute | job median s | placed a/b | failed |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} ({len(set(LAYOUTS[r['workers']]))}) | {r['jobs']} | "
              f"{r['busy_s']:.1f} | {r['per_minute']:.1f} | {r['job_median_s']:.2f} | "
              f"{r['placed']['host-a']}/{r['placed']['host-b']} | {r['failed']} |")
    log(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()
