"""What a deployment log costs: one flush (append) and one poll, when the log already
holds 100, 1,000 and 10,000 flushes, before and after the log became chunks.

    bash bench/logs.sh          # on a private PostgreSQL (fsync on), then on SQLite
    .venv/bin/python bench/logs.py [--repeat N]   # on the configured, migrated database

"Before" is the old code path reproduced on a table of its own with the old column: a
flush was `UPDATE … SET log = CONCAT(log, text)` (the ORM's Concat, as append_log did),
a poll loaded the row's whole log and sliced it (as deployment_log did). "After" is the
code as it is: append_log (one INSERT) and Deployment.read_log(after). Each log is
filled to its size in bulk, then timed over `--repeat` further flushes and polls, each
poll asking for the text the last flush added (what the page's script does each second).
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, spread, timings  # noqa: E402  (sets up Django)
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.db.models import F, TextField, Value  # noqa: E402
from django.db.models.functions import Concat  # noqa: E402

from sites.models import Site  # noqa: E402
from stacks.logwriter import append_log  # noqa: E402
from stacks.models import Deployment, DeploymentLogChunk  # noqa: E402

SIZES = (100, 1_000, 10_000)
# One flush: what a quarter of a second of `pulumi up` prints, three lines or so.
FLUSH = ("    + aws:s3:BucketObject index.html creating (0s)\n"
         "    + aws:s3:BucketObject index.html created (1s) [diff: +content,+key]\n"
         "@ updating....\n")


class OldLog(models.Model):
    """The deployment row's old `log` column, on a table the benchmark makes and drops."""

    log = models.TextField(blank=True)

    class Meta:
        app_label = "stacks"
        db_table = "bench_old_deployment_log"
        managed = False


def old_flush(pk, text):
    OldLog.objects.filter(pk=pk).update(
        log=Concat(F("log"), Value(text), output_field=TextField()))


def old_poll(pk, after):
    log_text = OldLog.objects.get(pk=pk).log
    return log_text[after:], len(log_text)


def measure_old(n, repeat):
    row = OldLog.objects.create(log=FLUSH * n)
    analyze()
    flushes = timings(lambda: old_flush(row.pk, FLUSH), repeat)
    after = len(FLUSH) * (n + repeat)
    old_flush(row.pk, FLUSH)
    polls = timings(lambda: old_poll(row.pk, after), repeat)
    assert old_poll(row.pk, after) == (FLUSH, after + len(FLUSH))
    page = timings(lambda: OldLog.objects.get(pk=row.pk).log, max(repeat // 5, 3))
    return flushes, polls, page


def measure_new(deployment, n, repeat):
    DeploymentLogChunk.objects.bulk_create(
        [DeploymentLogChunk(deployment=deployment, start=i * len(FLUSH),
                            end=(i + 1) * len(FLUSH), text=FLUSH) for i in range(n)],
        batch_size=2000)
    analyze()
    flushes = timings(lambda: append_log(deployment.pk, FLUSH), repeat)
    after = len(FLUSH) * (n + repeat)
    append_log(deployment.pk, FLUSH)
    polls = timings(lambda: deployment.read_log(after), repeat)
    assert deployment.read_log(after) == (FLUSH, after + len(FLUSH))
    page = timings(deployment.full_log, max(repeat // 5, 3))
    if n == SIZES[-1]:
        plan = deployment.log_chunks.filter(end__gt=after).order_by("end").explain()
        log(f"logs: a poll's plan at {n:,} flushes: {' / '.join(plan.splitlines())}")
    return flushes, polls, page


def analyze():
    """Table statistics, as autovacuum would keep them, so the planner sees the sizes."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def new_deployment(user, i):
    return Deployment.objects.create(
        resource_type=ContentType.objects.get_for_model(Site), resource_id=i,
        owner=user, stack_name=f"bench-log-{os.getpid()}-{i}", action="update",
        status=Deployment.State.SUCCEEDED)


def run(repeat):
    user, _ = get_user_model().objects.get_or_create(username="bench-logs")
    rows = []
    with connection.schema_editor() as editor:
        editor.create_model(OldLog)
    try:
        for i, n in enumerate(SIZES):
            old = measure_old(n, repeat)
            new = measure_new(new_deployment(user, i), n, repeat)
            rows.append((n, old, new))
            log(f"logs: {n} flushes measured")
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(OldLog)
        Deployment.objects.filter(owner=user).delete()
        user.delete()
    return rows


def report(rows, repeat):
    vendor = connection.vendor
    print(f"\nDeployment log on {vendor}: p50 (p95) in ms over {repeat} operations; "
          f"one flush = {len(FLUSH)} characters\n")
    print("| log holds | flush before | flush after | poll before | poll after "
          "| whole log before | whole log after |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, old, new in rows:
        cells = []
        for before, after in zip(old, new):
            cells += [_cell(before), _cell(after)]
        print(f"| {n:,} flushes ({n * len(FLUSH) / 1e6:.2f} MB) | " + " | ".join(cells) + " |")


def _cell(seconds):
    s = spread(seconds)
    return f"{s['p50']:.2f} ({s['p95']:.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    report(run(args.repeat), args.repeat)


if __name__ == "__main__":
    main()
