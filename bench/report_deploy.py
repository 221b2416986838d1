"""Section 4 of BENCHMARKS.md: deployments against the engine's floor, the raw
Automation API and a bare `pulumi up`, where our job's time goes, and throughput."""
import statistics

from bench.baselines import NO_LANGUAGE_HOST
from bench.goals import GOALS, RATIOS, TOTALS, deploy_facts, issue13_facts

PAIRED = [
    ("real", "**ours: the whole job through a real forking worker (`rqworker`) idle on the "
     "queue, enqueued → site `live`**"),
    ("inproc", "ours without RQ: `stacks.jobs.run_deployment` called in the benchmark's "
     "warm process (no queue, no fork)"),
    ("engine", "the engine's floor: `stacks.engine.up` of the same program called directly "
     "(no Django job, no RQ)"),
    ("raw", "the raw Automation API: `create_or_select_stack` + `up` with the engine's "
     "workspace options"),
    ("cli", "bare CLI: `pulumi stack init` + `pulumi up --yes --skip-preview`"),
]
PARTS = [
    ("real", "enqueued_to_claimed_s", "ours, enqueued → job claimed (dequeue, fork, imports)"),
    ("real", "claimed_to_live_s", "ours, claimed → `live` (`engine.up`, log, outputs, "
     "status)"),
    ("cli", "init_s", "bare CLI: `pulumi stack init`"),
    ("cli", "up_s", "bare CLI: `pulumi up --yes --skip-preview`"),
]
RATIO_LABELS = {
    ("real", "inproc"): "RQ's dequeue, the fork and a work-horse starting cold",
    ("inproc", "engine"): "our job around `engine.up`: the claim, log lines written to "
                          "PostgreSQL as they come, status updates, the outputs sync",
    ("engine", "raw"): "`stacks.engine` around the Automation API",
    ("real", "engine"): "**all of ours: the whole job against the engine's floor**",
    ("real", "cli"): "**the whole job against the bare CLI (the goal)**",
}
NAMES = {"real": "ours", "inproc": "ours without RQ", "engine": "`engine.up`",
         "raw": "raw Automation API", "cli": "bare CLI"}


def _row(label, vals):
    med = statistics.median(vals)
    return f"| {label} | {med:.2f} | {min(vals):.2f} | {max(vals):.2f} |"


def paired_table(d):
    lines = ["| one new local site stack | median s | min s | max s |", "|---|---:|---:|---:|"]
    lines += [_row(label, [r[TOTALS[name]] for r in d[name]])
              for name, label in PAIRED if d.get(name)]
    lines += ["", "| where ours goes | median s | min s | max s |", "|---|---:|---:|---:|"]
    return lines + [_row(label, [r[key] for r in d[name]]) for name, key, label in PARTS
                    if d.get(name)]


def ratio_table(d, f):
    lines = ["", f"The ratios, each the median over the {len(d['real'])} paired runs of one "
             "side's time ÷ the other's, and the difference of the medians:", "",
             "| | what the difference is | ratio | difference s |", "|---|---|---:|---:|"]
    for a, b in RATIOS:
        if d.get(a) and d.get(b):
            lines.append(f"| {NAMES[a]} ÷ {NAMES[b]} | {RATIO_LABELS[(a, b)]} | "
                         f"{f[f'{a}_vs_{b}_pct']:+.0f}% | {f[f'{a}_s'] - f[f'{b}_s']:+.2f} |")
    return lines


def api_calls_table(f):
    lines = ["", "The Pulumi CLI processes our job started for one new site (ours without "
             "RQ, medians; timed around the SDK's `PulumiCommand.run`, which "
             "`stacks.engine` runs each through, and its constructor, which runs "
             "`pulumi version`, once per process):", "",
             "| CLI process | s |", "|---|---:|"]
    lines += [f"| `pulumi {k}`" + (" (both calls)" if k == "stack output" else "")
              + f" | {v:.2f} |" for k, v in f["api_calls"].items()]
    return lines + [
        f"| all of them | {f['api_cli_total_s']:.2f} |",
        f"| the rest of our job (workspace set-up, claim, log lines, status, outputs) | "
        f"{f['ours_rest_s']:.2f} |"]


def cli_text(d, f):
    if not d["cli"]:
        return ["", NO_LANGUAGE_HOST]
    return [
        "", f"Overhead of our whole job over the bare CLI: **{f['real_vs_cli_pct']:+.0f}%**, "
        f"the median of the ratios of {len(d['cli'])} paired runs (medians "
        f"{f['real_s']:.2f} s vs {f['cli_s']:.2f} s). The bare CLI run is a `Pulumi.yaml` "
        "project (runtime python, `virtualenv` option on our `.venv`) whose `__main__.py` "
        "declares the same `LocalSite` dynamic resource from "
        "`sites/programs/local_provider.py`, with a `file://` backend in a temporary "
        "directory, `PULUMI_CONFIG_PASSPHRASE`, `PYTHONPATH` and `PULUMI_PYTHON_CMD` set, "
        f"and `pulumi-language-python` from `{d['language_host']}` first on PATH. "
        "It starts the Go language host and a fresh Python interpreter that imports the "
        "Pulumi SDK for the program, which is why its `pulumi up` takes longer than the "
        "Automation API's, whose inline program is served from the calling process; both "
        "start the same dynamic-provider process (`pulumi-resource-pulumi-python`). Neither "
        "reads the outputs or the history back after the update: `stacks.engine` takes "
        "them from the engine's event stream (the raw Automation API's `Stack.up` still "
        "runs two `stack output` and a `stack history`).",
    ]


def issue13_lines(d):
    """The ratios and counts of issue #13, and the update runs they use."""
    f, upd = issue13_facts(d), d.get("update", {})
    lines = ["", "### The ratios of issue #13 (medians of paired runs)", "",
             "| | ratio | goal |", "|---|---:|---:|"]
    for key, goal, text in [
            ("create_vs_cli", "create_vs_cli", "new site, enqueue → live: ours ÷ bare CLI "
             "(`stack init` + `up`)"),
            ("update_vs_cli", "update_vs_cli", "update, enqueue → live: ours ÷ bare "
             "`pulumi up`"),
            ("update_vs_up", "ours_vs_up", "update: ours ÷ the engine's own `up` process"),
            ("create_vs_own", "ours_vs_up", "new site: ours ÷ the engine's own CLI processes "
             "(`stack init` + `up`)"),
            ("create_vs_up", None, "new site: ours ÷ its `up` process alone (no goal: a "
             "create's `stack init` is a process of its own)")]:
        value = "n/a" if f[key] is None else f"{f[key]:.2f}"
        lines.append(f"| {text} | {value} | {f'≤ {GOALS[goal]}' if goal else '—'} |")
    lines += ["", f"CLI processes per deployment (through the real worker, counted by "
              f"`bench/cli_shim.py`): a create {f['create_processes']:.0f} "
              f"({' + '.join(f['create_names'])}), an update "
              f"{f.get('update_processes', 0):.0f} ({' + '.join(f.get('update_names', []))}); "
              "the worker's one `pulumi version` runs before its first job."]
    if upd.get("real"):
        lines += ["", "| update of the same site (new content) | median s | min s | max s |",
                  "|---|---:|---:|---:|",
                  _row("**ours, enqueued → `live`**",
                       [r["enqueued_to_live_s"] for r in upd["real"]]),
                  _row("ours: its `pulumi up` process",
                       [r["cli_up_s"] for r in upd["real"]])]
        if upd.get("cli"):
            lines.append(_row("bare CLI: `pulumi up --yes --skip-preview`",
                              [r["total_s"] for r in upd["cli"]]))
    return lines


def throughput_lines(d, nproc):
    lines = [
        "", "Throughput: N `manage.py rqworker default` processes started (a local site "
        "is placed only on a live host), then the site creations requested together. Rate "
        "over the busy period (first job claimed → last job finished); the wall time runs "
        "from the first request. With "
        f"{nproc} CPUs a second worker helps less than twice: one deployment keeps about "
        "one CPU busy (the Pulumi CLI, the provider process and the worker), so two at "
        "once slow each other down (median job time).", "",
        "| workers | deployments | median job s | busy s | per minute | "
        "wall s (from the first request) | per minute (wall) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['workers']} | {r['jobs']} | {r['job_median_s']:.2f} | {r['busy_s']:.1f} | "
              f"{r['per_minute']:.1f} | {r['wall_s']:.1f} | {r['per_minute_wall']:.1f} |"
              for r in d["throughput"]]
    return lines


def deployments_section(d, nproc):
    f = deploy_facts(d)
    lines = [
        "", "## 4. Deployments: our job against the engine's floor and a bare `pulumi up`",
        "", f"One local site (8 KB page), created from scratch, {len(d['real'])} times each "
        "after one warm-up run (medians). Each run is ours, then the same job's code "
        "without RQ, the engine's floor, the raw Automation API and the bare CLI (when "
        "its language host is at hand), one after the other, so that a change in the "
        "machine's load falls on all alike; all but ours run in the benchmark's own warm "
        "process. None runs a separate preview: the Automation API's `up` runs `pulumi up "
        "--yes --skip-preview`, and so does the bare CLI.", "",
    ]
    lines += paired_table(d) + ratio_table(d, f) + issue13_lines(d) + api_calls_table(f)
    return lines + cli_text(d, f) + throughput_lines(d, nproc)
