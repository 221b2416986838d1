"""Quotas hold on every path that can grow what a user or the host runs, and under races:
checked in request_deployment, under a lock, not only in the form."""
import pytest
from django.db import connection
from django.urls import reverse

from sites.models import Site
from stacks import services
from stacks.models import Deployment, Status
from stacks.tests.locks import ten_site_creates_at_once

pytestmark = pytest.mark.django_db


def test_site_count_quota_on_the_form(alice_client, alice, settings):
    settings.QUOTA_SITES = 1
    Site.objects.create(owner=alice, name="only", content="x", status=Status.LIVE)
    response = alice_client.post(reverse("sites-create"),
                                 {"name": "second", "source": "html", "html": "<p>x</p>"})
    assert "limit of 1 sites" in response.content.decode()
    assert Site.objects.count() == 1 and not Deployment.objects.exists()


def test_host_wide_site_cap_holds_across_accounts(client, alice, bob, this_host):
    type(this_host).objects.filter(pk=this_host.pk).update(max_sites=1)
    Site.objects.create(owner=alice, name="first", content="x", status=Status.LIVE,
                        host=this_host)
    client.force_login(bob)
    response = client.post(reverse("sites-create"),
                           {"name": "second", "source": "html", "html": "<p>x</p>"})
    assert "The platform is full" in response.content.decode()
    assert not Site.objects.filter(owner=bob).exists()


def test_retry_of_a_create_checks_the_quota_again(alice, settings):
    failed = Site.objects.create(owner=alice, name="failed", content="x",
                                 status=Status.FAILED)
    Deployment.objects.create(resource=failed, owner=alice, action="create",
                              stack_name=failed.stack_name, status="failed")
    Site.objects.create(owner=alice, name="other", content="x", status=Status.LIVE)
    settings.QUOTA_SITES = 1
    with pytest.raises(services.DeploymentRefused, match="limit of 1 sites"):
        services.retry(failed, alice)
    assert failed.deployments.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_creates_cannot_pass_the_quota(alice, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    settings.QUOTA_SITES = 3
    settings.QUOTA_LIVE_DEPLOYMENTS = 100
    outcomes = ["refused" if "limit of 3 sites" in o else o
                for o in ten_site_creates_at_once(alice)]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    assert Site.objects.count() == 3 and Deployment.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_one_owners_quota_check_never_waits_for_anothers(alice, bob):
    """Quota checks lock per owner: bob's create goes on while alice's is in its
    transaction (a platform-wide lock made every create queue behind the one before)."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    from stacks.tests.locks import can_lock_quotas_now, quota_locks_held

    alices = Site.objects.create(owner=alice, name="a", content="x")
    alices_second = Site.objects.create(owner=alice, name="a2", content="x")
    bobs = Site.objects.create(owner=bob, name="b", content="x")
    with quota_locks_held(alices):
        assert can_lock_quotas_now(bobs)
        assert not can_lock_quotas_now(alices_second)  # her own checks still take turns
    assert can_lock_quotas_now(alices_second)
