"""Phase 1: the list pages and the dashboard at N resources, in-process through
Django's test client, and where the site list's time goes at the largest N."""
import gc
import statistics

from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.common import log, ms, pct, spread, timings
from sites.models import Site
from stacks.keyset import keyset_page
from stacks.models import Status
from stacks.resource_views import PAGE_ROWS, active_for_user

PAGES = [("site list", "sites-index"), ("VM list", "vms-index"),
         ("dashboard", "accounts-dashboard")]
TABLE = "sites/table.html"


_handler = []


def logged_in(user):
    """A test client logged in as `user`. Every client shares one request handler, as
    every request of a web process does: a new handler loads the middleware again
    (whitenoise then indexes every static file, ~50 ms), which no real request pays."""
    client = Client()
    if _handler:
        client.handler = _handler[0]
    else:
        _handler.append(client.handler)
    client.force_login(user)
    return client


def time_get(client, url, repeat):
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    return timings(get, repeat)


def measure_page(client, label, url, n, repeat, warmup):
    time_get(client, url, warmup)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    # Read now: the log is cleared by the next request.
    queries = len(ctx.captured_queries)
    r = {"page": label, "url": url, "n": n, "queries": queries,
         "bytes": len(response.content), **spread(time_get(client, url, repeat))}
    log(f"page {label:9} N={n:5}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, "
        f"{r['queries']} queries, {r['bytes'] // 1024} KiB")
    return r


def bench_pages(users, sizes, repeat, warmup):
    results = []
    for n in sizes:
        client = logged_in(users[f"bench-n{n}"])
        for label, name in PAGES:
            results.append(measure_page(client, label, reverse(name), n, repeat, warmup))
    return results


def page_breakdown(user, repeat):
    """Where the site list's time goes at the largest N: its queries and its template,
    as the page does it (one page of rows, unshown columns deferred) and as it did before
    pagination (every row, every column)."""
    def median_ms(fn):
        fn()
        return ms(statistics.median(timings(fn, repeat)))

    def first_page():
        return keyset_page(active_for_user(Site, user), "created", "", PAGE_ROWS).rows

    every = Site.objects.filter(owner=user).exclude(status=Status.DELETED)
    rows, page = list(every), first_page()
    out = {
        "n": len(rows), "page_rows": len(page), "content_mib": _content_mib(user),
        "page_queries_ms": median_ms(first_page),
        "page_render_ms": median_ms(lambda: render_to_string(TABLE, {"sites": page})),
        "all_query_ms": median_ms(lambda: list(every.all())),
        "all_render_ms": median_ms(lambda: render_to_string(TABLE, {"sites": rows})),
        **gc_check(user, repeat * 2),
    }
    log(f"breakdown: {out}")
    return out


def _content_mib(user):
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(sum(octet_length(content)), 0) FROM sites_site "
                    "WHERE owner_id = %s AND status <> 'deleted'", [user.pk])
        return cur.fetchone()[0] / 2**20


def gc_check(user, repeat):
    """The site list's tail with Python's cyclic garbage collector on and off."""
    client = logged_in(user)
    url = reverse("sites-index")
    time_get(client, url, 3)
    on = time_get(client, url, repeat)
    gc.disable()
    try:
        off = time_get(client, url, repeat)
    finally:
        gc.enable()
    return {"gc_on_p50_ms": ms(pct(on, 50)), "gc_on_p95_ms": ms(pct(on, 95)),
            "gc_off_p50_ms": ms(pct(off, 50)), "gc_off_p95_ms": ms(pct(off, 95)),
            "gc_samples": repeat}
