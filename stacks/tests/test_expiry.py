"""Expiry with a controlled clock (expire_due takes `now`): the owner is reminded once,
the resource is destroyed at expiry through an ordinary deployment made by the system,
an extension moves it, and operators can require one."""
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sites.models import Site
from stacks.expiry import expire_due
from stacks.models import Deployment, Status, system_user
from stacks.tests.webhook_receiver import notify_queue, run_notifications  # noqa: F401
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"
HOUR = timedelta(hours=1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_site_is_reminded_once_extended_then_destroyed_by_the_system(
        live_site, alice, alice_client, run_jobs, run_notifications, settings):
    """Through the real worker and engine: the destroy is an ordinary deployment."""
    settings.HEROCOOL_EXPIRY_REMIND_BEFORE = 3600
    alice.email = "alice@example.com"
    alice.save()
    t0 = timezone.now()
    live_site.set_expiry(t0 + 2 * HOUR)
    assert expire_due(now=t0) == (0, 0)
    assert expire_due(now=t0 + 61 * timedelta(minutes=1)) == (1, 0)
    assert expire_due(now=t0 + 62 * timedelta(minutes=1)) == (0, 0)  # once
    assert run_notifications() == 1
    [reminder] = mail.outbox
    assert reminder.to == ["alice@example.com"] and "shown expires at" in reminder.subject
    assert live_site.get_absolute_url() in reminder.body

    # The owner extends it by a day from its page: the old time passes harmlessly.
    alice_client.post(reverse("sites-expiry", args=[live_site.code]), {"expires_in": "1d"})
    live_site.refresh_from_db()
    assert live_site.expires_at > t0 + 23 * HOUR and live_site.expiry_reminded_at is None
    assert expire_due(now=t0 + 2 * HOUR + timedelta(minutes=1)) == (0, 0)

    later = live_site.expires_at + timedelta(minutes=1)
    assert expire_due(now=later) == (0, 1)
    destroy = live_site.deployments.get(action="destroy")
    assert destroy.requested_by == system_user()
    assert run_jobs() == 1
    destroy.refresh_from_db()
    live_site.refresh_from_db()
    assert destroy.status == "succeeded" and live_site.status == Status.DELETED
    assert expire_due(now=later + HOUR) == (0, 0)


def test_a_failed_system_destroy_is_not_asked_again_every_pass(alice, host_queue):
    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    past = timezone.now() - HOUR
    site.set_expiry(past)
    assert expire_due() == (0, 1)
    dep = site.deployments.get()
    Deployment.objects.filter(pk=dep.pk).update(status="failed")
    Site.objects.filter(pk=site.pk).update(status=Status.FAILED)
    assert expire_due() == (0, 0)
    assert site.deployments.count() == 1


def test_no_email_to_an_owner_without_an_address_but_reminded_once(alice, notify_queue):
    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    site.set_expiry(timezone.now() + timedelta(minutes=30))
    assert expire_due() == (1, 0)
    assert notify_queue.count == 0
    site.refresh_from_db()
    assert site.expiry_reminded_at is not None


def test_the_page_shows_a_countdown_and_the_owner_clears_it(alice_client, alice):
    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    site.set_expiry(timezone.now() + 2 * HOUR)
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert f'<time datetime="{site.expires_at.isoformat()}" data-countdown' in page
    assert "js/countdown.js" in page
    alice_client.post(reverse("sites-expiry", args=[site.code]), {"expires_in": ""})
    site.refresh_from_db()
    assert site.expires_at is None


def test_a_stranger_cannot_set_anothers_expiry(client, alice, bob):
    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    client.force_login(bob)
    response = client.post(reverse("sites-expiry", args=[site.code]), {"expires_in": "2h"})
    assert response.status_code == 404
    site.refresh_from_db()
    assert site.expires_at is None


def test_a_date_in_the_past_is_refused(alice_client, alice):
    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    response = alice_client.post(reverse("sites-expiry", args=[site.code]), {
        "expires_in": "date", "expires_on": "2000-01-01T00:00"}, follow=True)
    assert "Give a date and time in the future." in response.content.decode()
    site.refresh_from_db()
    assert site.expires_at is None


def test_an_operator_can_require_an_expiry_for_a_type(alice_client, alice, settings,
                                                      host_queue):
    settings.HEROCOOL_EXPIRY_REQUIRED_TYPES = ["t3.medium"]
    form = {"name": "big", "instance_type": "t3.medium", "ssh_public_key": KEY,
            "allowed_cidr": "127.0.0.1/32"}
    page = alice_client.post(reverse("vms-create"), form).content.decode()
    assert "The operator requires an expiry for this one" in page
    assert not VirtualMachine.objects.exists()
    alice_client.post(reverse("vms-create"), {**form, "expires_in": "7d"})
    vm = VirtualMachine.objects.get(name="big")
    assert timedelta(days=6, hours=23) < vm.expires_at - timezone.now() <= timedelta(days=7)
    # It cannot be cleared, and a retried or applied change cannot drop it either.
    alice_client.post(reverse("vms-expiry", args=[vm.code]), {"expires_in": ""})
    vm.refresh_from_db()
    assert vm.expires_at is not None


def test_a_change_to_a_required_type_without_an_expiry_is_refused(alice, settings):
    from stacks import services

    settings.HEROCOOL_EXPIRY_REQUIRED_TYPES = ["*"]
    vm = VirtualMachine.objects.create(owner=alice, name="m", instance_type="t3.micro",
                                       ssh_public_key=KEY, allowed_cidr="127.0.0.1/32",
                                       status=Status.LIVE)
    with pytest.raises(services.DeploymentRefused, match="requires an expiry"):
        services.request_deployment(vm, "update", alice,
                                    params={**vm.proposed(), "instance_type": "t3.small"})


def test_the_api_sets_and_clears_an_expiry_and_shows_it(alice_client, alice, bob, client):
    import json

    site = Site.objects.create(owner=alice, name="s", content="x", status=Status.LIVE)
    url = f"/api/v1/sites/{site.code}/expiry/"
    answer = alice_client.post(url, json.dumps({"expires_in": "2h"}),
                               content_type="application/json")
    assert answer.status_code == 200, answer.content
    site.refresh_from_db()
    assert answer.json()["expires_at"] is not None and site.expires_at is not None
    listed = alice_client.get("/api/v1/sites/").json()["results"][0]
    assert listed["monthly_usd"] == "0.00" and listed["expires_at"] is not None
    alice_client.post(url, json.dumps({"expires_in": ""}), content_type="application/json")
    site.refresh_from_db()
    assert site.expires_at is None
    client.force_login(bob)
    assert client.post(url, json.dumps({"expires_in": "2h"}),
                       content_type="application/json").status_code == 404


def test_the_api_cannot_clear_a_required_expiry(alice_client, alice, settings):
    import json

    settings.HEROCOOL_EXPIRY_REQUIRED_TYPES = ["*"]
    vm = VirtualMachine.objects.create(owner=alice, name="m", instance_type="t3.micro",
                                       ssh_public_key=KEY, allowed_cidr="127.0.0.1/32",
                                       status=Status.LIVE)
    vm.set_expiry(timezone.now() + HOUR)
    answer = alice_client.post(f"/api/v1/vms/{vm.code}/expiry/",
                               json.dumps({"expires_in": ""}), content_type="application/json")
    assert answer.status_code == 400
    assert "requires an expiry" in answer.json()["detail"]
    vm.refresh_from_db()
    assert vm.expires_at is not None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_scheduler_destroys_an_expired_site_through_a_real_worker(live_site, processes):
    """Real processes: the scheduler's expiry pass (stacks/cron.py) and a forking worker
    (both may run only the functions settings allow)."""
    from conftest import wait_for

    live_site.set_expiry(timezone.now() - timedelta(seconds=1))
    processes("manage.py", "scheduler", "stacks/cron.py", HEROCOOL_EXPIRY_SECONDS="1")
    processes("stacks/tests/slow_worker.py", HEROCOOL_TEST_PROGRAM_PAUSE="0")

    def deleted():
        """the expired site to be destroyed"""
        live_site.refresh_from_db()
        return live_site.status == Status.DELETED

    wait_for(deleted, timeout=120)
    destroy = live_site.deployments.get(action="destroy")
    assert destroy.status == "succeeded" and destroy.requested_by == system_user()
