"""The goals, whether a run met them, and the figures the report's explanations use."""
import statistics

from bench.pages import PAGES

GOALS = {
    "pages_p95_ms": 50.0,   # p95 of each page at 1,000 resources
    "writes_p95_ms": 100.0,  # p95 of create, update and delete requests
    "overhead_pct": 10.0,    # our deployment vs a bare `pulumi up`
}
# What each paired run measures, and the pairs whose ratios the report gives.
TOTALS = {"real": "enqueued_to_live_s", "inproc": "total_s", "engine": "total_s",
          "raw": "total_s", "cli": "total_s"}
RATIOS = [("real", "inproc"), ("inproc", "engine"), ("engine", "raw"), ("real", "engine"),
          ("real", "cli")]


def paired_pct(deps, a, b):
    """The median over paired runs of a's time ÷ b's, as a percentage over 100."""
    ratios = [x[TOTALS[a]] / y[TOTALS[b]] for x, y in zip(deps[a], deps[b])]
    return (statistics.median(ratios) - 1) * 100


def cli_call_facts(runs):
    """Medians of the in-process runs: each CLI process, and the rest of our job."""
    med = statistics.median
    names = dict.fromkeys(k for r in runs for k in r["cli_calls"])  # in call order
    calls = {k: med(r["cli_calls"].get(k, 0.0) for r in runs) for k in names}
    reads = sum(v for k, v in calls.items() if k in ("stack output", "stack history"))
    return {
        "api_calls": calls, "api_up_s": calls.get("up", 0.0),
        "api_init_s": calls.get("stack init", 0.0),
        "api_select_s": calls.get("stack select", 0.0),
        "api_version_s": calls.get("version", 0.0), "api_reads_s": reads,
        # What the next steps of the missed overhead goal would save.
        "avoidable_s": reads + calls.get("stack select", 0.0) + calls.get("version", 0.0),
        "api_cli_total_s": med(r["cli_total_s"] for r in runs),
        "ours_rest_s": med(r["total_s"] - r["cli_total_s"] for r in runs),
    }


def deploy_facts(deps):
    """Medians (name_s) and paired ratios (a_vs_b_pct) of section 4."""
    med = statistics.median
    facts = {f"{name}_s": med(r[key] for r in deps[name])
             for name, key in TOTALS.items() if deps.get(name)}
    facts.update({f"{a}_vs_{b}_pct": paired_pct(deps, a, b)
                  for a, b in RATIOS if deps.get(a) and deps.get(b)})
    real = deps["real"]
    facts.update(claim_s=med(r["enqueued_to_claimed_s"] for r in real),
                 real_minus_engine_s=facts["real_s"] - facts["engine_s"])
    if deps.get("cli"):
        facts.update(cli_up_s=med(c["up_s"] for c in deps["cli"]),
                     cli_init_s=med(c["init_s"] for c in deps["cli"]))
    return {**facts, **cli_call_facts(deps["inproc"])}


def page_goals(pages):
    top = max(r["n"] for r in pages)
    at_top = [r for r in pages if r["n"] == top]
    worst = max(at_top, key=lambda r: r["p95"])
    flat = all(len({r["queries"] for r in pages if r["page"] == p}) == 1 for p, _ in PAGES)
    counts = ", ".join(f"{p} {next(r['queries'] for r in pages if r['page'] == p)}"
                       for p, _ in PAGES)
    return [("pages", f"p95 < {GOALS['pages_p95_ms']:.0f} ms at {top:,} resources",
             f"worst: {worst['page']} {worst['p95']:.1f} ms",
             all(r["p95"] < GOALS["pages_p95_ms"] for r in at_top)),
            ("queries", "query count independent of the number of resources", counts, flat)]


def big_page_goals(big):
    """The pages at 100,000 resources and 1,000,000 deployments (bench/bigpages.py)."""
    worst = max(big, key=lambda r: r["p95"])
    pairs = {}
    for r in big:
        if r["user"] != "operator":
            pairs.setdefault(r["page"], {})[r["user"]] = r["queries"]
    unequal = [p for p, q in pairs.items() if len(set(q.values())) != 1]
    return [("big_pages", f"p95 < {GOALS['pages_p95_ms']:.0f} ms at 100,000 resources and "
             "1,000,000 deployments (user pages, admin lists)",
             f"worst: {worst['page']} ({worst['user']}) {worst['p95']:.1f} ms",
             all(r["p95"] < GOALS["pages_p95_ms"] for r in big)),
            ("big_queries", "a user with 10,000 resources and 100,000 deployments reads as "
             "many queries per page as one with 20",
             "different: " + ", ".join(unequal) if unequal else
             "equal on all {} pages".format(len(pairs)), not unequal)]


def overhead_goal(deps):
    goal = (f"deployment within {GOALS['overhead_pct']:.0f}% of a bare "
            "`pulumi stack init` + `pulumi up`")
    if not deps["cli"]:
        return ("overhead", goal, "no `pulumi-language-python` here (section 4)", None)
    f = deploy_facts(deps)
    return ("overhead", goal, f"{f['real_vs_cli_pct']:+.0f}%: median of paired runs, "
            f"{f['real_s']:.2f} s vs {f['cli_s']:.2f} s",
            f["real_vs_cli_pct"] <= GOALS["overhead_pct"])


def evaluate(res):
    """Each goal: (key, goal, figure, met), met None when it was not measured."""
    goals = page_goals(res["pages"]) if res.get("pages") else []
    if res.get("big_pages"):
        goals += big_page_goals(res["big_pages"])
    writes = res.get("writes")
    if writes:
        worst = max(writes["ops"].items(), key=lambda kv: kv[1]["p95"])
        goals.append(("writes", f"write p95 < {GOALS['writes_p95_ms']:.0f} ms",
                      f"worst: {worst[0]} {worst[1]['p95']:.1f} ms",
                      all(r["p95"] < GOALS["writes_p95_ms"] for r in writes["ops"].values())))
    if res.get("deployments"):
        goals.append(overhead_goal(res["deployments"]))
    load = res.get("load")
    if load:
        goals.append(("load", "no errors under load", f"{load['errors']} errors in "
                      f"{load['requests']:,} requests", load["errors"] == 0))
    prod = res.get("load_production")
    if load and prod:
        ratio = prod["rps"] / load["rps"]
        goals.append(("tier", "production tier ≥ 2× single-process throughput",
                      f"{prod['rps']:.0f}/s vs {load['rps']:.0f}/s = {ratio:.2f}×", ratio >= 2))
        goals.append(("tier_p95", "production tier p95 < 300 ms, 0 errors",
                      f"p95 {prod['p95']:.0f} ms, {prod['errors']} errors",
                      prod["p95"] < 300 and prod["errors"] == 0))
    return goals
