"""Phase 2: a list page computed the Automation API tutorial's way (select each stack
and read its outputs) over real local site stacks, against our site list."""
import statistics
import time

from django.conf import settings

from bench.common import PAGE_HTML, log, ms, timings
from sites.programs import local
from sites.programs.spec import SiteSpec
from stacks import engine

PROJECT = "herocool-bench-tutorial"


def site_program(stack_name):
    """The local site program our jobs run for a site holding PAGE_HTML."""
    spec = SiteSpec(stack_name=stack_name, owner="bench", index_html=PAGE_HTML)
    return local.program(spec, sites_root=settings.SITES_ROOT,
                         url_template=settings.SITES_URL_TEMPLATE)


def create_stacks(count):
    stacks, up_times = [], []
    for i in range(count):
        name = f"site-bench-{i:03d}"
        t0 = time.perf_counter()
        result = engine.up(PROJECT, name, site_program(name))
        up_times.append(time.perf_counter() - t0)
        assert result.outputs.get("website_url"), result
        stacks.append(name)
    log(f"tutorial: {len(stacks)} stacks up, median engine.up "
        f"{statistics.median(up_times):.2f}s")
    return stacks, up_times


def list_the_tutorials_way(stacks):
    listing = [engine.outputs(PROJECT, s) for s in stacks]
    assert all(o.get("website_url") for o in listing)


def bench_tutorial(counts, reps, page_p50):
    """Time one list page computed the tutorial's way for each N in counts; page_p50
    maps N to our site list's p50 in ms (section 1)."""
    stacks, up_times = create_stacks(max(counts))
    rows = []
    for n in counts:
        median = statistics.median(timings(lambda: list_the_tutorials_way(stacks[:n]), reps))
        ours = page_p50.get(n)
        rows.append({"n": n, "reps": reps, "median_s": median, "per_stack_ms": ms(median / n),
                     "ours_p50_ms": ours, "ratio": median / (ours / 1000) if ours else None})
        log(f"tutorial N={n}: {median:.2f}s per list page "
            f"({rows[-1]['per_stack_ms']:.0f} ms per stack)")
    return {"rows": rows, "engine_up_median_s": statistics.median(up_times),
            "engine_up_count": len(up_times)}
