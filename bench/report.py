"""BENCHMARKS.md from a run's results: the header, the machine, the goals, sections 1-3
and 5 (section 4 is bench.report_deploy), and the parameters."""
import json

from bench.common import fmt
from bench.goals import evaluate
from bench.missed import explain
from bench.report_deploy import deployments_section

HOW = [
    "`bench/run.sh` starts a private PostgreSQL and Redis on loopback (with "
    "`scripts/services.sh`, as `scripts/test.sh` does, but with fsync on), migrates an "
    "empty database, and runs `bench/run.py`, which builds the data set, measures, prints "
    "the figures and writes this file. Nothing but 127.0.0.1 is contacted: "
    "`bench/guard.py` refuses any other address in the benchmark, the workers and the web "
    "server, and Pulumi runs with update checks and plugin downloads off. Every loop is "
    "bounded in count or time.",
    "",
    "- `bash bench/run.sh` — the full run (about 11 minutes here): 50 timed requests per "
    "page and N, 50 per write request, 10 and 50 real stacks for the tutorial's way, 7 "
    "paired deployments, 20 deployments per throughput run, 60 s of load, then the "
    "pages again at 100,000 resources and 1,000,000 deployments. Writes `BENCHMARKS.md`.",
    "- `bash bench/run.sh --scale big` — only the pages at 100,000 resources and "
    "1,000,000 deployments (about 4 minutes, most of it building the data set in bulk "
    "SQL). Writes `bench/results-big.md`.",
    "- `bash bench/run.sh --quick` — the fast run (about 2 minutes): 15 timed requests, "
    "10 stacks, 3 paired deployments, 6 per throughput run, 15 s of load. Writes "
    "`bench/results-quick.md`.",
    "- Options: `--phases pages,writes,tutorial,deployments,load,big` (a subset), "
    "`--output FILE`, `--load-seconds`, `--load-users`, `--server-threads`, "
    "`--language-host DIR`, a folder holding `pulumi-language-python` for the bare-CLI "
    "comparison of section 4 (by default it is looked for beside the Pulumi CLI, built "
    "there by `scripts/setup_pulumi.sh` from a git mirror of pulumi/pulumi if need be, "
    "and on PATH; a run with the deployments phase stops at the start when there is none), "
    "and `--without-bare-cli`, to run without that comparison on purpose (the report then "
    "says so).",
    "- Before each phase's timed part the run waits, at most 3 minutes, for the 1-minute "
    "load average to fall to half the CPUs (a phase's own workers and servers, or a "
    "bulk insert, leave the machine busy for the next one); the load at each start is "
    "in the machine table.",
    "- Sections 6 and 7 are measured by their own scripts and kept in `bench/kept.md`, "
    "each with its date and commit; a full run carries them.",
]


def header(res, meta):
    started, finished = meta["started"], meta["finished"]
    minutes = (finished - started).total_seconds() / 60
    return [
        "# Benchmarks", "",
        f"Measured {started:%Y-%m-%d %H:%M} – {finished:%H:%M} UTC ({minutes:.0f} min), "
        f"{'quick' if meta['quick'] else 'full'} run, at commit `{meta['commit']}`"
        f"{meta['tree']}, with:", "",
        "```sh", meta["command"], "```", "", *HOW,
    ]


def machine_section(res):
    m = res["machine"]
    phases = ", ".join(f"{k} {v}" for k, v in res.get("loadavg", {}).items())
    starts = ", ".join(f"{k} {v}" for k, v in res.get("settled", {}).items())
    return [
        "", "## Machine", "", "| | |", "|---|---|",
        f"| CPUs (nproc) | {m['nproc']} |",
        f"| CPU model | {m['cpu']} |",
        f"| memory | {fmt(m['memory_gib'])} GiB |",
        f"| kernel | Linux {m['kernel']} |",
        f"| software | Python {m['python']}, Django {m['django']}, {m['postgresql']}, "
        f"{m['redis']}, Pulumi {m['pulumi']} |",
        f"| load average (1, 5, 15 min) | at the start {m['loadavg_start']}; after each "
        f"phase: {phases} |",
        *([f"| load average when each timed part started (after waiting) | {starts} |"]
          if starts else []),
    ]


def goals_section(res):
    goals = evaluate(res)
    state = {True: "met", False: "**missed**", None: "not measured"}
    lines = ["", "## Goals", "", "| goal | measured | |", "|---|---|---|"]
    lines += [f"| {goal} | {figure} | {state[met]} |" for _k, goal, figure, met in goals]
    missed = [g for g in goals if g[3] is False]
    if missed:
        lines += ["", "### Goals missed: why, and the next step", ""]
        for key, goal, figure, _ in missed:
            reason, step = explain(key, res)
            lines += [f"- **{goal}** ({figure}). {reason}", f"  *Next step:* {step}", ""]
    return lines


def pages_section(res, repeat):
    c = res["dataset"]
    lines = [
        "", "## 1. Pages (in-process, Django's test client)", "",
        f"The database holds {c['sites'] + c['vms']:,} resources ({c['sites']:,} sites, "
        f"{c['vms']:,} VMs) of {c['users']:,} users and {c['deployments']:,} deployments "
        "(two per resource, with a short log). The measured user has N sites *and* N VMs "
        "and 2 deployments per resource; each site holds an 8 KB page. For each page: "
        "warm-up, one request under `CaptureQueriesContext` for the query count (session "
        f"and user included), then {repeat} timed requests (`time.perf_counter`, DEBUG "
        "off). The lists show their first page (50 rows), the dashboard 10 sites, 10 VMs "
        "and the 15 latest deployments.", "",
        "| page | N | p50 ms | p95 ms | max ms | queries | response KiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['page']} | {r['n']:,} | {fmt(r['p50'])} | {fmt(r['p95'])} | "
              f"{fmt(r['max'])} | {r['queries']} | {r['bytes'] / 1024:,.0f} |"
              for r in res["pages"]]
    if res.get("breakdown"):
        lines += breakdown_lines(res["breakdown"])
    return lines


def breakdown_lines(b):
    n = f"{b['n']:,}"
    tail = b["gc_on_p95_ms"] > 1.5 * b["gc_off_p95_ms"]
    return [
        "", f"Where the site list's time goes at N={n} (medians), as the page does it now "
        "and as it did before pagination:", "", "| part | ms |", "|---|---:|",
        f"| the page's query: {b['page_rows']} rows (and one more, to know if there is a "
        f"next page) by key, without the unshown columns | {fmt(b['page_queries_ms'])} |",
        f"| rendering `sites/table.html` for those {b['page_rows']} rows | "
        f"{fmt(b['page_render_ms'])} |",
        f"| before: all {n} rows with every column ({b['content_mib']:.1f} MiB of "
        f"`content`) | {fmt(b['all_query_ms'])} |",
        f"| before: rendering the table for all {n} rows | {fmt(b['all_render_ms'])} |",
        "", f"Python's cyclic garbage collector, which a request allocating hundreds of "
        f"thousands of objects sets off, {'still makes' if tail else 'no longer makes'} "
        f"the tail: the site list over {b['gc_samples']} requests had p50 "
        f"{b['gc_on_p50_ms']:.1f} ms / p95 {b['gc_on_p95_ms']:.1f} ms as it runs, and "
        f"{b['gc_off_p50_ms']:.1f} ms / {b['gc_off_p95_ms']:.1f} ms with `gc.disable()` "
        "(measured only).",
    ]


def big_pages_section(res, repeat):
    c = res["big_dataset"]
    lines = [
        "", "### 1b. Pages at 100,000 resources and 1,000,000 deployments", "",
        f"The data set of `bench/bigdata.py`, built in bulk SQL in {c['seconds']:.0f} s: "
        f"{c['sites'] + c['vms']:,} resources ({c['sites']:,} sites, {c['vms']:,} VMs; 5% "
        f"deleted, 2% failed) of {c['users']:,} users, {c['deployments']:,} deployments "
        f"and {c['log_chunks']:,} log chunks. *bench-big* owns {c['big_user_resources']:,} "
        "of the resources and their deployments (the oldest ones: the case where a "
        "whole-table index on time misleads the planner); *bench-small* owns 10 sites and "
        "10 VMs in the same tables; the operator is a superuser. Timestamps go in pairs, so "
        "the pages by key break ties. Measured as in section 1: warm-up, the query count, "
        f"then {repeat} timed requests; *CPU ms* is the median CPU time of the benchmark's "
        "own process per request (the page's cost to a web process, whatever else the "
        "machine runs; the database's share is not in it). User lists show 50 rows, the "
        "feed 25, a history "
        "50, the admin's change lists 25, the API's lists 50; a deep page starts at a key "
        "halfway down the user's deployments (for the API, the `?cursor=` its own `next` "
        "link would carry there). The API is called as a script calls it: a read-only "
        "personal access token in `Authorization: Bearer`, no session.", "",
        "| page | user | p50 ms | p95 ms | max ms | CPU ms | queries | response KiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['page']} | {r['user']} | {fmt(r['p50'])} | {fmt(r['p95'])} | "
              f"{fmt(r['max'])} | {fmt(r['cpu_ms'])} | {r['queries']} | "
              f"{r['bytes'] / 1024:,.0f} |" for r in res["big_pages"]]
    return lines + [
        "", "What keeps them flat: indexes that lead with the owner (lists, feed) or the "
        "resource (history), none on time alone for the whole table (the planner would "
        "walk it and filter out everyone else's rows); pages by key (`?before=<time>,<id>`, "
        "`stacks/keyset.py`), no OFFSET and no COUNT; the admin's count stops at 10,001 "
        "rows, no second COUNT of the whole table, filters of fixed values (no SELECT "
        "DISTINCT), newest first by the primary key, a search by prefix or exact value "
        "(no LIKE '%…%').",
    ]


def tutorial_section(t):
    lines = [
        "", "## 2. The tutorial's way: a list from the Automation API", "",
        f"{t['engine_up_count']} real local site stacks were created with `stacks.engine.up` "
        f"(median {t['engine_up_median_s']:.2f} s each). One list page computed the "
        "tutorial's way is, for each stack, `engine.outputs(project, stack)` "
        "(`auto.select_stack` + `stack.outputs()`, i.e. Pulumi CLI processes); ours is the "
        "site list's p50 from section 1 at the same N.", "",
        "| N stacks | tutorial's list page | per stack | our site list p50 | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in t["rows"]:
        ratio = f"{r['ratio']:,.0f}×" if r["ratio"] else "n/a"
        lines.append(f"| {r['n']} | {r['median_s']:.2f} s (median of {r['reps']}) | "
                     f"{r['per_stack_ms']:.0f} ms | {fmt(r['ours_p50_ms'])} ms | {ratio} |")
    return lines


def writes_section(w):
    lines = [
        "", "## 3. Requests that change things", "",
        "Time from POST to the redirect, through Django's test client in-process, against "
        "the real PostgreSQL and Redis (the deployment is recorded and its job enqueued; no "
        "worker runs). Each round is a different user with two live sites (one updated, "
        "one deleted) and a new one created, so no quota applies; each page is 8 KB of "
        "HTML.", "",
        "| request | p50 ms | p95 ms | max ms | samples |", "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {op} a site | {fmt(r['p50'])} | {fmt(r['p95'])} | {fmt(r['max'])} | "
              f"{r['samples']} |" for op, r in w["ops"].items()]
    lines.append(f"\n{w['jobs_enqueued']} jobs were on the Redis queue afterwards, one per "
                 "request (warm-up included), as expected.")
    return lines


def load_section(ld):
    lines = [
        "", "## 5. Load: concurrent users against a real server", "",
        f"{ld['users']} simulated users (threads, `http.client`, one connection per request; "
        f"spread over {ld.get('generator_processes', 1)} forked processes, so that the "
        "generator's own GIL does not queue answers and add that wait to the latency) "
        f"for {ld['seconds']:.0f} s against `bench/server.py` on 127.0.0.1 (stdlib wsgiref "
        f"with a pool of {ld['threads']} threads, each keeping its database connection; one "
        "process; DEBUG off). Each user has a session (created with `force_login`, sent as "
        "a cookie) and 5 sites and 2 VMs to start with, then loops: dashboard, site list, "
        "the create form (for the CSRF token), POST create (8 KB page), and the site page "
        "it redirects to. The server's quotas and its rate limit on changes are raised "
        "(`HEROCOOL_QUOTA_SITES`, `HEROCOOL_QUOTA_LIVE_DEPLOYMENTS`, "
        "`HEROCOOL_RATE_CHANGES`): no worker drains the queue, and these users create sites "
        "faster than the 30 a minute a person may. The client and the server share the "
        "machine's CPUs.", "",
        "| requests | per second | errors | p50 ms | p95 ms | p99 ms | sites created |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {ld['requests']:,} | {ld['rps']:.0f} | {ld['errors']} | {fmt(ld['p50'])} | "
        f"{fmt(ld['p95'])} | {fmt(ld['p99'])} | {ld['sites_created']:,} |", "",
        "| request | count | p50 ms | p95 ms |", "|---|---:|---:|---:|",
    ]
    lines += [f"| {kind} | {r['count']:,} | {fmt(r['p50'])} | {fmt(r['p95'])} |"
              for kind, r in ld["by_kind"].items()]
    return lines + load_notes(ld)


def load_notes(ld):
    lines = [
        "", "These latencies are queueing, not slow requests: each simulated user sends its "
        "next request as soon as the last one is answered, so the server is always "
        "saturated and the mean latency is users ÷ throughput (Little's law: "
        f"{ld['users']} ÷ {ld['rps']:.0f}/s = {ld['users'] / ld['rps'] * 1000:.0f} ms). One "
        f"request costs about {1000 / ld['rps']:.1f} ms of the server's time (one Python "
        "process, so one CPU at most for Python, beside PostgreSQL and the load "
        "generator). Capacity grows with web processes (e.g. gunicorn with one worker per "
        "CPU) and with cheaper pages (section 1).",
    ]
    if ld["error_examples"]:
        lines += ["", "Errors (first ones):", ""]
        lines += [f"- `{e}`" for e in ld["error_examples"]]
    return lines


def production_section(single, prod):
    """The same users against the production web tier, beside the single process."""
    rows = [("single process (`bench/server.py`)", single),
            ("production: gunicorn, `herocool_project/gunicorn.py`", prod)]
    lines = [
        "", "### 5b. The production web tier beside the single process (same run)", "",
        "The same load, with users of its own, against gunicorn as the Procfile's `web` runs "
        "it (gthread: `WEB_CONCURRENCY` processes, default one per CPU, × `WEB_THREADS` threads, default 8; the application preloaded; whitenoise; DEBUG off), "
        "right after the single-process run on the same machine.", "",
        "| server | requests | per second | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {name} | {r['requests']:,} | {r['rps']:.0f} | {r['errors']} | "
              f"{fmt(r['p50'])} | {fmt(r['p95'])} | {fmt(r['p99'])} |" for name, r in rows]
    lines += ["", f"Throughput ratio, production ÷ single: **{prod['rps'] / single['rps']:.2f}×**."]
    return lines + cpu_lines(rows)


def cpu_lines(rows):
    """Where the machine's CPU went during each run (from /proc): the web server's
    processes, PostgreSQL's, the load generator's; per request and as CPUs busy."""
    if not all(r.get("cpu_seconds") for _, r in rows):
        return []
    lines = ["", "CPU used during each run (from /proc: the server's process group, the "
             "benchmark PostgreSQL and its backends, the generator's processes):", "",
             "| server | web ms/request | PostgreSQL ms/request | generator ms/request | "
             "CPUs busy (of the machine's) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows:
        c, n = r["cpu_seconds"], max(r["requests"], 1)
        busy = sum(c.values()) / r["seconds"]
        lines.append(f"| {name} | {c['server'] * 1000 / n:.1f} | {c['postgres'] * 1000 / n:.1f} "
                     f"| {c['generator'] * 1000 / n:.1f} | {busy:.2f} |")
    return lines


KEPT = "bench/kept.md"


def kept_sections():
    """Sections 6 and 7, measured by their own scripts (bench/hosts.sh, backends.sh,
    vmboot.py, sites_release.py) and kept in bench/kept.md, each saying when: a full
    run carries them instead of dropping them."""
    from bench.common import BASE

    text = (BASE / KEPT).read_text().rstrip("\n")
    return ["", *text.splitlines()]


def report(res, meta):
    """The whole file; meta: started, finished, quick, command, commit, tree."""
    lines = header(res, meta) + machine_section(res) + goals_section(res)
    if res.get("pages"):
        lines += pages_section(res, res["params"]["page_repeat"])
    if res.get("big_pages"):
        lines += big_pages_section(res, res["params"]["big_repeat"])
    if res.get("tutorial"):
        lines += tutorial_section(res["tutorial"])
    if res.get("writes"):
        lines += writes_section(res["writes"])
    if res.get("deployments"):
        lines += deployments_section(res["deployments"], res["machine"]["nproc"])
    if res.get("load"):
        lines += load_section(res["load"])
    if res.get("load_production"):
        lines += production_section(res["load"], res["load_production"])
    if not meta["quick"] and res.get("load"):
        lines += kept_sections()
    lines += ["", "## Parameters of this run", "",
              "```json", json.dumps(res["params"], indent=2), "```", ""]
    return "\n".join(lines)
