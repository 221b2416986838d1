"""Why a goal was missed and what to do next, written from the measurements (see the
breakdown tables); used only for goals a run actually missed. Figures in braces come
from the run (bench.goals.deploy_facts and the page breakdown)."""
from bench.goals import deploy_facts

MISSED = {
    "pages": (
        "The lists now read one page of 50 rows without the columns they never show, and "
        "the dashboard ten of each: at N={n:,} the site list's queries take "
        "{page_queries_ms:.1f} ms and its table {page_render_ms:.1f} ms (all {n:,} rows "
        "took {all_query_ms:.0f} ms to read and {all_render_ms:.0f} ms to render before). "
        "What is left is the fixed cost of a request on this shared machine: see the p50 "
        "against the p95 in section 1.",
        "Profile the slowest page at N=1,000 (the query log and cProfile) and run this "
        "benchmark again on a quiet machine.",
    ),
    "big_pages": (
        "The queries of these pages take a millisecond or two each at this size (indexes "
        "led by the owner or the resource, pages by key, a capped count in the admin): "
        "what is left is rendering the rows, about half a millisecond to a millisecond "
        "each in Django's templates and the admin's change list, on two CPUs shared with "
        "PostgreSQL and other work.",
        "Profile the slowest page (cProfile around the test client); fewer rows per page "
        "or cheaper row templates; run again on a quiet machine.",
    ),
    "big_queries": ("A page reads more queries for the user with many rows: see the query "
                    "counts of section 1b.",
                    "select_related/prefetch_related the relation the template follows."),
    "queries": ("A page's query count grows with its rows (an N+1): see the query "
                "counts per N above.",
                "select_related/prefetch_related the relation the template follows."),
    "writes": ("A write request takes a row lock, checks the quota with a COUNT over the "
               "user's live deployments, inserts the deployment, commits (an fsync) and "
               "then enqueues on Redis; the create form also counts the user's sites.",
               "Profile the slowest request with the query log; see the figures above."),
    "overhead": (
        "Not a preview: neither side runs one. Against the engine's floor (section 4) our "
        "job took {real_s:.2f} s and `stacks.engine.up` of the same program, called "
        "directly, {engine_s:.2f} s ({real_vs_engine_pct:+.0f}% over paired runs): RQ, "
        "the fork and a cold work-horse account for {real_vs_inproc_pct:+.0f}% "
        "({claim_s:.2f} s of it from enqueue to claim), our own work around `engine.up` "
        "(the claim, log lines, status updates, outputs) for {inproc_vs_engine_pct:+.0f}%. "
        "`engine.up` and a raw `create_or_select_stack` + `up` differ by "
        "{engine_vs_raw_pct:+.0f}%, so most of the gap to the bare CLI is the Automation "
        "API's own CLI processes, each a Go start-up and, when it reads secrets with the "
        "passphrase provider, a key derivation: `pulumi version` ({api_version_s:.2f} s, "
        "the SDK's version check each time a workspace is made), `stack select` "
        "({api_select_s:.2f} s; `create_or_select_stack` tries it first and it fails for a "
        "new stack), `stack init` ({api_init_s:.2f} s) and `up` ({api_up_s:.2f} s), then, "
        "inside the SDK's `Stack.up`, two `stack output` and one `stack history` to read "
        "the outputs and the summary ({api_reads_s:.2f} s), which the bare run does not "
        "do; the bare CLI's `stack init` + `up` took {cli_s:.2f} s in all.",
        "Steps (1) to (3) would save about {avoidable_s:.2f} s a deployment. (1) Drop the "
        "SDK's three reads after the update: `Stack.up` always runs them, so "
        "`stacks/engine.py` would need its own copy of `Stack.up` without the trailing "
        "`self.outputs()` and `self.info()`, taking the outputs and the summary from the "
        "engine events (`on_event`: the root stack's `ResOutputsEvent`, the "
        "`SummaryEvent`), or an upstream option for it. (2) For a create, call "
        "`auto.create_stack` first and fall back to `select_stack` on "
        "`StackAlreadyExistsError` (a retried create), which saves the failing `stack "
        "select`. (3) Make the `PulumiCommand` once per process (`engine.pulumi_command`), "
        "not once per operation, which saves `pulumi version`. (4) Import `stacks.engine` "
        "in the worker's parent process (a small `rqworker` wrapper) so each forked "
        "work-horse inherits it. (5) Measure again with 15 or more paired runs on a quiet "
        "machine.",
    ),
    "load": ("Requests failed under load: see the examples in the load section.",
             "Read the server log (bench run directory) and fix the cause."),
    "tier": ("Two CPUs are shared by the web processes, PostgreSQL, Redis and the load "
             "generator (50 Python threads): more web processes cannot add CPU that is not "
             "there, so the ratio is bounded by what the generator and the database leave.",
             "Measure with the load generator on another machine (or pinned to its own "
             "CPU), and make each request cheaper (section 1: fewer queries per page, the "
             "session read once)."),
    "tier_p95": ("The users are a closed loop: each sends its next request as soon as the "
                 "last is answered, so latency is users ÷ throughput (Little's law): p95 "
                 "under 300 ms with 50 users needs about 250 requests a second, more than "
                 "two shared CPUs give at this cost per request.",
                 "Cheaper requests (see above), or the same goal measured with an open-loop "
                 "arrival rate a real installation sees."),
}


class _NotMeasured:
    def __format__(self, spec):
        return "n/a"


class _Facts(dict):
    def __missing__(self, key):
        return _NotMeasured()


def explain(key, res):
    """(reason, next step) of a missed goal with the run's figures filled in ("n/a"
    for a figure this run did not measure)."""
    facts = _Facts(res.get("breakdown") or {})
    if res.get("deployments"):
        facts.update(deploy_facts(res["deployments"]))
    return tuple(text.format_map(facts) for text in MISSED[key])
