"""One site driven by many simultaneous actions (update, preview then apply, refresh,
cancel, retry, and at last delete) through two real forking workers, one of them killed
at random moments and replaced, as a process manager would. The scheduler's sweep cleans
up. Afterwards, and at every moment during the run, the invariants hold."""
import os
import random
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from conftest import stop_group, wait_for
from sites.models import Site
from stacks import engine
from stacks.models import Deployment, Status
from stacks.tests.test_sweep import FAST, SWEEP
from stacks.tests.test_worker_faults import lock_files

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
RUN_SECONDS = 45
ACTORS = 4


def worker(processes):
    return processes("manage.py", "rqworker", "maintenance", "default", **FAST)


class Chaos:
    def __init__(self, alice, site):
        self.alice, self.site, self.stop = alice, site, threading.Event()
        self.seen_two_active = []
        self.actions = []

    def client(self):
        client = Client()
        client.force_login(self.alice)
        return client

    def act(self, seed):
        rng, client = random.Random(seed), self.client()
        try:
            while not self.stop.is_set():
                name = rng.choices(["update", "preview", "refresh", "cancel", "retry"],
                                   weights=[6, 3, 1, 1, 3])[0]
                getattr(self, name)(client, rng)
                self.actions.append(name)
                time.sleep(rng.uniform(0.2, 1.5))
        finally:
            connection.close()

    def update(self, client, rng):
        client.post(reverse("sites-update", args=[self.site.code]),
                    {"source": "html", "html": f"<p>{rng.randrange(10**6)}</p>"})

    def preview(self, client, rng):
        client.post(reverse("sites-update", args=[self.site.code]),
                    {"source": "html", "html": f"<p>p{rng.randrange(10**6)}</p>",
                     "preview": "1"})
        done = Deployment.objects.filter(stack_name=self.site.stack_name, action="preview",
                                         status="succeeded").first()
        if done:
            client.post(reverse("stacks-deployment-apply", args=[done.code]))

    def refresh(self, client, rng):
        client.post(reverse("sites-refresh", args=[self.site.code]))

    def cancel(self, client, rng):
        active = Deployment.objects.filter(stack_name=self.site.stack_name,
                                           status__in=Deployment.ACTIVE_STATES).first()
        if active:
            client.post(reverse("stacks-deployment-cancel", args=[active.code]))

    def retry(self, client, rng):
        client.post(reverse("sites-retry", args=[self.site.code]))

    def watch(self):
        try:
            while not self.stop.is_set():
                active = Deployment.objects.filter(stack_name=self.site.stack_name,
                                                   status__in=Deployment.ACTIVE_STATES)
                if active.count() > 1:
                    self.seen_two_active.append(list(active.values_list("code", "status")))
                time.sleep(0.05)
        finally:
            connection.close()


def settle(site, timeout=120):
    def nothing_active():
        """every deployment of the site to end (the sweep releases the killed ones)"""
        active = Deployment.objects.filter(stack_name=site.stack_name,
                                           status__in=Deployment.ACTIVE_STATES)
        nothing_active.__doc__ = f"every deployment to end; still: {list(active.values_list('pk', 'action', 'status', 'worker_name'))}"
        return not active.exists()

    wait_for(nothing_active, timeout=timeout, interval=0.5)
    site.refresh_from_db()
    return site


def pulumi_processes_of(backend_url):
    """Processes (the CLI and its plugins) started for this test's backend."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = open(f"/proc/{pid}/environ", "rb").read()
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if f"PULUMI_BACKEND_URL={backend_url}".encode() in environ and b"pulumi" in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_many_actions_two_workers_one_killed_invariants_hold(
        alice, alice_client, processes, settings, fetch):
    settings.RATE_LIMIT_CHANGES = "100000/60"  # the actors are many hands of one user
    settings.QUOTA_LIVE_DEPLOYMENTS = 100
    processes("manage.py", "scheduler", "stacks/cron.py", **FAST)
    workers = [worker(processes), worker(processes)]
    alice_client.post(reverse("sites-create"),
                      {"name": "chaos", "source": "html", "html": "<p>start</p>"})
    site = settle(Site.objects.get(name="chaos"))
    assert site.status == Status.LIVE, site.last_error

    chaos = Chaos(alice, site)
    threads = [threading.Thread(target=chaos.act, args=(i,)) for i in range(ACTORS)]
    threads.append(threading.Thread(target=chaos.watch))
    for thread in threads:
        thread.start()
    rng, kills, deadline = random.Random(7), 0, time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(2, 5))
        victim = busy_worker(workers, site) if rng.random() < 0.8 else None
        if victim is None:
            victim = rng.randrange(len(workers))  # an idle one, or mid-claim
        time.sleep(rng.uniform(0, 1.0))  # a random point of the deployment
        stop_group_and_horse(workers[victim])
        workers[victim] = worker(processes)
        kills += 1
    chaos.stop.set()
    for thread in threads:
        thread.join(30)

    site = settle(site, timeout=30 * SWEEP + 60)
    assert not chaos.seen_two_active
    assert not lock_files(settings, site), "a stack was left locked"
    if site.status == Status.FAILED:
        alice_client.post(reverse("sites-retry", args=[site.code]))
        site = settle(site)
    counts = {s: Deployment.objects.filter(status=s).count() for s in Deployment.State}
    print(f"{len(chaos.actions)} actions, {kills} workers killed, deployments: {counts}")
    assert site.status == Status.LIVE, site.last_error
    # The record, the stack and what is served agree, and the content served came from
    # a recorded, succeeded deployment.
    assert site.outputs == engine.outputs(site.pulumi_project, site.stack_name)
    assert fetch(site.website_url) == site.content
    assert Deployment.objects.filter(stack_name=site.stack_name, status="succeeded",
                                     action__in=["create", "update"]).exists()

    alice_client.post(reverse("sites-delete", args=[site.code]))
    site = settle(site)
    assert site.status == Status.DELETED
    assert site.stack_name not in engine.list_stacks(site.pulumi_project)
    for proc in workers:
        stop_group(proc)
    time.sleep(1)
    assert not pulumi_processes_of(settings.PULUMI_BACKEND_URL), "left running"


def busy_worker(workers, site, wait=5):
    """The index of the worker running a deployment of the site (waiting up to `wait`
    seconds for one), or None."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        running = Deployment.objects.filter(stack_name=site.stack_name,
                                            status="running").first()
        if running and running.worker_pid:
            try:
                session = os.getsid(running.worker_pid)
            except ProcessLookupError:
                session = None
            for index, proc in enumerate(workers):
                if proc.pid == session:
                    return index
        time.sleep(0.1)
    return None


def stop_group_and_horse(proc):
    """SIGKILL a worker and every process of its session (its job, the Pulumi CLI)."""
    import signal

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) == proc.pid:
                os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    proc.wait(10)
