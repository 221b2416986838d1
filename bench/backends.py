"""Deployment time on the postgres:// state backend against file://, in the same run.

Each round creates a new local site stack (the program our site jobs run, an 8 KB page)
with `stacks.engine.up` on each backend, the order alternating between rounds, then
updates it once (a changed page) and destroys it (untimed). Prints the medians.

    bash bench/backends.sh [--rounds N]     # private PostgreSQL with fsync on

Needs DATABASE_URL naming a PostgreSQL database (bench/backends.sh starts one).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, machine  # noqa: E402  (sets Django up)
from django.conf import settings  # noqa: E402

from bench.tutorial import site_program  # noqa: E402
from herocool_project.pulumi_backend import masked, postgres_url  # noqa: E402
from sites.programs import local  # noqa: E402
from sites.programs.spec import SiteSpec  # noqa: E402
from stacks import engine  # noqa: E402

PROJECT = "herocool-sites"


def changed_program(name):
    spec = SiteSpec(stack_name=name, owner="bench", index_html="<p>changed</p>")
    return local.program(spec, sites_root=settings.SITES_ROOT,
                         url_template=settings.SITES_URL_TEMPLATE)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def round_on(backend, name):
    settings.PULUMI_BACKEND_URL = backend
    create = timed(lambda: engine.up(PROJECT, name, site_program(name)))
    update = timed(lambda: engine.up(PROJECT, name, changed_program(name)))
    engine.destroy(PROJECT, name, changed_program(name))
    return create, update


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (run bench/backends.sh)")
    backends = {
        "postgres": postgres_url(os.environ["DATABASE_URL"], table="bench_pulumi_state"),
        "file": (Path(settings.DATA_DIR) / "bench-pulumi-state").as_uri(),
    }
    Path(settings.SITES_ROOT).mkdir(parents=True, exist_ok=True)
    for kind, url in backends.items():
        log(f"{kind}: {masked(url)}")
        round_on(url, f"warm-{kind}")  # the first run of a process pays for imports
    times = {kind: {"create": [], "update": []} for kind in backends}
    for i in range(args.rounds):
        order = list(backends) if i % 2 == 0 else list(reversed(backends))
        for kind in order:
            create, update = round_on(backends[kind], f"site-{kind}-{i:03d}")
            times[kind]["create"].append(create)
            times[kind]["update"].append(update)
            log(f"round {i + 1}/{args.rounds} {kind}: create {create:.2f} s, "
                f"update {update:.2f} s")
    report(times, args.rounds)


def report(times, rounds):
    facts = machine()
    print(f"Deployment time by state backend, {rounds} paired rounds, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"Machine: {facts['nproc']} CPUs ({facts['cpu']}), {facts['pulumi']}, "
          f"{facts['postgresql']}; load average now {os.getloadavg()}")
    print("| backend | create median s | create min–max s | update median s | "
          "update min–max s |")
    print("|---|---:|---:|---:|---:|")
    for kind, t in times.items():
        print(f"| {kind} | {statistics.median(t['create']):.2f} | "
              f"{min(t['create']):.2f}–{max(t['create']):.2f} | "
              f"{statistics.median(t['update']):.2f} | "
              f"{min(t['update']):.2f}–{max(t['update']):.2f} |")
    pg, fs = (statistics.median(times[k]["create"]) for k in ("postgres", "file"))
    print(f"postgres:// against file:// (create median): {100 * (pg - fs) / fs:+.0f}%")


if __name__ == "__main__":
    main()
