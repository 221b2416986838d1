"""A running deployment stopped from outside: cancelled by its user, or its worker killed.

A real forking RQ worker runs the job (its site program pauses while the engine holds
the stack's lock); the real engine, PostgreSQL and Redis do the rest."""
import io
import os
import signal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from conftest import wait_for
from sites.models import Site
from stacks.sweep import job_is_gone
from stacks.models import Deployment, Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def lock_files(settings, site):
    """The self-managed backend's lock files for the site's stack."""
    root = Path(settings.PULUMI_BACKEND_URL.removeprefix("file://"))
    return [p for p in (root / ".pulumi" / "locks").rglob("*.json")
            if site.stack_name in str(p)]


def start_create(client, name, settings):
    client.post(reverse("sites-create"), {"name": name, "source": "html",
                                          "html": f"<p>{name}</p>"})
    site = Site.objects.get(name=name)
    deployment = site.deployments.get()

    def engine_holds_the_lock():
        """the engine to lock the stack for its update"""
        deployment.refresh_from_db()
        return deployment.status == "running" and lock_files(settings, site)

    wait_for(engine_holds_the_lock)
    return site, deployment


def retry_and_run(client, site, slow_worker, run_jobs, fetch):
    os.killpg(slow_worker.pid, signal.SIGTERM)
    slow_worker.wait(15)
    client.post(reverse("sites-retry", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE, site.last_error
    assert fetch(site.website_url) == f"<p>{site.name}</p>"


def test_killed_worker_then_recover_stuck_then_retry(alice_client, slow_worker, settings,
                                                     run_jobs, fetch):
    site, deployment = start_create(alice_client, "killed", settings)
    os.killpg(os.getpgid(deployment.worker_pid), signal.SIGKILL)  # the job and its CLI
    assert lock_files(settings, site), "the killed update should leave the stack locked"

    def worker_noticed():
        """the worker to see its job's process die"""
        return job_is_gone(deployment)

    wait_for(worker_noticed)

    out = io.StringIO()
    call_command("recover_stuck", "--dry-run", stdout=out)
    assert "would recover" in out.getvalue()
    deployment.refresh_from_db()
    assert deployment.status == "running"

    call_command("recover_stuck", stdout=out)
    deployment.refresh_from_db()
    assert deployment.status == "failed" and "worker running this deployment stopped" in (
        deployment.error)
    assert deployment.full_log().startswith("Create of")  # the partial log survived the kill
    assert not lock_files(settings, site)
    site.refresh_from_db()
    assert site.status == Status.FAILED
    retry_and_run(alice_client, site, slow_worker, run_jobs, fetch)


def test_cancel_a_running_deployment(alice_client, alice, slow_worker, settings, run_jobs,
                                     fetch):
    site, deployment = start_create(alice_client, "cancelled", settings)
    alice_client.post(reverse("stacks-deployment-cancel", args=[deployment.code]))

    def unlocked():
        """the follow-up job to unlock the stack"""
        deployment.refresh_from_db()
        return "the stack was unlocked" in deployment.full_log()

    wait_for(unlocked)
    assert deployment.status == "cancelled" and deployment.cancelled_by == alice
    assert not lock_files(settings, site)
    with pytest.raises(ProcessLookupError):
        os.kill(deployment.worker_pid, 0)  # the job's process is gone
    site.refresh_from_db()
    assert site.status == Status.FAILED and "cancelled by alice while it ran" in (
        site.last_error)
    assert not Deployment.objects.filter(status__in=Deployment.ACTIVE_STATES).exists()
    retry_and_run(alice_client, site, slow_worker, run_jobs, fetch)
