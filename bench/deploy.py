"""Phase 4: deployments. Our whole job through a real `rqworker` (enqueue → live), run
by run alternately with the same job's code called in this warm process (each Pulumi
CLI process timed) and the baselines of bench.baselines, so that a change in the
machine's background load falls on all alike; then an update of the same site, ours
against a bare `pulumi up`; throughput with one and two workers. The real worker runs
the CLI through bench.cli_shim, which records each process it starts."""
import datetime as dt
import statistics
import time

from django.conf import settings
from django.urls import reverse

from bench.baselines import baselines, update_baselines
from bench.cli_shim import CliShim, deployment_calls
from bench.cli_timer import CliCallTimer
from bench.common import (PAGE_HTML, child_env, log, pulumi_cli, spawn_guarded, stop_process,
                          wait_until)
from bench.data import empty_queue, numbered_users
from bench.pages import logged_in
from sites.models import Site
from stacks.models import Deployment, Status
from stacks.services import request_deployment


def start_worker(run_dir, name, burst, env=None):
    args = ["manage.py", "rqworker", "default", "--name", name] + (["--burst"] if burst else [])
    return spawn_guarded(args, run_dir / f"worker-{name}.log", env)


def to_utc(value):
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def post_create(user, name):
    client = logged_in(user)
    response = client.post(reverse("sites-create"),
                           {"name": name, "source": "html", "html": PAGE_HTML})
    assert response.status_code == 302, response.content[:2000]
    return Site.objects.get(owner=user, name=name)


def live_site(site):
    """The site after its job, which must have made it live, and its deployment."""
    site.refresh_from_db()
    dep = site.deployments.get()
    assert site.status == Status.LIVE, (site.status, site.last_error, dep.full_log())
    return site, dep


def _timings(queue, site, dep, shim):
    from rq.job import Job

    job = Job.fetch(str(dep.code), connection=queue.connection, serializer=queue.serializer)
    enqueued = to_utc(job.enqueued_at)
    return {
        "enqueued_to_live_s": (site.updated - enqueued).total_seconds(),
        "enqueued_to_claimed_s": (dep.started_at - enqueued).total_seconds(),
        "claimed_to_live_s": (site.updated - dep.started_at).total_seconds(),
        **deployment_calls(shim.take()),
    }


def our_run(queue, user, i, shim):
    """POST a new site and wait for the idle worker to make it live."""
    site = post_create(user, f"deploy-{i}")
    wait_until(lambda: Site.objects.filter(pk=site.pk).exclude(
        status__in=[Status.PENDING, Status.PROVISIONING]).exists(), 300,
        what="the site to go live")
    site, dep = live_site(site)
    return _timings(queue, site, dep, shim), site


def our_update(queue, site, i, shim):
    """POST new content for the site and wait for the idle worker to make it live."""
    response = logged_in(site.owner).post(
        reverse("sites-update", args=[site.code]),
        {"source": "html", "html": PAGE_HTML.replace("<body>", f"<body><p>v{i}</p>", 1)})
    assert response.status_code == 302, response.content[:2000]
    done = [Deployment.State.SUCCEEDED, Deployment.State.FAILED, Deployment.State.CANCELLED]
    wait_until(lambda: site.deployments.filter(status__in=done).count() == 2, 300, 0.02,
               "the update to finish")
    site.refresh_from_db()
    dep = site.deployments.latest("queued_at")
    assert site.status == Status.LIVE and dep.status == Deployment.State.SUCCEEDED, (
        site.status, site.last_error, dep.full_log())
    return _timings(queue, site, dep, shim)


def log_run(i, rows, what="deployment"):
    ours = rows["real"]
    parts = [f"ours {ours['enqueued_to_live_s']:.2f}s (claimed after "
             f"{ours['enqueued_to_claimed_s']:.2f}s; CLI {' + '.join(ours['cli_names'])}, "
             f"up {ours['cli_up_s']:.2f}s)"]
    parts += [f"{name} {r['total_s']:.2f}s" for name, r in rows.items() if name != "real"]
    log(f"{what} run {i}: " + ", ".join(parts) + (" [warm-up]" if not i else ""))


def paired_runs(run_dir, runs, others, updates):
    """Each run: our job while one real forking worker (`rqworker default`) waits idle
    on the queue, then each of others (name → one(i)); then an update of our new site,
    then each of updates (name → one(i)). The first run warms the disk cache and is not
    counted. Returns {"real": our rows, name: its rows, "update": {the same}}."""
    from rq import Worker

    queue = empty_queue()
    shim = CliShim(run_dir / "cli-shim", pulumi_cli())
    worker = start_worker(run_dir, "bench-idle", burst=False,
                          env=child_env(HEROCOOL_PULUMI_ROOT=str(shim.root)))
    out = {"real": [], **{name: [] for name in others}}
    upd = {"real": [], **{name: [] for name in updates}}
    try:
        wait_until(lambda: Worker.all(connection=queue.connection), 60, 0.1,
                   "the worker to register")
        shim.take()  # the worker's one version check, before its first job
        for i, user in enumerate(numbered_users("deployer", runs + 1)):
            real, site = our_run(queue, user, i, shim)
            rows = {"real": real}
            rows.update((name, one(i)) for name, one in others.items())
            log_run(i, rows)
            urows = {"real": our_update(queue, site, i, shim)}
            urows.update((name, one(i)) for name, one in updates.items())
            log_run(i, urows, "update")
            if i:
                for name, row in rows.items():
                    out[name].append(row)
                for name, row in urows.items():
                    upd[name].append(row)
    finally:
        stop_process(worker)
    return {**out, "update": upd}


def in_process(runs):
    """Returns one(i): our job's own code, `stacks.jobs.run_deployment`, for a new site,
    called in this warm process (no RQ, no fork), with each Pulumi CLI process timed."""
    from unittest import mock

    from stacks.jobs import run_deployment

    users = numbered_users("inproc", runs + 1)

    def one(i):
        site = Site.objects.create(owner=users[i], name=f"inproc-{i}", content=PAGE_HTML)
        with mock.patch("stacks.services.enqueue"):  # the idle worker must not take it
            dep = request_deployment(site, Deployment.Action.CREATE, users[i])
        with CliCallTimer() as timer:
            t0 = time.perf_counter()
            run_deployment(dep.pk)
            elapsed = time.perf_counter() - t0
        live_site(site)
        calls = timer.take()
        return {"total_s": elapsed, "cli_calls": calls, "cli_total_s": sum(calls.values())}

    return one


def queue_creations(tag, jobs):
    per_user = settings.QUOTA_LIVE_DEPLOYMENTS
    users = numbered_users(tag, (jobs + per_user - 1) // per_user)
    sites = []
    for i in range(jobs):
        owner = users[i // per_user]
        site = Site.objects.create(owner=owner, name=f"{tag}-{i}", content=PAGE_HTML)
        request_deployment(site, Deployment.Action.CREATE, owner)
        sites.append(site)
    return sites


def throughput(run_dir, jobs, workers):
    """Start `workers` rqworker processes (a local site is placed on a live host only:
    stacks/hosts.py), then queue `jobs` site creations and wait for them all."""
    from stacks.hosts import live_host_names

    empty_queue()
    tag = f"tp{workers}"
    procs = [start_worker(run_dir, f"{tag}-w{k}", burst=False) for k in range(workers)]
    try:
        wait_until(lambda: settings.HEROCOOL_HOST in live_host_names(), 120,
                   what="this host's workers")
        t0 = time.perf_counter()
        sites = queue_creations(tag, jobs)
        names = [s.stack_name for s in sites]
        wait_until(lambda: not Deployment.objects.filter(
            stack_name__in=names, status__in=Deployment.ACTIVE_STATES).exists(),
            max(600, 60 * jobs), interval=0.2, what="every deployment to finish")
    finally:
        for p in procs:
            stop_process(p)
    wall = time.perf_counter() - t0
    deps = list(Deployment.objects.filter(stack_name__in=[s.stack_name for s in sites]))
    assert {d.status for d in deps} == {Deployment.State.SUCCEEDED}, deps
    busy = (max(d.finished_at for d in deps) - min(d.started_at for d in deps)).total_seconds()
    row = {"workers": workers, "jobs": jobs, "wall_s": wall, "busy_s": busy,
           "job_median_s": statistics.median(
               (d.finished_at - d.started_at).total_seconds() for d in deps),
           "per_minute": jobs / busy * 60, "per_minute_wall": jobs / wall * 60}
    log(f"throughput with {workers} worker(s): {jobs} deployments in {busy:.1f}s "
        f"({row['per_minute']:.1f}/min; {wall:.1f}s from the first request)")
    return row


def bench_deployments(run_dir, runs, jobs, language_host):
    others = {"inproc": in_process(runs), **baselines(run_dir, language_host)}
    paired = paired_runs(run_dir, runs, others, update_baselines(run_dir, language_host))
    tp = [throughput(run_dir, jobs, w) for w in (1, 2)]
    empty_queue()
    return {"cli": [], **paired, "throughput": tp,
            "language_host": str(language_host) if language_host else None}
