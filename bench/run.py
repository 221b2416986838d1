"""Herocool's benchmark: pages, the Automation API's way of listing, write requests,
deployments against the engine's floor and a bare `pulumi up`, and a load test, on real
PostgreSQL and Redis.

Run it through bench/run.sh, which starts a private PostgreSQL and Redis on loopback and
sets DATABASE_URL, REDIS_URL and HEROCOOL_DATA_DIR. It prints the figures and writes
them, with the machine and the command, to BENCHMARKS.md (or --output).

Everything here talks to 127.0.0.1 only (bench/guard.py refuses any other address in
this process, the worker processes and the web server) and every loop is bounded.
"""
import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script, Python puts bench/ first on the path: the package needs the root.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import BASE, BENCH, log, loadavg, machine, settle  # noqa: E402  (sets up Django)

PHASES = ("pages", "tutorial", "writes", "deployments", "load", "big")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a fast run: fewer samples, smaller N, 15 s of load")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--scale", choices=["big"],
                        help="big: only the pages at 100,000 resources and 1,000,000 "
                             "deployments (the `big` phase; default output "
                             "bench/results-big.md)")
    parser.add_argument("--output", help="the report (default: BENCHMARKS.md, or "
                                         "bench/results-quick.md with --quick)")
    parser.add_argument("--load-seconds", type=float)
    parser.add_argument("--load-users", type=int, default=50)
    parser.add_argument("--server-threads", type=int, default=16)
    parser.add_argument("--language-host", type=Path, metavar="DIR",
                        help="a folder holding pulumi-language-python, for the bare-CLI "
                             "comparison (default: beside the Pulumi CLI, or on PATH)")
    parser.add_argument("--without-bare-cli", action="store_true",
                        help="run the deployments phase without the bare-CLI comparison "
                             "(by default a run that cannot make it stops at the start)")
    args = parser.parse_args()
    args.phase_list = ["big"] if args.scale == "big" else [
        p for p in args.phases.split(",") if p]
    check_args(parser, args)
    return args


def check_args(parser, args):
    from django.db import connection

    unknown = set(args.phase_list) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.language_host and not (args.language_host / "pulumi-language-python").exists():
        parser.error(f"no pulumi-language-python in {args.language_host}")
    for var in ("DATABASE_URL", "REDIS_URL"):
        host = urlsplit(os.environ.get(var, "")).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"{var} must point at 127.0.0.1 (run me through bench/run.sh)")
    if connection.vendor != "postgresql":
        parser.error("the benchmark needs PostgreSQL (run me through bench/run.sh)")


def parameters(args):
    quick = args.quick
    return {
        "quick": quick, "phases": args.phase_list,
        "page_sizes": [10, 50, 100, 1000], "total_resources": 10000,
        "page_repeat": 15 if quick else 50, "page_warmup": 3 if quick else 5,
        "breakdown_repeat": 5 if quick else 15,
        "tutorial_counts": [10] if quick else [10, 50],
        "tutorial_reps": 2 if quick else 3,
        "write_repeat": 15 if quick else 50, "write_warmup": 3 if quick else 5,
        "deploy_runs": 3 if quick else 7, "throughput_jobs": 6 if quick else 20,
        "load_users": args.load_users,
        "load_seconds": args.load_seconds or (15 if quick else 60),
        "server_threads": args.server_threads,
        "big_resources": 100_000, "big_deployments": 1_000_000,
        "big_repeat": 15 if quick else 50, "big_warmup": 3 if quick else 5,
    }


def phase_pages(res, p, ctx):
    from bench import pages

    res["pages"] = pages.bench_pages(ctx["users"], p["page_sizes"], p["page_repeat"],
                                     p["page_warmup"])
    res["breakdown"] = pages.page_breakdown(ctx["users"][f"bench-n{max(p['page_sizes'])}"],
                                            p["breakdown_repeat"])


def phase_writes(res, p, ctx):
    from bench.writes import bench_writes

    res["writes"] = bench_writes(p["write_repeat"], p["write_warmup"])


def phase_tutorial(res, p, ctx):
    from bench.tutorial import bench_tutorial

    ours = {r["n"]: r["p50"] for r in res.get("pages", []) if r["page"] == "site list"}
    res["tutorial"] = bench_tutorial(p["tutorial_counts"], p["tutorial_reps"], ours)


def phase_deployments(res, p, ctx):
    from bench.deploy import bench_deployments

    res["deployments"] = bench_deployments(ctx["run_dir"], p["deploy_runs"],
                                           p["throughput_jobs"], ctx["language_host"])


def phase_load(res, p, ctx):
    from bench.load import bench_load

    res["load"] = bench_load(ctx["run_dir"], p["load_users"], p["load_seconds"],
                             p["server_threads"])
    # The production web tier (gunicorn, as the Procfile runs it), same run, same machine.
    res["load_production"] = bench_load(ctx["run_dir"], p["load_users"], p["load_seconds"],
                                        p["server_threads"], kind="production")


def phase_big(res, p, ctx):
    from bench.bigdata import build_big_dataset
    from bench.bigpages import bench_big_pages

    users, res["big_dataset"] = build_big_dataset(p["big_resources"], p["big_deployments"])
    res["settled"]["big pages"] = settle()  # the bulk insert's autovacuum, not the pages
    res["big_pages"] = bench_big_pages(users, p["big_repeat"], p["big_warmup"])


# In this order, whatever the order of --phases; the big data set last, as it stays.
STEPS = {"pages": phase_pages, "writes": phase_writes, "tutorial": phase_tutorial,
         "deployments": phase_deployments, "load": phase_load, "big": phase_big}


def run_phases(res, params, run_dir, language_host):
    from bench.data import build_dataset

    users = None
    if set(params["phases"]) - {"big"}:
        users, res["dataset"] = build_dataset(params["page_sizes"], params["total_resources"])
    ctx = {"users": users, "run_dir": run_dir, "language_host": language_host}
    for name, step in STEPS.items():
        if name in params["phases"]:
            res["settled"][name] = settle()
            log(f"{name}: load average {res['settled'][name]}")
            step(res, params, ctx)
            res["loadavg"][name] = loadavg()


def command(args):
    """The command that reproduces this run, with the home folder written as ~."""
    def word(value):
        text, home = str(value), str(Path.home())
        if text == home or text.startswith(home + os.sep):
            return "~" + shlex.quote(text[len(home):])
        return shlex.quote(text)

    words = ["bash", "bench/run.sh"] + (["--quick"] if args.quick else [])
    words += ["--scale", args.scale] if args.scale else []
    for flag, value, default in [
            ("--phases", args.phases, ",".join(PHASES)), ("--output", args.output, None),
            ("--load-seconds", args.load_seconds, None), ("--load-users", args.load_users, 50),
            ("--server-threads", args.server_threads, 16),
            ("--language-host", args.language_host, None)]:
        if value != default:
            words += [flag, word(value)]
    words += ["--without-bare-cli"] if args.without_bare_cli else []
    return " ".join(words)


def git_state():
    """The commit measured at, and the paths changed since outside bench/ and this
    report, as words for the report's first line."""
    def git(*a):
        return subprocess.run(["git", "-C", str(BASE), *a], capture_output=True,
                              text=True).stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()
               if not line[3:].startswith(("bench/", "BENCHMARKS.md"))]
    commit = git("rev-parse", "--short", "HEAD").strip() or "?"
    return commit, f" plus uncommitted changes to {', '.join(changed)}" if changed else ""


def main():
    args = parse_args()
    from django.conf import settings

    from bench.baselines import find_language_host
    from bench.goals import evaluate
    from bench.report import report

    params = parameters(args)
    from bench.baselines import MISSING_LANGUAGE_HOST

    language_host = None if args.without_bare_cli else find_language_host(args.language_host)
    if language_host is None and "deployments" in params["phases"] and not args.without_bare_cli:
        sys.exit(f"bench: {MISSING_LANGUAGE_HOST}")
    params["language_host"] = str(language_host) if language_host else None
    output = Path(args.output) if args.output else (
        BENCH / "results-big.md" if args.scale == "big" else
        BENCH / "results-quick.md" if args.quick else BASE / "BENCHMARKS.md")
    commit, tree = git_state()
    started = dt.datetime.now(dt.timezone.utc)
    res = {"machine": machine(), "params": params, "loadavg": {}, "settled": {}}
    log(f"machine: {res['machine']}; commit {commit}{tree}")
    run_phases(res, params, Path(settings.DATA_DIR).parent, language_host)
    finished = dt.datetime.now(dt.timezone.utc)
    if git_state()[0] != commit:
        tree += f" (HEAD moved to `{git_state()[0]}` during the run)"
    text = report(res, {"started": started, "finished": finished, "quick": args.quick,
                        "command": command(args), "commit": commit, "tree": tree})
    output.write_text(text)
    print(text)
    log(f"wrote {output} ({(finished - started).total_seconds():.0f}s in all)")
    for _key, goal, figure, met in evaluate(res):
        if met is False:
            log(f"goal missed: {goal}: {figure}")


if __name__ == "__main__":
    main()
