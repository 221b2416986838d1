"""Leaving (issue #18): password and username again; every site and machine destroyed
through an ordinary deployment (within the live-deployment quota, failures retried),
then the personal data removed; at once, no login, token or session works."""
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import leaving
from accounts.models import LoginSession, Profile, SshKey, Token
from sites.models import Site
from stacks.models import Deployment, Status
from stacks.webhooks import Webhook
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIApFwzNszzi00G50S8WhGMDunfIzzvBX075dna3MNWH4 a@b"


@pytest.fixture
def alices_account(alice):
    alice.email = "alice@example.com"
    alice.save()
    Profile.objects.create(user=alice, verified_email="alice@example.com")
    sites = [Site.objects.create(owner=alice, name=n, content="x", status=Status.LIVE)
             for n in ("one", "two")]
    Site.objects.create(owner=alice, name="gone", content="x", status=Status.DELETED)
    vm = VirtualMachine.objects.create(owner=alice, name="box", instance_type="t3.micro",
                                       ssh_public_key=KEY, allowed_cidr="127.0.0.1/32",
                                       status=Status.LIVE)
    SshKey.objects.create(user=alice, name="laptop", public_key=KEY)
    Webhook.objects.create(owner=alice, url="https://hooks.example.com/", events=["failed"])
    _, token = Token.issue(alice, "ci", ["read"], timedelta(days=1))
    return {"resources": [*sites, vm], "token": token}


def signed_in_browser():
    client = Client()
    client.post(reverse("accounts-login"), {"username": "alice", "password": "alice-password-1"})
    return client


def leave(client, password="alice-password-1", username="alice"):
    return client.post(reverse("accounts-leave"), {"password": password, "username": username})


def finish_destroys(state=Deployment.State.SUCCEEDED):
    """What the worker does with each queued destroy (tests_leaving's slow test runs it)."""
    for deployment in Deployment.objects.filter(status=Deployment.State.QUEUED):
        Deployment.objects.filter(pk=deployment.pk).update(status=state)
        type(deployment.resource).objects.filter(pk=deployment.resource_id).update(
            status=Status.DELETED if state == Deployment.State.SUCCEEDED else Status.FAILED)


def test_leaving_needs_the_password_and_the_username(alice, alices_account):
    client = signed_in_browser()
    assert "That is not your password." in leave(client, password="x").content.decode()
    assert "Type your username exactly" in leave(client, username="Alice").content.decode()
    alice.refresh_from_db()
    assert alice.is_active and not Deployment.objects.exists()


def test_leaving_destroys_everything_through_deployments_then_removes_the_data(
        alice, alices_account, client):
    phone = signed_in_browser()
    laptop = signed_in_browser()
    assert leave(laptop).url == reverse("accounts-login")
    destroys = Deployment.objects.all()
    assert sorted(d.resource.name for d in destroys) == ["box", "one", "two"]
    assert all(d.action == "destroy" and d.requested_by == alice for d in destroys)
    alice.refresh_from_db()
    assert not alice.is_active
    assert phone.get(reverse("accounts-dashboard")).status_code == 302
    assert not LoginSession.objects.filter(user=alice).exists()
    assert client.get("/api/v1/sites/", HTTP_AUTHORIZATION=f"Bearer {alices_account['token']}"
                      ).status_code == 401
    assert not client.login(username="alice", password="alice-password-1")
    assert leaving.advance_departures() == 0  # the destroys are still running
    assert alice.email and alice.ssh_keys.exists()

    finish_destroys()
    assert leaving.advance_departures() == 1
    alice.refresh_from_db()
    assert alice.email == "" and not alice.has_usable_password()
    assert not SshKey.objects.exists() and not Webhook.objects.filter(owner=alice).exists()
    assert Profile.objects.get(user=alice).left_at is not None
    assert Deployment.objects.count() == 3  # the history stays
    assert leaving.advance_departures() == 0


def test_destroys_wait_for_the_live_deployment_quota_and_failures_are_retried(
        alice, alices_account, settings):
    settings.QUOTA_LIVE_DEPLOYMENTS = 1
    leave(signed_in_browser())
    assert Deployment.objects.count() == 1
    finish_destroys(Deployment.State.FAILED)
    leaving.advance_departures()
    assert Deployment.objects.filter(status=Deployment.State.QUEUED).count() == 1
    for _ in range(3):
        finish_destroys()
        leaving.advance_departures()
    assert Deployment.objects.filter(action="destroy").count() == 4
    assert not Site.objects.exclude(status=Status.DELETED).exists()
    assert not VirtualMachine.objects.exclude(status=Status.DELETED).exists()
    assert Profile.objects.get(user=alice).left_at is not None


def test_an_account_without_resources_is_removed_at_once(alice, client):
    client.force_login(alice)
    leave(client)
    alice.refresh_from_db()
    assert not alice.is_active and Profile.objects.get(user=alice).left_at is not None


def test_others_are_untouched(alice, bob, alices_account):
    theirs = Site.objects.create(owner=bob, name="theirs", content="x", status=Status.LIVE)
    leave(signed_in_browser())
    assert not theirs.deployments.exists()
    bob.refresh_from_db()
    assert bob.is_active


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_leaving_destroys_a_live_site_through_the_engine_and_a_worker(
        alice, alice_client, origin, fetch, run_jobs, settings):
    from pathlib import Path

    alice_client.post(reverse("sites-create"),
                      {"name": "hello", "source": "html", "html": "<h1>hi</h1>"})
    assert run_jobs() == 1
    site = Site.objects.get(name="hello")
    assert fetch(site.website_url) == "<h1>hi</h1>"
    leave(alice_client)
    assert run_jobs() == 1
    site.refresh_from_db()
    assert site.status == Status.DELETED
    assert not (Path(settings.SITES_ROOT) / site.stack_name).exists()
    assert site.deployments.first().action == "destroy"
    assert site.deployments.first().status == "succeeded"
    assert leaving.advance_departures() == 1
    alice.refresh_from_db()
    assert not alice.is_active and not alice.has_usable_password()
