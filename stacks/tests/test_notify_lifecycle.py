"""Every deployment event reaches a webhook once, and a failure its owner's inbox, from a
site's real life: the UI, a real RQ worker, the real Pulumi engine."""
import json

import pytest
from django.urls import reverse

from accounts.models import Profile
from sites.models import Site
from stacks.models import Deployment, Webhook
from stacks.tests.webhook_receiver import (  # noqa: F401 - fixtures
    notify_queue, receiver, run_notifications, smtp_server)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_each_event_of_a_real_site_is_delivered_once(alice, alice_client, origin, run_jobs,
                                                     receiver, smtp_server,
                                                     run_notifications, settings, tmp_path):
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.create(user=alice, verified_email=alice.email)  # notices need it (#18)
    Webhook.objects.create(owner=alice, url=receiver.url,
                           events=["started", "succeeded", "failed", "cancelled"])
    alice_client.post(reverse("sites-create"),
                      {"name": "told", "source": "html", "html": "<p>1</p>"})
    run_jobs()
    site = Site.objects.get(name="told")
    assert site.status == "live", site.last_error

    blocker = tmp_path / "not-a-dir"  # the engine fails for real: the root is a file
    blocker.write_text("")
    real_root, settings.SITES_ROOT = settings.SITES_ROOT, blocker
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<p>2</p>"})
    run_jobs()
    site.refresh_from_db()
    assert site.status == "failed"
    settings.SITES_ROOT = real_root

    alice_client.post(reverse("sites-retry", args=[site.code]))
    retried = site.deployments.first()
    alice_client.post(reverse("stacks-deployment-cancel", args=[retried.code]))
    retried.refresh_from_db()
    assert retried.status == "cancelled"

    run_notifications()
    create, update, _ = reversed(site.deployments.all())
    seen = [(h["Herocool-Event"], json.loads(body)["deployment"]["id"])
            for _, _, h, body in receiver.requests]
    assert seen == [("deployment.started", str(create.code)),
                    ("deployment.succeeded", str(create.code)),
                    ("deployment.started", str(update.code)),
                    ("deployment.failed", str(update.code)),
                    ("deployment.cancelled", str(retried.code))]
    assert Deployment.objects.filter(owner=alice).count() == 3
    [(recipients, message)] = smtp_server
    assert recipients == ["alice@example.com"]
    assert message["Subject"] == "Herocool: the update of told failed"


@pytest.mark.parametrize("was, event", [("running", "deployment.failed"),
                                        ("cancelling", "deployment.cancelled")])
def test_the_sweep_ending_a_dead_workers_deployment_fires_its_event(
        alice, receiver, run_notifications, was, event):
    """Its worker is gone: the sweep unlocks the stack (the real CLI) and ends it."""
    from stacks import sweep

    site = Site.objects.create(owner=alice, name="orphan", content="<p>1</p>",
                               status="updating")
    deployment = Deployment.objects.create(
        resource=site, owner=alice, action="update", stack_name=site.stack_name,
        status=was, worker_name="a-worker-that-died", started_at=site.created)
    Webhook.objects.create(owner=alice, url=receiver.url, events=["failed", "cancelled"])
    assert sweep.release_abandoned() == [deployment]
    run_notifications()
    [(_, _, headers, body)] = receiver.requests
    assert headers["Herocool-Event"] == event
    assert json.loads(body)["deployment"]["id"] == str(deployment.code)


def test_the_scheduler_retries_a_failed_delivery_through_a_real_worker(
        alice, processes, notify_queue):
    """Real processes: the scheduler's retry pass (stacks/cron.py) and a forking worker."""
    from conftest import wait_for
    from stacks import notify
    from stacks.tests.webhook_receiver import Receiver

    receiver = Receiver(statuses=[500, 200])
    try:
        processes("manage.py", "scheduler", "stacks/cron.py",
                  HEROCOOL_WEBHOOK_RETRY_SECONDS="1")
        processes("stacks/tests/notify_worker.py")
        hook = Webhook.objects.create(owner=alice, url=receiver.url, events=["failed"])
        delivery = notify.ping(hook)

        def delivered():
            """the delivery to succeed on its second attempt"""
            delivery.refresh_from_db()
            return delivery.status == "delivered"

        wait_for(delivered, timeout=60)
    finally:
        receiver.close()
    assert delivery.attempts == 2
    assert [a.response_status for a in delivery.attempt_rows.all()] == [500, 200]
