"""Phase 3: POST → redirect for create, update and delete of a site, recorded and
enqueued on the real Redis, no worker running."""
import time

from django.urls import reverse

from bench.common import PAGE_HTML, log, spread
from bench.data import (add_resources, empty_queue, host_standing_by, numbered_users,
                        queued_jobs)
from bench.pages import logged_in

OPS = ("create", "update", "delete")


def requests_for(user, i):
    """(operation, url, form data) of one round: a new site, and two live ones to update
    and delete."""
    to_update, to_delete = add_resources(user, 2, 0, deployments_each=1)[0]
    return [
        ("create", reverse("sites-create"),
         {"name": f"new-{i}", "source": "html", "html": PAGE_HTML}),
        ("update", reverse("sites-update", args=[to_update.code]),
         {"source": "html", "html": PAGE_HTML + f"<!-- v{i} -->"}),
        ("delete", reverse("sites-delete", args=[to_delete.code]), {}),
    ]


def timed_post(client, op, url, data):
    t0 = time.perf_counter()
    response = client.post(url, data)
    elapsed = time.perf_counter() - t0
    assert response.status_code == 302, (op, response.status_code, response.content[:2000])
    assert response.url.startswith("/sites/"), response.url
    return elapsed


def bench_writes(repeat, warmup):
    """One user per round so that no quota is hit; the first `warmup` rounds are not
    counted."""
    empty_queue()
    times = {op: [] for op in OPS}
    with host_standing_by():
        for i, user in enumerate(numbered_users("writer", repeat + warmup)):
            client = logged_in(user)
            for op, url, data in requests_for(user, i):
                elapsed = timed_post(client, op, url, data)
                if i >= warmup:
                    times[op].append(elapsed)
    enqueued, expected = queued_jobs(), len(OPS) * (repeat + warmup)
    assert enqueued == expected, f"{enqueued} jobs on the queue, expected {expected}"
    empty_queue()
    results = {op: spread(t) for op, t in times.items()}
    for op, r in results.items():
        log(f"write {op:6}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms")
    return {"ops": results, "jobs_enqueued": enqueued}
