"""Maintenance commands against the real engine on the local target."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from sites.models import Site
from sites.programs import local
from sites.programs.spec import SiteSpec
from stacks import engine
from stacks.logwriter import append_log
from stacks.models import Deployment, Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_sync_stacks_restores_outputs_and_dry_run_changes_nothing(live_site):
    real = live_site.outputs
    Site.objects.filter(pk=live_site.pk).update(outputs={"website_url": "stale"})
    assert "would update" in run("sync_stacks", "--dry-run")
    assert Site.objects.get(pk=live_site.pk).outputs == {"website_url": "stale"}
    assert "1 changed" in run("sync_stacks", "--user", "alice")
    assert Site.objects.get(pk=live_site.pk).outputs == real


def test_sync_stacks_fails_for_unknown_resource_or_missing_stack(alice):
    with pytest.raises(CommandError, match="No resource"):
        run("sync_stacks", "--resource", "no-such-stack")
    Site.objects.create(owner=alice, name="ghost", content="x", status=Status.LIVE)
    with pytest.raises(CommandError, match="1 stack"):
        run("sync_stacks")


def test_reconcile_finds_and_fixes_both_directions(live_site, alice, settings, run_jobs):
    ghost = Site.objects.create(owner=alice, name="ghost", content="x", status=Status.LIVE)
    orphan = "site-u999-orphan"
    engine.up(Site.pulumi_project, orphan, local.program(
        SiteSpec(orphan, "nobody", "<p>orphan</p>"), sites_root=settings.SITES_ROOT,
        url_template=settings.SITES_URL_TEMPLATE))
    with pytest.raises(CommandError, match="2 difference"):
        run("reconcile")
    output = run("reconcile", "--fix")
    assert f"record without stack: herocool-sites/{ghost.stack_name}" in output
    assert f"stack without record: herocool-sites/{orphan}" in output
    ghost.refresh_from_db()
    assert ghost.status == Status.FAILED and "missing from the Pulumi backend" in ghost.last_error
    # The orphan is destroyed by a deployment like any other: recorded, run, logged.
    adopted = Site.objects.get(stack_name=orphan)
    assert adopted.owner.username == "herocool-system" and not adopted.owner.is_active
    destroy = adopted.deployments.get()
    assert destroy.action == "destroy" and f"deployment {destroy.code}" in output
    assert orphan in engine.list_stacks(Site.pulumi_project)  # nothing ran yet
    run_jobs()
    destroy.refresh_from_db()
    adopted.refresh_from_db()
    assert destroy.status == "succeeded" and "Destroy of" in destroy.full_log()
    assert adopted.status == Status.DELETED
    assert orphan not in engine.list_stacks(Site.pulumi_project)
    assert not (settings.SITES_ROOT / orphan).exists()
    assert "0 difference" in run("reconcile")  # the live site and its stack agree


def test_destroy_user_resources_goes_through_deployments(live_site, bob, run_jobs):
    other = Site.objects.create(owner=bob, name="bobs", content="x", status=Status.LIVE)
    assert "would destroy" in run("destroy_user_resources", "alice", "--dry-run")
    assert not live_site.deployments.filter(action="destroy").exists()
    assert "queued destroy" in run("destroy_user_resources", "alice")
    run_jobs()
    live_site.refresh_from_db()
    assert live_site.status == Status.DELETED
    assert live_site.deployments.first().requested_by is None  # "the platform"
    other.refresh_from_db()
    assert other.status == Status.LIVE
    with pytest.raises(CommandError, match="No user"):
        run("destroy_user_resources", "nobody")


def test_prune_logs_keeps_the_newest(live_site, alice):
    for i in range(4):
        dep = Deployment.objects.create(resource=live_site, owner=alice, action="refresh",
                                        stack_name=live_site.stack_name, status="succeeded")
        append_log(dep.pk, f"log {i}\n")
    assert "would prune the logs of 3" in run("prune_logs", "--keep", "2", "--dry-run")
    assert not any("[log pruned" in d.full_log() for d in live_site.deployments.all())
    assert "pruned the logs of 3" in run("prune_logs", "--keep", "2")
    kept = [d.full_log() for d in live_site.deployments.all()]
    assert kept[:2] == ["log 3\n", "log 2\n"]
    assert all(log.startswith("[log pruned") for log in kept[2:])
    with pytest.raises(CommandError):
        run("prune_logs", "--keep", "0")


def test_requeue_puts_back_what_redis_lost(live_site, alice_client, host_queue, run_jobs):
    queue = host_queue  # the site lives on this host: its jobs go to the host's queue
    alice_client.post(reverse("sites-refresh", args=[live_site.code]))
    queue.empty()  # Redis lost the job; the database still says queued
    assert "would re-enqueue" in run("requeue_deployments", "--dry-run")
    assert queue.count == 0
    run("requeue_deployments")
    assert queue.count == 1
    run_jobs()
    assert live_site.deployments.first().status == "succeeded"


def test_recover_stuck_exits_non_zero_when_a_stack_cannot_be_unlocked(alice, settings,
                                                                      tmp_path, queue):
    site = Site.objects.create(owner=alice, name="stuck", content="x", status=Status.LIVE)
    Deployment.objects.create(resource=site, owner=alice, action="update", status="running",
                              stack_name=site.stack_name, started_at=timezone.now())
    settings.PULUMI_ROOT = str(tmp_path / "no-cli")  # the engine cannot be reached
    with pytest.raises(CommandError, match="1 stack.* could not be unlocked"):
        run("recover_stuck")
    assert Deployment.objects.get().status == "running"  # left for a later try
