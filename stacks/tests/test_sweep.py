"""Recovery with no operator: the scheduler process runs the sweep, which fails and
unlocks what a dead worker left, and puts back what Redis lost, with no command by hand.

Real processes throughout: a forking worker whose site program pauses while the engine
holds the lock (stacks/tests/slow_worker.py), RQ's cron scheduler (`manage.py scheduler
stacks/cron.py`) and a maintenance worker, on the test PostgreSQL and Redis."""
import os
import signal
import time

import pytest
from django.urls import reverse

from conftest import wait_for
from sites.models import Site
from stacks import workdirs
from stacks.models import Deployment, Status
from stacks.tests.test_worker_faults import lock_files, start_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SWEEP = 2  # seconds between sweeps in these tests
FAST = {"HEROCOOL_SWEEP_SECONDS": str(SWEEP), "HEROCOOL_WORKER_HEARTBEAT": "1",
        "HEROCOOL_SWEEP_GRACE_SECONDS": "1"}


@pytest.fixture
def scheduler(processes):
    """The scheduler and a maintenance worker, sweeping every SWEEP seconds."""
    processes("manage.py", "scheduler", "stacks/cron.py", **FAST)
    processes("manage.py", "rqworker", "maintenance", **FAST)


def test_a_killed_worker_is_failed_and_unlocked_by_the_sweep_then_retry_works(
        alice_client, processes, scheduler, settings, run_jobs, fetch):
    worker = processes("stacks/tests/slow_worker.py", **FAST)
    site, deployment = start_create(alice_client, "killed", settings)
    assert deployment.worker_name
    horse_group = os.getpgid(deployment.worker_pid)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker itself ...
    os.killpg(horse_group, signal.SIGKILL)  # ... and the job with its Pulumi CLI
    killed = time.monotonic()
    assert lock_files(settings, site), "the killed update should leave the stack locked"
    # ... and its work directory (Pulumi.yaml names the backend), which only it removes.
    left = [p for p in workdirs.root().iterdir()
            if (p / f"Pulumi.{site.stack_name}.yaml").exists()]
    assert left, "the killed job's work directory should be left behind"

    def failed_and_unlocked():
        """the sweep to fail the deployment and unlock its stack"""
        deployment.refresh_from_db()
        return deployment.status == "failed" and not lock_files(settings, site)

    # Dead once silent for WORKER_DEAD_AFTER (3 heartbeats), then within two sweeps.
    wait_for(failed_and_unlocked, timeout=3 * 1 + 2 * SWEEP + 10)
    print(f"failed and unlocked {time.monotonic() - killed:.1f} s after the kill")
    assert "worker running this deployment stopped" in deployment.error
    assert deployment.full_log().startswith("Create of")  # the partial log is kept
    # The dead job's lock on its work directory went with it: removed as the tick does.
    assert {p.name for p in left} <= set(workdirs.reap(grace=0))
    assert not any(p.exists() for p in left)
    site.refresh_from_db()
    assert site.status == Status.FAILED
    alice_client.post(reverse("sites-retry", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE, site.last_error
    assert fetch(site.website_url) == "<p>killed</p>"


def test_a_job_redis_lost_is_put_back_exactly_once(alice_client, scheduler, host_queue,
                                                     run_jobs, fetch):
    queue = host_queue  # the site lives on this host: its job goes to the host's queue
    alice_client.post(reverse("sites-create"),
                      {"name": "lost", "source": "html", "html": "<p>lost</p>"})
    deployment = Deployment.objects.get()
    assert queue.job_ids == [str(deployment.code)]
    queue.connection.flushdb()  # Redis loses everything, the job with it
    assert queue.job_ids == []

    def back():
        """the sweep to put the job back"""
        return queue.job_ids

    wait_for(back, timeout=4 * SWEEP + 10)
    time.sleep(3 * SWEEP)  # more sweeps: none may add it again
    assert queue.job_ids == [str(deployment.code)]
    assert run_jobs() == 1
    site = Site.objects.get(name="lost")
    assert site.status == Status.LIVE, site.last_error
    assert fetch(site.website_url) == "<p>lost</p>"
    deployment.refresh_from_db()
    assert deployment.status == "succeeded"
