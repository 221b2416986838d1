"""Why a goal was missed and what to do next, written from the measurements (see the
breakdown tables); used only for goals a run actually missed. Figures in braces come
from the run (bench.goals.deploy_facts and the page breakdown)."""
from bench.goals import deploy_facts, issue13_facts

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
    # Issue #13's deployment goals (bench.goals.issue13_goals).
    "create_vs_cli": (
        "A new site took {real_s:.2f} s from enqueue to live against {cli_s:.2f} s for the "
        "bare CLI's `stack init` + `up` ({create_names_text}); ours ÷ our own `up` "
        "process was {create_vs_up:.2f}.",
        "See where ours goes (section 4): the claim, the fork and `stack init` are what is "
        "left around `up`; measure again on a quiet machine.",
    ),
    "update_vs_cli": (
        "An update took {update_s:.2f} s from enqueue to live against {update_cli_s:.2f} s "
        "for a bare `pulumi up`; our `up` process alone took {update_up_s:.2f} s.",
        "Measure again on a quiet machine with more paired runs.",
    ),
    "update_vs_up": (
        "Our update took {update_vs_up:.2f}× its own `up` process ({update_up_s:.2f} s): "
        "the rest is the queue, the fork, the claim, the log and the status writes.",
        "Look at enqueued → claimed in section 4 (the worker's poll and fork).",
    ),
    "create_vs_own": (
        "A create took {create_vs_own:.2f}× its own CLI processes ({create_names_text}): "
        "the rest is the queue, the fork, the claim, the log and the status writes.",
        "Look at enqueued → claimed in section 4 (the worker's poll and fork).",
    ),
    "cli_processes": (
        "More CLI processes than the goal: {create_names_text} for a create.",
        "See stacks/tests/test_cli_processes.py, which counts them.",
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
        facts.update({k: v for k, v in issue13_facts(res["deployments"]).items()
                      if v is not None})
        facts["create_names_text"] = " + ".join(facts.get("create_names", []))
    return tuple(text.format_map(facts) for text in MISSED[key])
